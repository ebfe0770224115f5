import { SEVERITY_ORDER, type Severity } from "../vulndb/osv.js";
import type { Finding } from "../result.js";

export const SEVERITIES_DESCENDING: readonly Severity[] = [...SEVERITY_ORDER].reverse();

export function severityRank(severity: Severity): number {
  return SEVERITY_ORDER.indexOf(severity);
}

export function maxCvssScore(finding: Finding): number | undefined {
  return finding.cvss.length > 0 ? Math.max(...finding.cvss.map((score) => score.score)) : undefined;
}

/** CVSS v3 bands as GitHub reads `security-severity`: >= 9.0 critical, 7.0 high, 4.0 medium, 0.1 low. */
const BANDS: Partial<Record<Severity, [number, number, number]>> = {
  critical: [9.0, 10.0, 9.5],
  high: [7.0, 8.9, 8.0],
  medium: [4.0, 6.9, 5.5],
  low: [0.1, 3.9, 2.0],
  negligible: [0.1, 3.9, 1.0],
};

/**
 * SARIF `security-severity`, always present (a missing one broke uploads, codeql-action #2187). The
 * highest CVSS score is used when it agrees with the severity the gate used; otherwise the middle of
 * that severity's band, so GitHub's view and the gate never disagree about how bad a finding is.
 */
export function securitySeverity(finding: Finding): string {
  const band = BANDS[finding.severity];
  if (!band) return "0.0";
  const score = maxCvssScore(finding);
  const value = score !== undefined && score >= band[0] && score <= band[1] ? score : band[2];
  return value.toFixed(1);
}

export function upper(severity: Severity): string {
  return severity.toUpperCase();
}
