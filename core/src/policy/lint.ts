import { readFile } from "node:fs/promises";
import { daysUntil, isExpired } from "./dates.js";
import { formatIssue, readPolicyDocument } from "./parse.js";
import type { Policy } from "./types.js";

export interface PolicyLintResult {
  ok: boolean;
  /** "file:line: field: message", one per problem. */
  errors: string[];
  /** Valid but probably not what was meant. */
  warnings: string[];
  policy?: Policy;
}

/** `stowaway policy lint FILE`: every problem at once, plus advice, instead of the first error. */
export async function lintPolicy(file: string, options: { now?: Date } = {}): Promise<PolicyLintResult> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    return {
      ok: false,
      errors: [`${file}: cannot read the policy: ${(error as NodeJS.ErrnoException).code ?? error}`],
      warnings: [],
    };
  }
  const { policy, issues } = readPolicyDocument(text, file);
  if (!policy) return { ok: false, errors: issues.map((issue) => formatIssue(file, issue)), warnings: [] };
  return { ok: true, errors: [], warnings: adviseOn(policy, options.now ?? new Date()), policy };
}

function adviseOn(policy: Policy, now: Date): string[] {
  const warnings: string[] = [];
  const { gate, image, database } = policy;
  const gates =
    gate.failOn !== "none" ||
    gate.maxCount !== undefined ||
    gate.cvssAtLeast !== undefined ||
    gate.epssAtLeast !== undefined ||
    gate.kev === true ||
    (gate.deny?.length ?? 0) > 0 ||
    (gate.denyPackages?.length ?? 0) > 0 ||
    gate.failOnIncompleteInventory === true ||
    Object.values(image).some((value) => value !== undefined && value !== false) ||
    database.maxAgeDays !== undefined;
  if (!gates)
    warnings.push(
      `${policy.source}: the policy has no rule that can fail (gate.failOn is none and nothing else is set)`,
    );
  const seen = new Map<string, string>();
  for (const exception of policy.exceptions) {
    const key = [exception.id, exception.package, exception.purl, exception.image].join("\u0000");
    const earlier = seen.get(key);
    if (earlier) warnings.push(`${exception.origin}: exception ${exception.id} repeats the one at ${earlier}`);
    else seen.set(key, exception.origin ?? "");
    if (!exception.expires) continue;
    if (isExpired(exception.expires, now)) {
      warnings.push(`${exception.origin}: exception ${exception.id} expired on ${exception.expires}`);
    } else if (daysUntil(exception.expires, now) <= policy.expiryWarningDays) {
      warnings.push(`${exception.origin}: exception ${exception.id} expires on ${exception.expires}`);
    }
  }
  return warnings;
}
