import type { MatchDetails } from "../result.js";
import type { AdvisoryStatus, OsvAffected, OsvRecord, StowawayAffectedData } from "../vulndb/osv.js";
import { baseEcosystem } from "../versions/index.js";
import { normalizePackageName, sameEcosystem } from "./ecosystem.js";
import { comparatorFor } from "./comparators.js";
import { evaluateAffected } from "./osv-range.js";
import type { MatchContext, RecordMatch } from "./types.js";

/** States that are reported (docs/matching-rules.md R10). Anything else the feed says (under_investigation, not_affected ...) is not. */
const REPORTED_STATUSES: ReadonlySet<string> = new Set<AdvisoryStatus>([
  "fixed",
  "affected",
  "will_not_fix",
  "fix_deferred",
  "end_of_life",
]);

export interface Query {
  ecosystem: string;
  /** The name to look up: the binary name for direct matches, the source/origin name otherwise. */
  name: string;
  version: string;
  type: MatchDetails["type"];
  /** Extra per-entry filter, e.g. the rpm arch rule (docs/matching-rules.md R8). */
  accept?: (affected: OsvAffected) => boolean;
}

export function stowawayData(affected: OsvAffected): StowawayAffectedData {
  const data = affected.database_specific?.stowaway;
  return data && typeof data === "object" ? (data as StowawayAffectedData) : {};
}

/** Who published a record, for MatchDetails.dataSource and severity sources when the DB did not say. */
export function recordSource(record: OsvRecord, ecosystem: string): string {
  const prefix = /^([A-Z]+)-/.exec(record.id)?.[1] ?? "";
  switch (prefix) {
    case "GHSA":
      return "ghsa";
    case "CVE":
      return "nvd";
    case "UBUNTU":
    case "USN":
      return "ubuntu";
    case "DSA":
    case "DLA":
    case "DTSA":
    case "DEBIAN":
      return "debian";
    case "RHSA":
    case "RHBA":
    case "RHEA":
      return "redhat";
    case "ALPINE":
      return "alpine";
    default:
      return `osv:${baseEcosystem(ecosystem)}`;
  }
}

/** Debian tracker and Alpine secdb write "fixed in 0" for "this release never had the bug" (docs/matching-rules.md R3, R5). */
function fixedAtZero(affected: OsvAffected): boolean {
  return (affected.ranges ?? []).some((r) => (r.events ?? []).some((e) => e.fixed === "0"));
}

/**
 * Every record that affects `query` in its own feed: withdrawn records dropped (docs/matching-rules.md R16), entries of
 * other ecosystems or releases ignored (docs/matching-rules.md R18), unreported states dropped (R10).
 */
export async function findMatches(ctx: MatchContext, query: Query): Promise<RecordMatch[]> {
  // Records whose every range and listed version for this package ends below the installed version
  // (their ceiling, vulndb/store/ceiling.ts) cannot match: the store need not read or decode them.
  // Same ordering as evaluateRange's for ECOSYSTEM ranges, the only ones a ceiling covers.
  const comparator = comparatorFor(query.ecosystem);
  const installed = comparator?.isValid(query.version) ? comparator.parse(query.version) : undefined;
  const above =
    comparator && installed !== undefined
      ? (ceiling: string) =>
          comparator.isValid(ceiling) && comparator.compareParsed(installed, comparator.parse(ceiling)) > 0
      : undefined;
  const records = await ctx.store.advisoriesFor(query.ecosystem, query.name, above ? { above } : undefined);
  const wanted = normalizePackageName(query.ecosystem, query.name);
  const matches: RecordMatch[] = [];
  for (const record of records) {
    if (record.withdrawn) continue;
    let best: RecordMatch | undefined;
    for (const affected of record.affected ?? []) {
      const pkg = affected.package;
      if (!pkg || !sameEcosystem(pkg.ecosystem, query.ecosystem)) continue;
      if (normalizePackageName(query.ecosystem, pkg.name) !== wanted) continue;
      const stowaway = stowawayData(affected);
      if (stowaway.status !== undefined && !REPORTED_STATUSES.has(stowaway.status)) continue;
      if (fixedAtZero(affected)) continue;
      if (query.accept && !query.accept(affected)) continue;
      const hit = evaluateAffected(affected, query.version, {
        ecosystem: query.ecosystem,
        recordId: record.id,
        warn: (m) => ctx.warn(m),
      });
      if (!hit) continue;
      const match: RecordMatch = {
        record,
        affected,
        details: {
          type: query.type,
          ecosystem: query.ecosystem,
          name: query.name,
          version: query.version,
          constraint: hit.constraint,
          recordId: record.id,
          dataSource: stowaway.source ?? recordSource(record, query.ecosystem),
        },
      };
      if (hit.fixed !== undefined) match.fixedVersion = hit.fixed;
      if (stowaway.status !== undefined) match.vendorStatus = stowaway.status as AdvisoryStatus;
      // One record may list the package in several entries (one per range, as GHSA does); one hit is
      // enough, and the one naming a fix tells the user the most.
      if (!best || (best.fixedVersion === undefined && match.fixedVersion !== undefined)) best = match;
    }
    if (best) matches.push(best);
  }
  return matches;
}

/**
 * The vulnerability ids (record id and aliases) a vendor has declared `query` NOT affected by in
 * this feed (Red Hat CSAF/VEX "known_not_affected", Security Data API "Not affected"). The
 * statement is per product stream and package, so it holds whatever the installed version;
 * `componentWide` are those made about a source component as a whole (VEX, Security Data API).
 * docs/distro-matching.md "Not affected and will not fix".
 */
export async function notAffectedIds(
  ctx: MatchContext,
  query: Query,
): Promise<{ ids: Set<string>; componentWide: Set<string> }> {
  const records = await ctx.store.advisoriesFor(query.ecosystem, query.name);
  const wanted = normalizePackageName(query.ecosystem, query.name);
  const ids = new Set<string>();
  const componentWide = new Set<string>();
  for (const record of records) {
    if (record.withdrawn) continue;
    for (const affected of record.affected ?? []) {
      const pkg = affected.package;
      if (!pkg || !sameEcosystem(pkg.ecosystem, query.ecosystem)) continue;
      if (normalizePackageName(query.ecosystem, pkg.name) !== wanted) continue;
      const data = stowawayData(affected);
      if (data.status !== "not_affected") continue;
      if (query.accept && !query.accept(affected)) continue;
      for (const id of [record.id, ...(record.aliases ?? [])]) {
        ids.add(id);
        if (data.componentWide) componentWide.add(id);
      }
    }
  }
  return { ids, componentWide };
}

/** Warns once per package whose version the ecosystem cannot order: only exact `versions` entries can match it. */
export function checkInstalledVersion(ctx: MatchContext, ecosystem: string, label: string, version: string): void {
  const comparator = comparatorFor(ecosystem);
  if (comparator && !comparator.isValid(version)) {
    ctx.warn(
      `${label}: version ${JSON.stringify(version)} is not a valid ${ecosystem} version; advisory ranges were not evaluated for it`,
    );
  }
}
