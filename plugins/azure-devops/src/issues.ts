import { SEVERITY_ORDER, neutralizeLog, type CiRun, type Finding } from "@stowaway/core";

export interface Issue {
  type: "error" | "warning";
  message: string;
  code?: string;
}

/**
 * Timeline issues for the gate's violations, worst first: errors when the gate fails, warnings
 * when it only warns. The timeline is not a report, so only `maxPerType` of each type are listed
 * and one more line says how many were left out (the summary and reports have them all).
 */
export function gateIssues(run: CiRun, maxPerType: number): Issue[] {
  const verdict = run.result.policy;
  if (!verdict) return [];
  const type: Issue["type"] = run.outcome === "fail" ? "error" : "warning";
  const findings = new Map((run.result.findings ?? []).map((finding) => [finding.findingId, finding]));
  const listed = new Set<string>();
  const violations: { finding: Finding; rule: string }[] = [];
  const ruleViolations: Issue[] = [];
  for (const violation of verdict.violations) {
    const matched = violation.findingIds.map((id) => findings.get(id)).filter((f): f is Finding => f !== undefined);
    // Rules about the image itself (root user, age ...) name no finding: the rule's message is the issue.
    if (matched.length === 0) ruleViolations.push({ type, message: `${violation.rule}: ${violation.message}` });
    for (const finding of matched) {
      if (listed.has(finding.findingId)) continue;
      listed.add(finding.findingId);
      violations.push({ finding, rule: violation.rule });
    }
  }
  violations.sort((a, b) => severityRank(b.finding) - severityRank(a.finding));
  const all = [
    ...ruleViolations,
    ...violations.map(({ finding, rule }) => ({ type, message: describe(finding, rule), code: finding.id })),
  ];
  const issues: Issue[] = all.slice(0, maxPerType);
  if (all.length > maxPerType) {
    issues.push({
      type,
      message: `${all.length - maxPerType} more policy violations not listed here; see the Stowaway summary and reports`,
    });
  }
  for (const warning of verdict.warnings) issues.push({ type: "warning", message: warning });
  // task-lib escapes only %, CR and LF (and ; ] in properties); the rest goes through core's neutraliser.
  return issues.map((issue) => ({
    ...issue,
    message: neutralizeLog(issue.message),
    ...(issue.code ? { code: neutralizeLog(issue.code) } : {}),
  }));
}

function severityRank(finding: Finding): number {
  return SEVERITY_ORDER.indexOf(finding.severity);
}

function describe(finding: Finding, rule: string): string {
  const fix = finding.fixedVersion ? `fixed in ${finding.fixedVersion}` : "no fixed version yet";
  const summary = finding.summary ? `: ${oneLine(finding.summary, 200)}` : "";
  return `${finding.id} (${finding.severity.toUpperCase()}) in ${finding.packageName} ${finding.installedVersion}, ${fix} [${rule}]${summary}`;
}

function oneLine(text: string, limit: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > limit ? `${flat.slice(0, limit - 1)}…` : flat;
}
