import type { Finding } from "../result.js";
import { SEVERITY_ORDER } from "../vulndb/osv.js";

/** Vulnerability ids are compared without case: feeds disagree on "cve-" vs "CVE-". */
export function normaliseId(id: string): string {
  return id.trim().toUpperCase();
}

export function findingIds(finding: Finding): string[] {
  return [finding.id, ...finding.aliases].map(normaliseId);
}

export function findingHasId(finding: Finding, id: string): boolean {
  const wanted = normaliseId(id);
  return findingIds(finding).includes(wanted);
}

/** "CVE-2024-45337 in golang.org/x/crypto 0.30.0 (high), ... and 3 more" */
export function listFindings(findings: readonly Finding[], limit = 5): string {
  const shown = findings
    .slice(0, limit)
    .map((finding) => `${finding.id} in ${finding.packageName} ${finding.installedVersion} (${finding.severity})`);
  const more = findings.length - shown.length;
  return more > 0 ? `${shown.join(", ")} and ${more} more` : shown.join(", ");
}

export { plural } from "../plural.js";

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function maxScore(finding: Finding): number {
  return finding.cvss.length > 0 ? Math.max(...finding.cvss.map((score) => score.score)) : -1;
}

/** Worst first: severity, then CVSS, then id, package and version (by code point, locale-free). */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITY_ORDER.indexOf(b.severity) - SEVERITY_ORDER.indexOf(a.severity) ||
    maxScore(b) - maxScore(a) ||
    byCodePoint(a.id, b.id) ||
    byCodePoint(a.packageName, b.packageName) ||
    byCodePoint(a.installedVersion, b.installedVersion)
  );
}
