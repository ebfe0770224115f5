import { StowawayError } from "../errors.js";

/** The vulnerability database or one of its inputs cannot be used; the message names the file and the fix. */
export class VulnDbError extends StowawayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "VULNDB_ERROR", options);
  }
}

/** An input archive that would exhaust memory or disk if read (zip bombs, absurd entry counts, traversal). */
export class HostileVulnDataError extends VulnDbError {}

/** Non-fatal problems (a skipped record, an unrecognised file) reported as one line each. */
export type WarningSink = (message: string) => void;
