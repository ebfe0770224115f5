import type { Package } from "../catalog/types.js";
import type { Finding } from "../result.js";
import { SEVERITY_ORDER, type AdvisoryStatus, type OsvRecord } from "../vulndb/osv.js";
import type { CveMetrics, VulnerabilityStore } from "../vulndb/types.js";
import { comparatorFor } from "./comparators.js";
import { resolveSeverity, type SeveritySourceKind } from "./severity.js";
import type { RecordMatch } from "./types.js";

const CVE = /^CVE-\d{4}-\d+$/;

/** The ids a record is known by. `upstream` counts only when it names one vulnerability (Ubuntu's UBUNTU-CVE-…). */
function identities(record: OsvRecord): string[] {
  const ids = [record.id, ...(record.aliases ?? [])];
  if (record.upstream?.length === 1) ids.push(record.upstream[0]!);
  return ids;
}

/** Groups a package's matches into vulnerabilities: records that share an id or alias are one (docs/matching-rules.md R17). */
export function groupByAlias(matches: RecordMatch[]): RecordMatch[][] {
  const parent = matches.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const owner = new Map<string, number>();
  matches.forEach((m, i) => {
    for (const id of identities(m.record)) {
      const j = owner.get(id);
      if (j === undefined) owner.set(id, i);
      else parent[find(i)] = find(j);
    }
  });
  const groups = new Map<number, RecordMatch[]>();
  matches.forEach((m, i) => {
    const root = find(i);
    groups.set(root, [...(groups.get(root) ?? []), m]);
  });
  return [...groups.values()];
}

function idRank(id: string): number {
  return CVE.test(id) ? 0 : id.startsWith("GHSA-") ? 1 : 2;
}

function byId(a: string, b: string): number {
  return idRank(a) - idRank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** The CVE when the group names exactly one; else the most widely known record id (GHSA, then by name). */
function primaryId(group: RecordMatch[], allIds: string[]): string {
  const cves = allIds.filter((id) => CVE.test(id));
  if (cves.length === 1) return cves[0]!;
  return group.map((m) => m.record.id).sort(byId)[0]!;
}

/** The highest fix among the records (docs/matching-rules.md R3, R9: several advisories fixing one CVE), by the match's own ordering. */
function bestFix(group: RecordMatch[]): RecordMatch | undefined {
  let best: RecordMatch | undefined;
  for (const m of group) {
    if (m.fixedVersion === undefined) continue;
    if (!best) {
      best = m;
      continue;
    }
    const comparator = comparatorFor(m.details.ecosystem);
    try {
      const d = comparator ? comparator.compare(m.fixedVersion, best.fixedVersion!) : 0;
      // Equal fixes: the better-known record (CVE, then GHSA) is the one shown, so output is stable.
      if (d > 0 || (d === 0 && byId(m.record.id, best.record.id) < 0)) best = m;
    } catch {
      // A fix we cannot order against the other cannot be called higher; the first stays.
    }
  }
  return best;
}

/**
 * The highest fix the image cannot take as it is, shown when no fix it can take exists: Ubuntu's
 * ESM-only fixes (docs/distro-matching.md "Ubuntu ESM"), Red Hat's builds for a derivative
 * (docs/distro-matching.md "Rebuilds and derivatives").
 */
function bestOtherFix(group: RecordMatch[], key: "esmFixedVersion" | "redhatFixedVersion"): string | undefined {
  let best: string | undefined;
  for (const m of group) {
    const version = m[key];
    if (version === undefined) continue;
    const comparator = comparatorFor(m.details.ecosystem);
    try {
      if (best === undefined || (comparator && comparator.compare(version, best) > 0)) best = version;
    } catch {
      // Unordered against the first: the first stays.
    }
  }
  return best;
}

function statusOf(group: RecordMatch[], fixed: boolean): AdvisoryStatus {
  if (fixed) return "fixed";
  // A vendor's explicit state (won't fix, deferred, end of life) says more than a bare "affected".
  const vendor = group.map((m) => m.vendorStatus).find((s) => s !== undefined && s !== "fixed" && s !== "affected");
  return vendor ?? "affected";
}

function summaryOf(records: OsvRecord[]): string | undefined {
  for (const r of records) if (r.summary?.trim()) return r.summary.trim();
  for (const r of records) {
    const first = r.details?.trim().split("\n")[0]?.trim();
    if (first) return first.length > 200 ? `${first.slice(0, 197)}...` : first;
  }
  return undefined;
}

async function publishedMetrics(store: VulnerabilityStore, cves: string[]): Promise<CveMetrics[]> {
  if (!store.cveMetrics) return [];
  const out: CveMetrics[] = [];
  for (const cve of cves) out.push(...(await store.cveMetrics(cve)));
  return out;
}

async function exploitData(
  store: VulnerabilityStore,
  cves: string[],
): Promise<Pick<Finding, "kev" | "kevRansomware" | "epss">> {
  const out: Pick<Finding, "kev" | "kevRansomware" | "epss"> = { kev: false };
  for (const cve of cves) {
    const kev = await store.kev(cve);
    if (kev) {
      out.kev = true;
      const ransomware = kev.knownRansomwareCampaignUse?.trim().toLowerCase() === "known";
      out.kevRansomware = (out.kevRansomware ?? false) || ransomware;
    }
    const epss = await store.epss(cve);
    if (epss && (!out.epss || epss.score > out.epss.score))
      out.epss = { score: epss.score, percentile: epss.percentile };
  }
  return out;
}

/** One finding per (package, vulnerability), merging every aliased record's data (docs/matching-rules.md R17). */
export async function buildFindings(
  pkg: Package,
  matches: RecordMatch[],
  store: VulnerabilityStore,
  warn: (message: string) => void,
  order?: readonly SeveritySourceKind[],
): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const group of groupByAlias(matches)) {
    const allIds = [...new Set(group.flatMap((m) => identities(m.record)))];
    const id = primaryId(group, allIds);
    const fix = bestFix(group);
    // The match shown is the one whose record the user can read the recommended fix in.
    const primary = fix ?? [...group].sort((a, b) => byId(a.record.id, b.record.id))[0]!;
    const records = [primary.record, ...group.map((m) => m.record).filter((r) => r !== primary.record)];
    const references = [...new Set(records.flatMap((r) => (r.references ?? []).map((ref) => ref.url)))];
    const cves = allIds.filter((i) => CVE.test(i)).sort();
    // A record without a rating of its own (DSA, DEBIAN-CVE, PYSEC ...) is rated through its CVE alias.
    const severity = resolveSeverity(group, {
      cveMetrics: await publishedMetrics(store, cves),
      ...(order ? { order } : {}),
    });
    severity.warnings.forEach(warn);

    const finding: Finding = {
      findingId: `${pkg.id}/${id}`,
      id,
      aliases: allIds.filter((i) => i !== id).sort(byId),
      packageId: pkg.id,
      packageName: pkg.name,
      installedVersion: pkg.version,
      status: statusOf(group, fix !== undefined),
      severity: severity.severity,
      severitySource: severity.severitySource,
      severities: severity.severities,
      cvss: severity.cvss,
      ...(await exploitData(store, cves)),
      layerIndex: pkg.layerIndex,
      match: primary.details,
    };
    if (fix?.fixedVersion !== undefined) finding.fixedVersion = fix.fixedVersion;
    const esm = fix ? undefined : bestOtherFix(group, "esmFixedVersion");
    if (esm) finding.esmFixedVersion = esm;
    const redhat = fix ? undefined : bestOtherFix(group, "redhatFixedVersion");
    if (redhat) finding.redhatFixedVersion = redhat;
    const summary = summaryOf(records);
    if (summary) finding.summary = summary;
    if (references.length > 0) finding.references = references;
    findings.push(finding);
  }
  return findings;
}

/** Severity (worst first), then package, then vulnerability id: stable across runs and machines. */
export function compareFindings(a: Finding, b: Finding): number {
  const sev = SEVERITY_ORDER.indexOf(b.severity) - SEVERITY_ORDER.indexOf(a.severity);
  if (sev !== 0) return sev;
  // Field by field without building pairs: sorting thousands of findings called this ~20,000 times.
  return (
    compareText(a.packageName, b.packageName) ||
    compareText(a.installedVersion, b.installedVersion) ||
    compareText(a.packageId, b.packageId) ||
    compareText(a.id, b.id)
  );
}

function compareText(x: string, y: string): number {
  return x === y ? 0 : x < y ? -1 : 1;
}
