import { buildView, SEVERITY_ORDER, type CiRun, type Finding, type FindingRow, type Severity } from "@stowaway/core";
import { problemIdentity, suiteName } from "./identity.js";
import { serviceMessage, singleValueMessage, truncate } from "./service-message.js";

/** TeamCity's documented bound on buildProblem descriptions. */
export const MAX_PROBLEM_DESCRIPTION = 4_000;

export interface MessageOptions {
  /** Artifact directory the reports are published under. */
  artifactsDir: string;
  /** The report filter: passing findings below it are not listed as tests. */
  minSeverity?: Severity;
}

const STATISTIC_SEVERITIES = ["critical", "high", "medium", "low", "negligible", "unknown"] as const;

/**
 * Every service message for one finished scan, in the order TeamCity should see them: reports
 * first (so a failed gate keeps its evidence), then tests, statistics, and the verdict last.
 */
export function teamcityMessages(run: CiRun, options: MessageOptions): string[] {
  const { result, outcome } = run;
  const lines: string[] = [];
  for (const notice of [...run.notices, ...run.warnings]) {
    lines.push(serviceMessage("message", { text: `Stowaway: ${notice}`, status: "WARNING" }));
  }
  for (const file of [...Object.values(run.reports), run.outcomeFile]) {
    lines.push(singleValueMessage("publishArtifacts", `${file} => ${options.artifactsDir}`));
  }
  lines.push(...testMessages(run, options));
  for (const severity of STATISTIC_SEVERITIES) {
    lines.push(serviceMessage("buildStatisticValue", { key: `stowaway.${severity}`, value: run.counts[severity] }));
  }
  lines.push(
    serviceMessage("buildStatisticValue", { key: "stowaway.suppressed", value: result.policy?.suppressed.length ?? 0 }),
  );
  lines.push(serviceMessage("message", { text: summary(run) }));
  const violations = result.policy?.violations ?? [];
  if (outcome === "unchecked") {
    // Never a pass: nothing was checked. One stable problem, so TeamCity tracks it across builds.
    const reason = run.database.reason ?? "no vulnerability database";
    lines.push(
      serviceMessage("buildProblem", {
        description: truncate(`Stowaway checked no vulnerabilities: ${reason}`, MAX_PROBLEM_DESCRIPTION),
        identity: "stowaway_unchecked",
      }),
    );
  } else if (outcome === "fail") {
    const seen = new Set<string>();
    for (const violation of violations) {
      const identity = problemIdentity(violation.rule);
      if (seen.has(identity)) continue;
      seen.add(identity);
      const description = truncate(`Stowaway gate ${violation.rule}: ${violation.message}`, MAX_PROBLEM_DESCRIPTION);
      lines.push(serviceMessage("buildProblem", { description, identity }));
    }
  } else if (outcome === "warn") {
    for (const violation of violations) {
      lines.push(
        serviceMessage("message", {
          text: `Stowaway (mode: warn) ${violation.rule}: ${violation.message}`,
          status: "WARNING",
        }),
      );
    }
    const findings = new Set(violations.flatMap((violation) => violation.findingIds)).size;
    lines.push(
      serviceMessage("buildStatus", {
        text: `{build.status.text}; Stowaway: WARN, ${violations.length} policy violation(s), ${findings} finding(s) would fail the gate`,
      }),
    );
  }
  return lines;
}

/**
 * One test per finding: gate violations fail (only when the gate enforces: TeamCity fails a build
 * on any failed test, which must not happen in warn mode), suppressed findings are ignored with
 * their reason, other findings pass. Tests rather than inspections because an image finding has
 * no file or line, and tests give per-finding history, muting and investigations.
 */
function testMessages(run: CiRun, options: MessageOptions): string[] {
  const view = buildView(run.result);
  const floor = options.minSeverity ? SEVERITY_ORDER.indexOf(options.minSeverity) : -1;
  const rows = [
    ...view.rows.filter((row) => row.state === "violation" || SEVERITY_ORDER.indexOf(row.finding.severity) >= floor),
    ...view.suppressed,
  ];
  if (rows.length === 0) return [];
  const suite = suiteName(run.result.artifact.reference);
  const lines = [serviceMessage("testSuiteStarted", { name: suite })];
  const names = new Set<string>();
  for (const row of rows) {
    const name = uniqueName(row.finding, names);
    lines.push(serviceMessage("testStarted", { name, captureStandardOutput: "false" }));
    if (row.state === "violation" && run.outcome === "fail") {
      lines.push(
        serviceMessage("testFailed", {
          name,
          message: `${headline(row.finding)} violates ${row.rules.join(", ")}`,
          details: details(row),
        }),
      );
    } else if (row.state === "violation") {
      lines.push(
        serviceMessage("testStdOut", { name, out: `would fail ${row.rules.join(", ")} (mode: warn)\n${details(row)}` }),
      );
    } else if (row.state === "suppressed") {
      const suppression = row.suppression!;
      const expiry = suppression.expires ? ` (until ${suppression.expires})` : "";
      lines.push(
        serviceMessage("testIgnored", {
          name,
          message: `suppressed by ${suppression.source}: ${suppression.reason}${expiry}`,
        }),
      );
    }
    lines.push(serviceMessage("testFinished", { name, duration: 0 }));
  }
  lines.push(serviceMessage("testSuiteFinished", { name: suite }));
  return lines;
}

/** Named by package and vulnerability, not version, so an upgrade that keeps the CVE keeps its history. */
function uniqueName(finding: Finding, used: Set<string>): string {
  const candidates = [
    `${finding.packageName}: ${finding.id}`,
    `${finding.packageName} ${finding.installedVersion}: ${finding.id}`,
    `${finding.packageName} ${finding.installedVersion}: ${finding.findingId}`,
  ];
  const name = candidates.find((candidate) => !used.has(candidate)) ?? finding.findingId;
  used.add(name);
  return name;
}

function headline(finding: Finding): string {
  const fix = finding.fixedVersion ? `fixed in ${finding.fixedVersion}` : "no fix yet";
  return `${finding.severity.toUpperCase()} ${finding.id} in ${finding.packageName} ${finding.installedVersion} (${fix})`;
}

function details(row: FindingRow): string {
  const { finding } = row;
  return [
    headline(finding),
    `Layer: ${finding.layerIndex}`,
    ...(finding.summary ? [finding.summary] : []),
    ...(finding.references ?? []).slice(0, 5),
  ].join("\n");
}

function summary(run: CiRun): string {
  const counts = STATISTIC_SEVERITIES.filter((severity) => run.counts[severity] > 0)
    .map((severity) => `${run.counts[severity]} ${severity}`)
    .join(", ");
  const checked = run.result.findings ? `vulnerabilities: ${counts || "none"}` : "vulnerabilities not checked";
  const verdict = run.result.policy ? `policy: ${run.outcome.toUpperCase()}` : "no gate configured";
  return `Stowaway: ${run.result.artifact.reference}: ${run.result.packages.length} packages; ${checked}; ${verdict}`;
}
