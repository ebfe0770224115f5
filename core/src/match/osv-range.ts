import type { OsvAffected, OsvEvent, OsvRange } from "../vulndb/osv.js";
import { comparatorFor, makeSemverCompatible, type VersionComparator } from "./comparators.js";

/** Why an affected entry holds for a version, in the words MatchDetails reports. */
export interface AffectedHit {
  /** ">=0 <2.4.1", ">=1.0 <=1.4", or "versions: [1.2.3]". */
  constraint: string;
  /** The fixed event that ends the matching range; absent for open ranges and `versions` hits. */
  fixed?: string;
}

export interface EvaluationContext {
  /** The package's OSV ecosystem, which selects the ECOSYSTEM-range ordering. */
  ecosystem: string;
  /** Where the caller wants the reasons for skipped ranges (never fatal). */
  warn(message: string): void;
  /** Names the advisory in warnings. */
  recordId: string;
}

interface ParsedEvent {
  kind: keyof OsvEvent;
  raw: string;
  /** undefined for the OSV sentinels "0" (introduced) and "*" (limit). */
  parsed?: unknown;
}

function eventKind(event: OsvEvent): ParsedEvent["kind"] | undefined {
  // The schema allows exactly one key per event; anything else is malformed and ignored.
  const keys = (Object.keys(event) as (keyof OsvEvent)[]).filter((k) => typeof event[k] === "string");
  return keys.length === 1 ? keys[0] : undefined;
}

function isSentinel(kind: ParsedEvent["kind"], raw: string): boolean {
  return (kind === "introduced" && raw === "0") || (kind === "limit" && raw === "*");
}

/** The ordering a range's events are written in (osv-schema: SEMVER is SemVer 2.0 whatever the ecosystem). */
function rangeComparator(range: OsvRange, ecosystem: string): VersionComparator | string {
  if (range.type === "ECOSYSTEM") return comparatorFor(ecosystem) ?? `no version ordering for ecosystem ${ecosystem}`;
  if (range.type === "SEMVER") return makeSemverCompatible(ecosystem);
  return `${String(range.type)} ranges need the repository history and are not evaluated`;
}

/** Ties keep the spec's intent: an `introduced` and `fixed` at one version make an empty range. */
const TIE_ORDER: Record<ParsedEvent["kind"], number> = { introduced: 0, last_affected: 1, fixed: 2, limit: 3 };

/**
 * osv-schema `IsVulnerable` for one range: limits first (BeforeLimits), then a walk over the
 * events sorted by the ecosystem's ordering. Returns undefined when the range does not hold, and
 * a reason string when it cannot be evaluated.
 */
function evaluateRange(
  range: OsvRange,
  version: string,
  ctx: EvaluationContext,
): AffectedHit | undefined | { skipped: string; quiet?: boolean } {
  const comparator = rangeComparator(range, ctx.ecosystem);
  if (typeof comparator === "string") return { skipped: comparator };
  let installed: unknown;
  try {
    installed = comparator.parse(version);
  } catch {
    // The matcher reports an unusable installed version once per package, not once per range.
    return { skipped: "installed version does not parse", quiet: true };
  }

  const events: ParsedEvent[] = [];
  for (const event of range.events ?? []) {
    const kind = eventKind(event);
    if (!kind) return { skipped: `malformed event ${JSON.stringify(event)}` };
    const raw = event[kind]!;
    if (isSentinel(kind, raw)) {
      events.push({ kind, raw });
      continue;
    }
    try {
      events.push({ kind, raw, parsed: comparator.parse(raw) });
    } catch {
      // Sorting around a version we cannot order would silently flip verdicts; the range is skipped.
      return { skipped: `${kind} version ${JSON.stringify(raw)} is not a valid ${ctx.ecosystem} version` };
    }
  }
  if (!events.some((e) => e.kind === "introduced")) return { skipped: "range has no introduced event" };

  const cmp = (a: ParsedEvent, b: ParsedEvent): number => {
    const aZero = a.parsed === undefined;
    const bZero = b.parsed === undefined;
    // Only introduced "0" and limit "*" are unparsed: one sorts before everything, the other after.
    const rank = (e: ParsedEvent, zero: boolean) => (zero ? (e.kind === "introduced" ? -1 : 1) : 0);
    const d =
      aZero || bZero ? rank(a, aZero) - rank(b, bZero) : Math.sign(comparator.compareParsed(a.parsed, b.parsed));
    return d !== 0 ? d : TIE_ORDER[a.kind] - TIE_ORDER[b.kind];
  };
  const atLeast = (e: ParsedEvent) => e.parsed === undefined || comparator.compareParsed(installed, e.parsed) >= 0;

  const limits = events.filter((e) => e.kind === "limit");
  const beforeLimits =
    limits.length === 0 ||
    limits.some((l) => l.parsed === undefined || comparator.compareParsed(installed, l.parsed) < 0);
  if (!beforeLimits) return undefined;

  const sorted = [...events].sort(cmp);
  let vulnerable = false;
  let since: ParsedEvent | undefined;
  let position = -1;
  sorted.forEach((e, i) => {
    if (e.kind === "introduced" && atLeast(e)) {
      vulnerable = true;
      since = e;
      position = i;
    } else if (e.kind === "fixed" && atLeast(e)) {
      vulnerable = false;
    } else if (e.kind === "last_affected" && comparator.compareParsed(installed, e.parsed) > 0) {
      vulnerable = false;
    }
  });
  if (!vulnerable || !since) return undefined;

  const end = sorted.slice(position + 1).find((e) => e.kind === "fixed" || e.kind === "last_affected");
  const parts = [`>=${since.raw}`];
  if (end?.kind === "fixed") parts.push(`<${end.raw}`);
  if (end?.kind === "last_affected") parts.push(`<=${end.raw}`);
  const finiteLimits = limits.filter((l) => l.parsed !== undefined);
  if (finiteLimits.length > 0 && finiteLimits.length === limits.length) {
    parts.push(`(limit <${[...finiteLimits].sort(cmp).at(-1)!.raw})`);
  }
  const hit: AffectedHit = { constraint: parts.join(" ") };
  if (end?.kind === "fixed") hit.fixed = end.raw;
  return hit;
}

function listedVersion(affected: OsvAffected, version: string, ecosystem: string): string | undefined {
  const listed = affected.versions ?? [];
  if (listed.includes(version)) return version;
  // Spellings that the ecosystem treats as one version ("1.0" and "1.0.0" in PEP 440) are one version.
  const comparator = comparatorFor(ecosystem);
  if (!comparator || !comparator.isValid(version)) return undefined;
  const installed = comparator.parse(version);
  return listed.find((v) => comparator.isValid(v) && comparator.compareParsed(installed, comparator.parse(v)) === 0);
}

/**
 * Whether `version` is affected by one `affected[]` entry (osv-schema "Evaluation"): listed in
 * `versions`, or inside any range. Ranges that cannot be evaluated (GIT, unknown orderings,
 * unparseable events) are skipped with a warning and never hide the ranges after them.
 */
export function evaluateAffected(
  affected: OsvAffected,
  version: string,
  ctx: EvaluationContext,
): AffectedHit | undefined {
  let firstHit: AffectedHit | undefined;
  for (const range of affected.ranges ?? []) {
    const result = evaluateRange(range, version, ctx);
    if (result === undefined) continue;
    if ("skipped" in result) {
      // GIT ranges are normal in OSV (the `versions` list covers them), so they are not worth a warning.
      if (range.type !== "GIT" && !result.quiet) ctx.warn(`${ctx.recordId}: ${result.skipped}; range skipped`);
      continue;
    }
    // Ranges should not overlap; if they do, the one that names a fix is the more useful answer.
    if (result.fixed !== undefined) return result;
    firstHit ??= result;
  }
  if (firstHit) return firstHit;
  const listed = listedVersion(affected, version, ctx.ecosystem);
  return listed === undefined ? undefined : { constraint: `versions: [${listed}]` };
}
