import { comparatorFor, isSupportedEcosystem, type VersionComparator } from "../../versions/index.js";
import { normalizeEcosystem, normalizePackageName } from "../normalize.js";
import type { OsvAffected, OsvEvent, OsvRecord } from "../osv.js";

/**
 * A record's "ceiling" for one package: the highest version any of its `affected[]` entries for that
 * package names, when that is enough to know that no version above it can match. The index stores
 * it beside the record's reference (schema 2), so matching an up-to-date package skips reading and
 * decoding the many advisories fixed long ago; at full size that is most of the records a scan meets.
 *
 * It is only given when skipping the record above it changes nothing matching would do or say:
 * - every entry for the package has only ECOSYSTEM ranges (SEMVER and GIT ranges order differently or
 *   not at all) whose events all parse and hold an `introduced`, with a `fixed` or `last_affected` at
 *   the highest event: the osv-schema walk then ends "not vulnerable" for any version above it;
 * - every `versions` entry that parses is at or below it (one that does not parse cannot equal a
 *   version that does);
 * - no entry states `not_affected` for the package (vendor not-affected statements hold whatever the
 *   installed version).
 * Ranges that would be skipped with a warning get no ceiling, so the warning is still given.
 * Matching skips the record only when the installed version parses and is strictly above it.
 */
export function recordCeiling(record: OsvRecord, ecosystem: string, name: string): string | undefined {
  if (!isSupportedEcosystem(ecosystem)) return undefined;
  const comparator = uncached(comparatorFor(ecosystem));
  let ceiling: { raw: string; parsed: unknown } | undefined;
  const raise = (raw: string, parsed: unknown): void => {
    if (!ceiling || comparator.compareParsed(parsed, ceiling.parsed) > 0) ceiling = { raw, parsed };
  };
  let entries = 0;
  for (const affected of record.affected ?? []) {
    const pkg = affected.package;
    if (!pkg?.ecosystem || !pkg.name) continue;
    if (normalizeEcosystem(pkg.ecosystem) !== ecosystem) continue;
    if (normalizePackageName(ecosystem, pkg.name) !== name) continue;
    entries++;
    const stowaway = affected.database_specific?.stowaway as { status?: unknown } | undefined;
    if (stowaway?.status === "not_affected") return undefined;
    for (const range of affected.ranges ?? []) {
      const top = rangeTop(range.type, range.events, comparator);
      if (top === undefined) return undefined;
      raise(top.raw, top.parsed);
    }
    for (const listed of versionsOf(affected)) {
      if (comparator.isValid(listed)) raise(listed, comparator.parse(listed));
    }
  }
  return entries > 0 && ceiling ? ceiling.raw : undefined;
}

/**
 * The comparator without its cache of parsed strings: a build meets every version of 600k records
 * once, and caching them held ~50k parsed versions per ordering in the build's memory.
 */
function uncached(comparator: VersionComparator): VersionComparator {
  const parse = comparator.parseUncached?.bind(comparator);
  if (!parse) return comparator;
  return {
    ...comparator,
    parse,
    isValid(version: string) {
      try {
        parse(version);
        return true;
      } catch {
        return false;
      }
    },
  };
}

function versionsOf(affected: OsvAffected): string[] {
  return Array.isArray(affected.versions) ? affected.versions.filter((v): v is string => typeof v === "string") : [];
}

const TOP_KINDS = new Set(["fixed", "last_affected"]);

/** The highest event of an ECOSYSTEM range when it closes the range; undefined when it cannot have a ceiling. */
function rangeTop(
  type: unknown,
  events: OsvEvent[] | undefined,
  comparator: VersionComparator,
): { raw: string; parsed: unknown } | undefined {
  if (type !== "ECOSYSTEM" || !Array.isArray(events)) return undefined;
  let introduced = false;
  let top: { raw: string; parsed: unknown; kinds: Set<string> } | undefined;
  for (const event of events) {
    const keys = Object.keys(event ?? {}).filter((k) => typeof (event as Record<string, unknown>)[k] === "string");
    if (keys.length !== 1) return undefined;
    const kind = keys[0]!;
    const raw = (event as Record<string, string>)[kind]!;
    if (kind === "introduced") {
      introduced = true;
      if (raw === "0") continue;
    } else if (!TOP_KINDS.has(kind)) {
      // `limit` (and anything unknown) is left to the full evaluation.
      return undefined;
    }
    if (!comparator.isValid(raw)) return undefined;
    const parsed = comparator.parse(raw);
    const order = top ? comparator.compareParsed(parsed, top.parsed) : 1;
    if (order > 0) top = { raw, parsed, kinds: new Set([kind]) };
    else if (order === 0) top!.kinds.add(kind);
  }
  if (!introduced) return undefined;
  // Only `introduced: "0"`: open from the start, never below any ceiling.
  if (!top) return undefined;
  // An `introduced` alone at the top leaves every version above it affected.
  return [...top.kinds].some((kind) => TOP_KINDS.has(kind)) ? { raw: top.raw, parsed: top.parsed } : undefined;
}
