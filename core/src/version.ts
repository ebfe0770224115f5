/** Reported in every result; a test keeps it equal to core/package.json's version. */
export const STOWAWAY_VERSION = "0.1.0";
