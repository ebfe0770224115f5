import type { CvssScore, SeverityRating } from "../result.js";
import { cvssBandSeverity, scoreCvssVector } from "../vulndb/cvss.js";
import type { OsvRecord, OsvSeverity, Severity } from "../vulndb/osv.js";
import { stowawayData } from "./lookup.js";
import type { RecordMatch } from "./types.js";

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

interface Ratings {
  vendor: SeverityRating[];
  words: SeverityRating[];
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

function collect(matches: RecordMatch[]): Ratings {
  const out: Ratings = { vendor: [], words: [], cvss: [], invalidVectors: [] };
  for (const match of matches) {
    const source = match.details.dataSource;
    const vendor = stowawayData(match.affected).vendorSeverity;
    if (vendor) out.vendor.push({ source, severity: vendor });
    for (const s of recordSeverities(match)) {
      if (s.type === "Ubuntu") {
        const severity = severityFromWord(s.score);
        if (severity) out.vendor.push({ source: "ubuntu", severity });
        continue;
      }
      if (!/^CVSS_V[234]$/.test(s.type)) continue;
      const scored = scoreVector(s.score);
      if (scored) out.cvss.push({ ...scored, source });
      else out.invalidVectors.push(`${match.record.id}: CVSS vector ${JSON.stringify(s.score)} does not parse`);
    }
    const word = severityFromWord(ghsaWord(match.record));
    if (word && (source === "ghsa" || match.record.id.startsWith("GHSA-")))
      out.words.push({ source: "ghsa", severity: word });
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

/**
 * The name a CVSS band is filed under. NVD's rating is its CVSS band; every other source's band is
 * kept apart from that source's own word, so a vendor's "not yet assigned" and the band it shipped
 * are both visible.
 */
function bandSource(source: string): string {
  return source === "nvd" ? "nvd" : `${source}:cvss`;
}

/** Preference of the CVSS bands when no word rating exists: NVD, then GHSA, then the rest by name. */
function cvssSourceRank(source: string): number {
  return source === "nvd" ? 0 : source === "ghsa:cvss" ? 1 : 2;
}

/**
 * Keeps every source's rating and picks one by precedence (docs/matching-rules.md §9, P22): the vendor's own word
 * (the feed that produced an OS match), then GHSA's word, then a CVSS band (NVD first), else unknown.
 * "unknown" is not a rating, so a vendor's "not yet assigned" falls through to the next source.
 */
export function resolveSeverity(matches: RecordMatch[]): SeverityResult {
  const { vendor, words, cvss, invalidVectors } = collect(matches);
  const scores = uniqueBy(cvss, (c) => `${c.source}\u0000${c.vector}`);

  const bandBySource = new Map<string, SeverityRating>();
  for (const version of VERSION_PREFERENCE) {
    for (const c of scores) {
      const source = bandSource(c.source);
      if (c.version === version && !bandBySource.has(source)) {
        bandBySource.set(source, { source, severity: severityFromScore(c.version, c.score) });
      }
    }
  }
  const bands = [...bandBySource.values()].sort(
    (a, b) =>
      cvssSourceRank(a.source) - cvssSourceRank(b.source) || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0),
  );

  const ordered = uniqueBy([...vendor, ...words, ...bands], (r) => r.source);
  const chosen = ordered.find((r) => r.severity !== "unknown");
  return {
    severity: chosen?.severity ?? "unknown",
    severitySource: chosen?.source ?? "none",
    severities: ordered,
    cvss: scores,
    warnings: invalidVectors,
  };
}
