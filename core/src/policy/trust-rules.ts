import type { PolicyViolation, ScanResult } from "../result.js";
import type { SignatureFacts } from "../trust/types.js";
import { imageOrigin, normaliseRegistry } from "./image-reference.js";
import type { SignatureRule, TrustedRegistry, TrustRules } from "./types.js";

function rule(name: string, message: string): PolicyViolation {
  return { rule: name, message, findingIds: [] };
}

/** `host/repository` of a registry reference, with Docker Hub's aliases folded (docs/trust.md). */
function fullName(registry: string, repository: string): string {
  return `${normaliseRegistry(registry)}/${repository}`;
}

/** Normalises a written prefix the same way: `docker.io/library/` → `registry-1.docker.io/library`. */
function normalisePrefix(prefix: string): string {
  const trimmed = prefix.trim().replace(/\/+$/, "");
  const slash = trimmed.indexOf("/");
  if (slash === -1) return normaliseRegistry(trimmed);
  return `${normaliseRegistry(trimmed.slice(0, slash))}${trimmed.slice(slash)}`;
}

/** A prefix covers a name when it is the name or a whole leading path of it (never half a segment). */
export function prefixCovers(prefix: string, name: string): boolean {
  if (prefix.trim() === "" || prefix.trim() === "*") return true;
  const wanted = normalisePrefix(prefix);
  return name === wanted || name.startsWith(`${wanted}/`);
}

export type RegistryTrustDecision =
  { kind: "allowed" } | { kind: "unchecked"; warning: string } | { kind: "denied"; violation: PolicyViolation };

/**
 * `trust.registries`: the image must come from one of the allowed prefixes (and be referenced by
 * digest where the entry asks for it). Judged from the reference alone, so callers can refuse an
 * image before pulling anything.
 */
export function registryTrust(reference: string, registries: TrustedRegistry[] | undefined): RegistryTrustDecision {
  if (!registries || registries.length === 0) return { kind: "allowed" };
  const origin = imageOrigin(reference);
  if (origin.kind !== "registry") {
    return { kind: "unchecked", warning: `trust.registries not checked: ${reference} was not pulled from a registry` };
  }
  const name = fullName(origin.ref.registry, origin.ref.repository);
  const entry = registries.find((candidate) => prefixCovers(candidate.prefix, name));
  if (!entry) {
    return {
      kind: "denied",
      violation: rule(
        "trust.registries",
        `${reference} (${name}) is not from a trusted registry (${registries.map((r) => r.prefix).join(", ")}); push it to one of them`,
      ),
    };
  }
  if (entry.requireDigest && !origin.ref.digest) {
    return {
      kind: "denied",
      violation: rule(
        "trust.registries",
        `${reference} must be pinned by digest (trusted registry ${entry.prefix} has requireDigest); reference it as NAME@sha256:...`,
      ),
    };
  }
  return { kind: "allowed" };
}

/** The `trust.signatures` entry for an image: the longest repository prefix that covers it. */
export function signatureRuleFor(reference: string, trust: TrustRules | undefined): SignatureRule | undefined {
  const origin = imageOrigin(reference);
  if (origin.kind !== "registry" || !trust?.signatures) return undefined;
  const name = fullName(origin.ref.registry, origin.ref.repository);
  return trust.signatures
    .filter((entry) => prefixCovers(entry.repository, name))
    .sort((a, b) => normalisePrefix(b.repository).length - normalisePrefix(a.repository).length)[0];
}

/** Whether a scan of `reference` must look up signatures at all. */
export function wantsSignatureCheck(reference: string, trust: TrustRules | undefined): boolean {
  return Boolean(trust?.requireSignature) || signatureRuleFor(reference, trust) !== undefined;
}

function describeProblems(facts: SignatureFacts): string {
  const first = facts.problems[0]?.message;
  if (!first) return "";
  const more = facts.problems.length - 1;
  return `: ${first}${more > 0 ? ` (and ${more} more)` : ""}`;
}

/** `trust.registries` and `trust.signatures` over a scan result whose `signature` facts trust/ filled in. */
export function trustViolations(
  result: ScanResult,
  trust: TrustRules | undefined,
  warnings: string[],
): PolicyViolation[] {
  if (!trust) return [];
  const violations: PolicyViolation[] = [];
  const reference = result.artifact.reference;
  const registries = registryTrust(reference, trust.registries);
  if (registries.kind === "denied") violations.push(registries.violation);
  if (registries.kind === "unchecked") warnings.push(registries.warning);

  const entry = signatureRuleFor(reference, trust);
  const required = Boolean(trust.requireSignature) || Boolean(entry?.required);
  if (!entry && !trust.requireSignature) return violations;
  const facts = result.signature;
  const say = (message: string) =>
    required ? violations.push(rule("trust.signatures", message)) : warnings.push(message);
  if (!entry) {
    say(
      `${reference} has no trust.signatures entry naming who signs it, so no signature can be verified; add its repository with keys or certificates`,
    );
  } else if (!facts) {
    say(
      `trust.signatures not checked: ${reference} was not pulled from a registry, so its signatures cannot be looked up`,
    );
  } else if (facts.status === "missing") {
    say(
      `${reference} is not signed (no cosign or Notation signature for ${facts.digests.join(", ")}); sign it before deploying`,
    );
  } else if (facts.status === "failed") {
    say(`${reference} has no valid signature from a trusted signer${describeProblems(facts)}`);
  } else if (facts.status === "unchecked") {
    say(`${reference}: signatures could not be checked${describeProblems(facts)}`);
  }
  return violations;
}
