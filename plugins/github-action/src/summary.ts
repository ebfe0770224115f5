import * as core from "@actions/core";
import { renderReport, type ReportOptions, type ScanResult } from "@stowaway/core";

/** The run's page, where the full reports are uploaded as artifacts by the workflow. */
export function runUrl(env: NodeJS.ProcessEnv): string | undefined {
  const { GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID } = env;
  if (!GITHUB_SERVER_URL || !GITHUB_REPOSITORY || !GITHUB_RUN_ID) return undefined;
  return `${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}`;
}

/** The markdown report in the job summary, within the 1 MiB a step may write there. */
export async function writeJobSummary(result: ScanResult, options: ReportOptions): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) {
    core.info("GITHUB_STEP_SUMMARY is not set; no job summary written");
    return;
  }
  await core.summary.addRaw(renderReport("markdown", result, { ...options, markdownBudget: "summary" }), true).write();
}
