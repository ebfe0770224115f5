/**
 * `@stowaway/core/registry`: the registry client on its own, for registry-wide inventory and
 * rescans. Kept out of the main entry point so that scanning an archive never loads the HTTP stack.
 */
export * from "./image/registry/index.js";
