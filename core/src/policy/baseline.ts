import type { Finding, ScanResult } from "../result.js";
import { findingIds } from "./finding-ids.js";

/**
 * Findings that are new since a previous result. Identity is vulnerability id (or alias) + package
 * name + installed version, not `findingId`: package ids can change between scans of rebuilt images
 * while the vulnerable package stays the same.
 */
export function newSinceBaseline(findings: readonly Finding[], baseline: ScanResult, warnings: string[]): Finding[] {
  if (baseline.findings === undefined) {
    warnings.push(
      "the baseline has no findings (it was made without a vulnerability database); every finding counts as new",
    );
    return [...findings];
  }
  const known = new Set<string>();
  for (const finding of baseline.findings) {
    for (const id of findingIds(finding)) known.add(key(id, finding));
  }
  const fresh = findings.filter((finding) => !findingIds(finding).some((id) => known.has(key(id, finding))));
  const carried = findings.length - fresh.length;
  if (carried > 0) {
    warnings.push(
      `${carried} finding${carried === 1 ? " was" : "s were"} already in the baseline and did not count toward the gate`,
    );
  }
  return fresh;
}

function key(id: string, finding: Finding): string {
  return `${id}\u0000${finding.packageName}\u0000${finding.installedVersion}`;
}
