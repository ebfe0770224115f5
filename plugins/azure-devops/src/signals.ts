import path from "node:path";
import * as tl from "azure-pipelines-task-lib/task.js";
import { neutralizeLog, type CiRun, type ReportFormat } from "@stowaway/core";
import type { Issue } from "./issues.js";
import { outputVariableForReport } from "./output-names.js";

/** Attachment type the reports carry, for a results tab (or the REST API) to find them by. */
export const ATTACHMENT_TYPE = "stowaway-report";

const COUNTED_SEVERITIES = ["critical", "high", "medium", "low", "negligible", "unknown"] as const;

export function logIssues(issues: Issue[]): void {
  for (const issue of issues) {
    tl.logIssue(
      issue.type === "error" ? tl.IssueType.Error : tl.IssueType.Warning,
      issue.message,
      undefined,
      undefined,
      undefined,
      issue.code,
    );
  }
}

export function setOutputVariables(run: CiRun): void {
  tl.setVariable("outcome", run.outcome, false, true);
  let total = 0;
  for (const severity of COUNTED_SEVERITIES) {
    total += run.counts[severity];
    tl.setVariable(severity, String(run.counts[severity]), false, true);
  }
  tl.setVariable("total", String(total), false, true);
  for (const [format, file] of Object.entries(run.reports)) {
    tl.setVariable(outputVariableForReport(format as ReportFormat), file, false, true);
  }
}

export function attachReports(run: CiRun): void {
  for (const file of Object.values(run.reports)) {
    tl.addAttachment(ATTACHMENT_TYPE, path.basename(file), file);
  }
}

/** The findings as a test run: one failing test per violation, so the Tests tab shows them. */
export function publishJunit(run: CiRun): void {
  const file = run.reports.junit;
  if (!file) return;
  const title = neutralizeLog(`Stowaway: ${run.result.artifact.reference}`);
  new tl.TestPublisher("JUnit").publish([file], "false", "", "", title, "true");
}

export function uploadSummary(run: CiRun): void {
  if (run.reports.markdown) tl.uploadSummary(run.reports.markdown);
}

export function completeTask(run: CiRun): void {
  const image = neutralizeLog(run.result.artifact.reference);
  const violations = run.result.policy?.violations ?? [];
  const rules = neutralizeLog([...new Set(violations.map((v) => v.rule))].join(", "));
  const what = `${violations.length} violation(s) of ${rules}; see the Stowaway summary`;
  switch (run.outcome) {
    case "fail":
      tl.setResult(tl.TaskResult.Failed, `Stowaway policy gate failed for ${image}: ${what}`);
      return;
    case "warn":
      tl.setResult(
        tl.TaskResult.SucceededWithIssues,
        `Stowaway policy gate would fail for ${image} (mode warn): ${what}`,
      );
      return;
    case "unchecked":
      // Never a pass: nothing was checked (and no SARIF was written that could close alerts).
      tl.setResult(
        tl.TaskResult.Failed,
        `Stowaway checked no vulnerabilities for ${image}: ${run.database.reason ?? "no vulnerability database"}`,
      );
      return;
    default:
      tl.setResult(tl.TaskResult.Succeeded, `Stowaway scanned ${image}: policy passed`);
  }
}
