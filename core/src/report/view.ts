import type { Package } from "../catalog/types.js";
import type { Finding, PolicyVerdict, ScanResult, Suppression } from "../result.js";
import type { Severity } from "../vulndb/osv.js";
import type { ReportOptions } from "./options.js";
import { compareFindings } from "../policy/finding-ids.js";
import { SEVERITIES_DESCENDING, severityRank } from "./severity.js";

export interface FindingRow {
  finding: Finding;
  pkg?: Package;
  /** violation: the gate counted it against the build; open: reported, not gating; suppressed: excepted. */
  state: "violation" | "open" | "suppressed";
  /** The rules it violates. */
  rules: string[];
  suppression?: Suppression;
}

/** What every renderer shows, derived once so they agree. */
export interface ReportView {
  result: ScanResult;
  verdict?: PolicyVerdict;
  /** Active (not suppressed) findings that pass the report filter or violate the gate, worst first. */
  rows: FindingRow[];
  /** Suppressed findings: always listed, whatever the filter. */
  suppressed: FindingRow[];
  /** Active findings per severity, before the report filter. */
  counts: Record<Severity, number>;
  /** Active findings the report filter left out. */
  hidden: number;
  minSeverity?: Severity;
  /** Policy violations not tied to a finding (image and database rules). */
  otherViolations: PolicyVerdict["violations"];
}

export function buildView(result: ScanResult, options: ReportOptions = {}): ReportView {
  const verdict = result.policy;
  const packages = new Map(result.packages.map((pkg) => [pkg.id, pkg]));
  const suppressions = new Map((verdict?.suppressed ?? []).map((entry) => [entry.findingId, entry]));
  const rulesOf = new Map<string, string[]>();
  for (const violation of verdict?.violations ?? []) {
    for (const id of violation.findingIds) rulesOf.set(id, [...(rulesOf.get(id) ?? []), violation.rule]);
  }
  const counts = Object.fromEntries(SEVERITIES_DESCENDING.map((severity) => [severity, 0])) as Record<Severity, number>;
  const rows: FindingRow[] = [];
  const suppressed: FindingRow[] = [];
  let hidden = 0;
  const threshold = options.minSeverity ? severityRank(options.minSeverity) : -1;
  for (const finding of [...(result.findings ?? [])].sort(compareFindings)) {
    const pkg = packages.get(finding.packageId);
    const suppression = suppressions.get(finding.findingId);
    if (suppression) {
      suppressed.push({ finding, pkg, state: "suppressed", rules: [], suppression });
      continue;
    }
    counts[finding.severity]++;
    const rules = rulesOf.get(finding.findingId) ?? [];
    // The filter never hides what failed the gate: a violating finding is listed whatever its severity.
    if (severityRank(finding.severity) < threshold && rules.length === 0) {
      hidden++;
      continue;
    }
    rows.push({ finding, pkg, state: rules.length > 0 ? "violation" : "open", rules });
  }
  return {
    result,
    verdict,
    rows,
    suppressed,
    counts,
    hidden,
    minSeverity: options.minSeverity,
    otherViolations: (verdict?.violations ?? []).filter((violation) => violation.findingIds.length === 0),
  };
}

export function totalActive(view: ReportView): number {
  return Object.values(view.counts).reduce((sum, count) => sum + count, 0);
}

export function fixText(finding: Finding): string {
  if (finding.fixedVersion) return finding.fixedVersion;
  if (finding.esmFixedVersion) return `${finding.esmFixedVersion} (fixed in ESM, needs Ubuntu Pro)`;
  if (finding.redhatFixedVersion) return `no fix (Red Hat: ${finding.redhatFixedVersion})`;
  return finding.status === "will_not_fix" ? "won't fix" : finding.status === "fix_deferred" ? "deferred" : "no fix";
}

/**
 * One line on the image's signatures for every human-readable report ("verified by key sha256:…
 * (cosign, tag)", "FAILED: …", "missing"), or undefined when none were checked. Unneutralised:
 * each renderer escapes it for its format.
 */
export function signatureSummary(result: ScanResult): string | undefined {
  const facts = result.signature;
  if (!facts) return undefined;
  switch (facts.status) {
    case "verified": {
      const first = facts.verified[0]!;
      const more = facts.verified.length - 1;
      return `verified: ${first.signer} (${first.kind}, via ${first.source})${more > 0 ? ` and ${more} more` : ""}`;
    }
    case "failed":
      return `FAILED: ${facts.problems[0]?.message ?? "no signature verified"}${facts.problems.length > 1 ? ` (and ${facts.problems.length - 1} more)` : ""}`;
    case "missing":
      return `missing: no cosign or Notation signature for ${facts.digests.join(", ")}`;
    case "unchecked":
      return `not checked: ${facts.problems[0]?.message ?? "the registry could not be asked"}`;
  }
}
