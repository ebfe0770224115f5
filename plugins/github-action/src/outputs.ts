import * as core from "@actions/core";
import type { CiRun } from "@stowaway/core";

/**
 * Step outputs: the outcome, one count per severity, and one path per written report
 * (`report-<format>`). `report-json` is always set; `sarif-file` is the name
 * github/codeql-action/upload-sarif users expect.
 */
export function setOutputs(run: CiRun): void {
  core.setOutput("outcome", run.outcome);
  for (const [severity, count] of Object.entries(run.counts)) core.setOutput(severity, count);
  core.setOutput("violations", run.result.policy?.violations.length ?? 0);
  for (const [format, file] of Object.entries(run.reports)) core.setOutput(`report-${format}`, file);
  if (run.reports.sarif) core.setOutput("sarif-file", run.reports.sarif);
}
