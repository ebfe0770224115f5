import * as core from "@actions/core";
import { neutralizeLog } from "@stowaway/core";
import { run } from "./run.js";

// Errors (bad inputs, unreachable registry, no database with a gate) fail the step with their one-line
// message; a gate failure is reported by run() itself after every report is written.
run().catch((error: unknown) => {
  // Error messages may quote image bytes; the step's one error line is neutralised (docs/log-safety.md).
  core.setFailed(neutralizeLog(`stowaway: ${error instanceof Error ? error.message : String(error)}`));
});
