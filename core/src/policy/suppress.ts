import type { Package } from "../catalog/types.js";
import type { Finding, ScanResult, Suppression } from "../result.js";
import { daysUntil, isExpired } from "./dates.js";
import { findingHasId, findingIds, normaliseId, plural } from "./finding-ids.js";
import { globMatch } from "./glob.js";
import { purlMatches, purlPatternMatches } from "./purl-match.js";
import type { IgnoreEntry, ImportedSuppression, Policy, PolicyException, VexStatement } from "./types.js";

export interface SuppressionOutcome {
  active: Finding[];
  suppressed: Suppression[];
}

/**
 * Splits findings into those the gate sees and those a policy exception, ignore entry or VEX
 * statement suppresses. Expired entries stop applying and say so; entries about to expire warn
 * ahead of time; a suppressed finding is listed, never dropped.
 */
export function applySuppressions(
  result: ScanResult,
  policy: Policy,
  imported: readonly ImportedSuppression[],
  now: Date,
  warnings: string[],
): SuppressionOutcome {
  const findings = result.findings ?? [];
  const packages = new Map(result.packages.map((pkg) => [pkg.id, pkg]));
  const exceptions = policy.exceptions.filter((exception) => usable(exception, policy, now, warnings, "exception"));
  const ignores = imported
    .filter((entry): entry is IgnoreEntry => entry.kind === "ignore")
    .filter((entry) => usableIgnore(entry, policy, now, warnings));
  const statements = imported.filter((entry): entry is VexStatement => entry.kind === "vex");

  const used = new Set<PolicyException>();
  const active: Finding[] = [];
  const suppressed: Suppression[] = [];
  for (const finding of findings) {
    const pkg = packages.get(finding.packageId);
    const exception = exceptions.find((candidate) => exceptionApplies(candidate, finding, pkg, result));
    if (exception) {
      used.add(exception);
      suppressed.push({
        findingId: finding.findingId,
        source: "policy-exception",
        reason: exception.reason,
        ...(exception.expires ? { expires: exception.expires } : {}),
      });
      continue;
    }
    const ignore = ignores.find((entry) => ignoreApplies(entry, finding, pkg));
    if (ignore) {
      suppressed.push({
        findingId: finding.findingId,
        source: ignore.source,
        reason: ignore.reason,
        ...(ignore.expires ? { expires: ignore.expires } : {}),
      });
      continue;
    }
    const statement = deciding(statements, finding, pkg);
    if (statement?.status === "not_affected") {
      suppressed.push({ findingId: finding.findingId, source: "openvex", reason: vexReason(statement) });
      continue;
    }
    active.push(finding);
  }

  if (result.findings !== undefined) {
    for (const exception of exceptions) {
      if (!used.has(exception)) {
        warnings.push(
          `exception ${exception.id} (${exception.origin ?? "policy"}) matched no finding; remove it if it is no longer needed`,
        );
      }
    }
  }
  return { active, suppressed };
}

function usable(exception: PolicyException, policy: Policy, now: Date, warnings: string[], what: string): boolean {
  const where = `${what} ${exception.id} (${exception.origin ?? "policy"})`;
  if (!exception.expires) return true;
  if (isExpired(exception.expires, now)) {
    warnings.push(`${where} expired on ${exception.expires} and no longer applies`);
    return false;
  }
  const days = daysUntil(exception.expires, now);
  if (days <= policy.expiryWarningDays) {
    warnings.push(
      `${where} expires ${days === 0 ? "today" : `in ${plural(days, "day")}`} (${exception.expires}); renew or fix it`,
    );
  }
  return true;
}

function usableIgnore(entry: IgnoreEntry, policy: Policy, now: Date, warnings: string[]): boolean {
  if (!entry.expires && policy.requireExpiry) {
    warnings.push(
      `${entry.source} entry ${entry.id} (${entry.origin}) has no expiry and the policy requires one (requireExpiry), so it does not apply`,
    );
    return false;
  }
  return usable(
    { id: entry.id, reason: entry.reason, expires: entry.expires, origin: entry.origin },
    policy,
    now,
    warnings,
    `${entry.source} entry`,
  );
}

function exceptionApplies(
  exception: PolicyException,
  finding: Finding,
  pkg: Package | undefined,
  result: ScanResult,
): boolean {
  if (!findingHasId(finding, exception.id)) return false;
  if (exception.package !== undefined && !globMatch(exception.package, finding.packageName)) return false;
  if (exception.purl !== undefined && !purlPatternMatches(exception.purl, pkg?.purl ?? "")) return false;
  if (exception.image !== undefined && !globMatch(exception.image, result.artifact.reference)) return false;
  return true;
}

function ignoreApplies(entry: IgnoreEntry, finding: Finding, pkg: Package | undefined): boolean {
  if (!findingHasId(finding, entry.id)) return false;
  if (entry.purls && entry.purls.length > 0 && !entry.purls.some((purl) => purlMatches(purl, pkg?.purl ?? ""))) {
    return false;
  }
  if (entry.paths && entry.paths.length > 0) {
    const locations = pkg?.locations ?? [];
    const matches = entry.paths.some((glob) =>
      locations.some((location) => globMatch(glob.replace(/^\/+/, ""), location.replace(/^\/+/, ""))),
    );
    if (!matches) return false;
  }
  return true;
}

/** VEX statements are a history: the latest one about a product and vulnerability decides. */
function deciding(
  statements: readonly VexStatement[],
  finding: Finding,
  pkg: Package | undefined,
): VexStatement | undefined {
  if (!pkg?.purl) return undefined;
  const ids = new Set(findingIds(finding));
  let best: VexStatement | undefined;
  for (const statement of statements) {
    if (!statement.ids.some((id) => ids.has(normaliseId(id)))) continue;
    const names = statement.products.flatMap((product) =>
      product.subcomponents.length > 0 ? product.subcomponents : [product.purl],
    );
    if (!names.some((purl) => purlMatches(purl, pkg.purl))) continue;
    if (!best || (statement.timestamp ?? "") >= (best.timestamp ?? "")) best = statement;
  }
  return best;
}

function vexReason(statement: VexStatement): string {
  const parts = [statement.justification, statement.impactStatement].filter(Boolean);
  return `${parts.length > 0 ? parts.join(": ") : "not_affected"} (${statement.origin})`;
}
