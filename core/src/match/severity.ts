import type { CvssScore, SeverityRating } from "../result.js";
import { cvssBandSeverity, scoreCvssVector } from "../vulndb/cvss.js";
import type { OsvRecord, OsvSeverity, Severity } from "../vulndb/osv.js";
import { stowawayData } from "./lookup.js";
import type { RecordMatch } from "./types.js";
import { StowawayError } from "../errors.js";
import type { CveMetrics } from "../vulndb/sources/cve-metrics.js";

/**
 * Base score of a CVSS vector, computed from the vector by the vulnerability DB's scorer (never read
 * from the feed), or undefined when the vector is malformed or incomplete.
 */
export function scoreVector(raw: string): { version: CvssScore["version"]; vector: string; score: number } | undefined {
  const scored = scoreCvssVector(raw);
  return scored && { version: scored.version, vector: scored.vector, score: scored.score };
}

/** CVSS qualitative bands: v3 and v4 per the FIRST specifications, v2 per NVD (which has no "critical"). */
export function severityFromScore(version: CvssScore["version"], score: number): Severity {
  return cvssBandSeverity(score, version);
}

const WORDS: Record<string, Severity> = {
  critical: "critical",
  important: "high",
  high: "high",
  moderate: "medium",
  medium: "medium",
  low: "low",
  negligible: "negligible",
  unimportant: "low",
  none: "negligible",
};

/** A feed's severity word (GHSA, Ubuntu priority, Red Hat impact) on Stowaway's scale. */
export function severityFromWord(word: unknown): Severity | undefined {
  if (typeof word !== "string") return undefined;
  return WORDS[word.trim().toLowerCase()] ?? (word.trim() ? "unknown" : undefined);
}

/** Which CVSS version decides a source's band when it gives several: v3.x is what every feed and NVD rate with. */
const VERSION_PREFERENCE: readonly CvssScore["version"][] = ["3.1", "3.0", "4.0", "2.0"];

/**
 * The kinds of rating the precedence order ranks (docs/severity.md):
 * - vendor: the distro's own word for its package (Debian urgency, Ubuntu priority, Red Hat impact)
 *   and CVSS vectors the distro feed ships;
 * - ghsa: GitHub's reviewed severity word, then its CVSS vector;
 * - nvd: NVD's own CVSS analysis (NVD API type Primary);
 * - cna: the CVE Numbering Authority's vector (NVD type Secondary, CVE List V5 `cna` container);
 * - adp: an authorised data publisher's vector (CVE List V5 `adp`, e.g. CISA Vulnrichment);
 * - osv: CVSS vectors other advisory records carry (PYSEC, RustSec, Go ...).
 */
export type SeveritySourceKind = "vendor" | "ghsa" | "nvd" | "cna" | "adp" | "osv";

export const SEVERITY_SOURCE_KINDS: readonly SeveritySourceKind[] = ["vendor", "ghsa", "nvd", "cna", "adp", "osv"];

/** Vendor first, then GHSA, NVD, the CNA, ADPs and other advisories' vectors. */
export const DEFAULT_SEVERITY_SOURCE_ORDER: readonly SeveritySourceKind[] = SEVERITY_SOURCE_KINDS;

/**
 * `"vendor,ghsa,nvd,cna"` (or a list) → the precedence order. Kinds left out never decide a finding's
 * severity; their ratings still appear in `severities`. Throws one line naming `flag` on unknown names.
 */
export function parseSeveritySourceOrder(
  input: string | readonly string[],
  flag = "--severity-source-order",
): SeveritySourceKind[] {
  const items = (typeof input === "string" ? input.split(",") : [...input]).map((item) =>
    String(item).trim().toLowerCase(),
  );
  const out: SeveritySourceKind[] = [];
  for (const item of items) {
    if (!item) continue;
    if (!(SEVERITY_SOURCE_KINDS as readonly string[]).includes(item)) {
      throw new StowawayError(
        `${flag}: ${JSON.stringify(item.slice(0, 40))} is not a severity source; use a comma-separated list of ${SEVERITY_SOURCE_KINDS.join(", ")}`,
        "USAGE",
      );
    }
    if (!out.includes(item as SeveritySourceKind)) out.push(item as SeveritySourceKind);
  }
  if (out.length === 0) {
    throw new StowawayError(`${flag}: empty; give e.g. ${DEFAULT_SEVERITY_SOURCE_ORDER.join(",")}`, "USAGE");
  }
  return out;
}

/** Record sources that are a distro's own data (matching's dataSource names, see match/lookup.ts). */
const VENDOR_SOURCES = new Set([
  "debian",
  "debian-security-tracker",
  "ubuntu",
  "redhat",
  "alpine",
  "alpine-secdb",
  "suse",
  "oracle",
  "almalinux",
  "rocky",
]);

function isVendorSource(source: string): boolean {
  const base = source.split(":")[0]!;
  return VENDOR_SOURCES.has(base) || base.startsWith("redhat") || base.startsWith("ubuntu");
}

/** The kind a CVSS vector's publisher belongs to. */
function cvssKind(source: string): SeveritySourceKind {
  if (source === "nvd" || source === "cna" || source === "adp" || source === "ghsa") return source;
  return isVendorSource(source) ? "vendor" : "osv";
}

interface Rating extends SeverityRating {
  kind: SeveritySourceKind;
}

interface Ratings {
  words: Rating[];
  cvss: CvssScore[];
  invalidVectors: string[];
}

function recordSeverities(match: RecordMatch): OsvSeverity[] {
  // The schema puts severity either on the affected entry or on the record, never both.
  return match.affected.severity?.length ? match.affected.severity : (match.record.severity ?? []);
}

function ghsaWord(record: OsvRecord): unknown {
  return record.database_specific?.severity;
}

function collect(matches: RecordMatch[], cveMetrics: readonly CveMetrics[]): Ratings {
  const out: Ratings = { words: [], cvss: [], invalidVectors: [] };
  for (const match of matches) {
    const source = match.details.dataSource;
    const vendor = stowawayData(match.affected).vendorSeverity;
    if (vendor) out.words.push({ source, severity: vendor, kind: "vendor" });
    for (const s of recordSeverities(match)) {
      if (s.type === "Ubuntu") {
        const severity = severityFromWord(s.score);
        if (severity) out.words.push({ source: "ubuntu", severity, kind: "vendor" });
        continue;
      }
      if (!/^CVSS_V[234]$/.test(s.type)) continue;
      const scored = scoreVector(s.score);
      if (scored) out.cvss.push({ ...scored, source });
      else out.invalidVectors.push(`${match.record.id}: CVSS vector ${JSON.stringify(s.score)} does not parse`);
    }
    const word = severityFromWord(ghsaWord(match.record));
    if (word && (source === "ghsa" || match.record.id.startsWith("GHSA-")))
      out.words.push({ source: "ghsa", severity: word, kind: "ghsa" });
  }
  for (const metrics of cveMetrics) {
    for (const v of metrics.vectors) {
      const scored = scoreVector(v.vector);
      if (scored) out.cvss.push({ ...scored, source: v.source, ...(v.publisher ? { publisher: v.publisher } : {}) });
      else
        out.invalidVectors.push(`${metrics.cveId}: ${v.source} CVSS vector ${JSON.stringify(v.vector)} does not parse`);
    }
  }
  return out;
}

function uniqueBy<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((i) => {
    const k = key(i);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export interface SeverityResult {
  severity: Severity;
  severitySource: string;
  severities: SeverityRating[];
  cvss: CvssScore[];
  warnings: string[];
}

export interface ResolveSeverityOptions {
  /** CVSS vectors published for the finding's CVEs (NVD, CVE List V5), from the database. */
  cveMetrics?: readonly CveMetrics[];
  /** Precedence of the rating kinds; default DEFAULT_SEVERITY_SOURCE_ORDER. */
  order?: readonly SeveritySourceKind[];
}

/**
 * The name a CVSS band is filed under. The rating of NVD, the CNA and ADPs is their CVSS band; every
 * other source's band is kept apart from that source's own word, so a vendor's "not yet assigned"
 * and the band it shipped are both visible.
 */
function bandSource(source: string): string {
  return source === "nvd" || source === "cna" || source === "adp" ? source : `${source}:cvss`;
}

/**
 * Keeps every source's rating and picks one by precedence (docs/severity.md; docs/matching-rules.md §9, P22): the
 * configured order of kinds (default vendor, GHSA, NVD, CNA, ADP, other advisories); within a kind a
 * word rating before a CVSS band. "unknown" is not a rating, so a vendor's "not yet assigned" falls
 * through to the next source. Kinds left out of the order are listed but never decide.
 */
export function resolveSeverity(matches: RecordMatch[], options: ResolveSeverityOptions = {}): SeverityResult {
  const order = options.order ?? DEFAULT_SEVERITY_SOURCE_ORDER;
  const { words, cvss, invalidVectors } = collect(matches, options.cveMetrics ?? []);
  const scores = uniqueBy(cvss, (c) => `${c.source}\u0000${c.vector}`);

  const bandBySource = new Map<string, Rating>();
  for (const version of VERSION_PREFERENCE) {
    for (const c of scores) {
      const source = bandSource(c.source);
      if (c.version === version && !bandBySource.has(source)) {
        bandBySource.set(source, { source, severity: severityFromScore(c.version, c.score), kind: cvssKind(c.source) });
      }
    }
  }
  const rank = (kind: SeveritySourceKind): number => {
    const index = order.indexOf(kind);
    return index < 0 ? order.length + SEVERITY_SOURCE_KINDS.indexOf(kind) : index;
  };
  const bands = [...bandBySource.values()].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  // Stable sort: within a kind, words come before bands, each in the order collected.
  const ordered = uniqueBy([...words, ...bands], (r) => r.source).sort((a, b) => rank(a.kind) - rank(b.kind));
  const chosen = ordered.find((r) => r.severity !== "unknown" && order.includes(r.kind));
  return {
    severity: chosen?.severity ?? "unknown",
    severitySource: chosen?.source ?? "none",
    severities: ordered.map(({ source, severity }) => ({ source, severity })),
    cvss: scores,
    warnings: invalidVectors,
  };
}
