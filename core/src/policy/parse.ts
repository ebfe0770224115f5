import type yamlModule from "js-yaml";
import type { Severity } from "../vulndb/osv.js";
import { PolicyError } from "./errors.js";
import { validatePolicyDocument, type SchemaIssue } from "./schema.js";
import { parsePublicKeys } from "../trust/cosign.js";
import { parseTrustStore } from "../trust/notation.js";
import type { GateRules, ImageRules, Policy, PolicyException, SignatureRule, TrustedRegistry } from "./types.js";
import { lineOf, pointer, yamlLineMap } from "./yaml-lines.js";

import { lazyDependency } from "../lazy-dependency.js";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see lazyDependency
const jsYaml = lazyDependency<typeof yamlModule>("js-yaml", () => require("js-yaml"));

export interface PolicyDocument {
  policy?: Policy;
  issues: SchemaIssue[];
}

/**
 * Reads a policy without throwing: YAML syntax and schema problems come back as issues with lines.
 * The core schema keeps `expires: 2027-06-30` a string (the default schema would turn it into a Date
 * and the schema check would then reject it).
 */
export function readPolicyDocument(text: string, file: string): PolicyDocument {
  let document: unknown;
  try {
    document = jsYaml().load(text, { filename: file, schema: jsYaml().CORE_SCHEMA });
  } catch (error) {
    if (error instanceof jsYaml().YAMLException) {
      return { issues: [{ line: error.mark.line + 1, field: "(syntax)", message: error.reason }] };
    }
    throw error;
  }
  const lines = yamlLineMap(text);
  const issues = validatePolicyDocument(document, lines);
  if (issues.length > 0) return { issues };
  const lineAt = (path: string[]) => lineOf(lines, pointer(path));
  const trustIssue = checkTrustMaterial(document as RawPolicy, lineAt);
  if (trustIssue) return { issues: [trustIssue] };
  return { policy: normalise(document as RawPolicy, file, lineAt), issues };
}

/** Parses and validates a policy; throws a one-line PolicyError naming file:line and field. */
export function parsePolicy(text: string, file: string): Policy {
  const { policy, issues } = readPolicyDocument(text, file);
  if (!policy) throw new PolicyError(formatIssue(file, issues[0]!, issues.length - 1));
  return policy;
}

export function formatIssue(file: string, issue: SchemaIssue, more = 0): string {
  const tail =
    more > 0 ? ` (and ${more} more problem${more === 1 ? "" : "s"}; run "stowaway policy lint ${file}")` : "";
  return `${file}:${issue.line}: ${issue.field}: ${issue.message}${tail}`;
}

interface RawPolicy {
  version: 1;
  mode?: "enforce" | "warn";
  requireExpiry?: boolean;
  expiryWarningDays?: number;
  gate?: Partial<GateRules>;
  image?: ImageRules;
  database?: { maxAgeDays?: number };
  report?: { minSeverity?: Severity };
  severity?: Policy["severity"];
  exceptions?: Omit<PolicyException, "origin">[];
  trust?: {
    registries?: (string | TrustedRegistry)[];
    signatures?: (Omit<SignatureRule, "required"> & { required?: boolean })[];
    requireSignature?: boolean;
  };
}

function normalise(raw: RawPolicy, file: string, lineAt: (path: string[]) => number): Policy {
  return {
    version: 1,
    mode: raw.mode ?? "enforce",
    requireExpiry: raw.requireExpiry ?? true,
    expiryWarningDays: raw.expiryWarningDays ?? 14,
    gate: { ...raw.gate, failOn: raw.gate?.failOn ?? "none", onlyFixed: raw.gate?.onlyFixed ?? false },
    image: { ...raw.image },
    database: { ...raw.database },
    report: { ...raw.report },
    ...(raw.trust ? { trust: normaliseTrust(raw.trust) } : {}),
    ...(raw.severity?.sourceOrder ? { severity: { sourceOrder: [...raw.severity.sourceOrder] } } : {}),
    exceptions: (raw.exceptions ?? []).map((exception, index) => ({
      ...exception,
      origin: `${file}:${lineAt(["exceptions", String(index)])}`,
    })),
    source: file,
  };
}

function normaliseTrust(raw: NonNullable<RawPolicy["trust"]>): NonNullable<Policy["trust"]> {
  return {
    ...(raw.registries
      ? { registries: raw.registries.map((entry) => (typeof entry === "string" ? { prefix: entry } : { ...entry })) }
      : {}),
    ...(raw.signatures
      ? { signatures: raw.signatures.map((entry) => ({ ...entry, required: entry.required ?? false })) }
      : {}),
    ...(raw.requireSignature ? { requireSignature: true } : {}),
  };
}

/** Keys, certificates and subject patterns must parse when the policy loads, not at the first signed image. */
function checkTrustMaterial(raw: RawPolicy, lineAt: (path: string[]) => number): SchemaIssue | undefined {
  for (const [index, entry] of (raw.trust?.signatures ?? []).entries()) {
    const where = `trust.signatures[${index}]`;
    const at = (field: string) => lineAt(["trust", "signatures", String(index), field]);
    try {
      parsePublicKeys(entry.keys ?? [], where);
    } catch (error) {
      return { line: at("keys"), field: `${where}.keys`, message: (error as Error).message.replace(/^\S+ /, "") };
    }
    for (const field of ["certificates", "signingAuthorities", "timestampAuthorities"] as const) {
      try {
        parseTrustStore(entry[field] ?? [], where, field);
      } catch (error) {
        return { line: at(field), field: `${where}.${field}`, message: (error as Error).message.replace(/^\S+ /, "") };
      }
    }
    for (const [position, identity] of (entry.identities ?? []).entries()) {
      try {
        new RegExp(identity.subject);
      } catch {
        return {
          line: at("identities"),
          field: `${where}.identities[${position}].subject`,
          message: "is not a valid regular expression",
        };
      }
    }
  }
  return undefined;
}
