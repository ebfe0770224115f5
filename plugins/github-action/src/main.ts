import * as core from "@actions/core";
import { run } from "./run.js";

// Errors (bad inputs, unreachable registry, no database with a gate) fail the step with their one-line
// message; a gate failure is reported by run() itself after every report is written.
run().catch((error: unknown) => {
  core.setFailed(`stowaway: ${error instanceof Error ? error.message : String(error)}`);
});
