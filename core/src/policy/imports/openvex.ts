import { PolicyError } from "../errors.js";
import type { VexProduct, VexStatement } from "../types.js";

const STATUSES = ["not_affected", "affected", "fixed", "under_investigation"] as const;
const JUSTIFICATIONS = [
  "component_not_present",
  "vulnerable_code_not_present",
  "vulnerable_code_not_in_execute_path",
  "vulnerable_code_cannot_be_controlled_by_adversary",
  "inline_mitigations_already_exist",
];

type Json = Record<string, unknown>;

/**
 * An OpenVEX 0.2.0 document (openvex/spec openvex_json_schema.json), checked field by field with
 * the schema's rules. One deliberate leniency: the schema requires `vulnerability.name`, but Trivy
 * and go-vex write only `vulnerability["@id"]`, so either is accepted.
 */
export function parseOpenVex(text: string, file: string): VexStatement[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new PolicyError(`${file}: not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const fail = (field: string, message: string): never => {
    throw new PolicyError(`${file}: ${field}: ${message}`);
  };
  if (!isObject(document)) return fail("(document)", "must be an OpenVEX JSON object");
  for (const field of ["@context", "@id", "author", "timestamp"]) {
    if (typeof document[field] !== "string" || document[field] === "") fail(field, "is required (a string)");
  }
  if (!String(document["@context"]).startsWith("https://openvex.dev/ns")) {
    fail("@context", `"${String(document["@context"])}" is not an OpenVEX context (https://openvex.dev/ns/...)`);
  }
  if (!Number.isInteger(document.version) || (document.version as number) < 1)
    fail("version", "must be an integer >= 1");
  const statements = document.statements;
  if (!Array.isArray(statements) || statements.length === 0) return fail("statements", "must be a non-empty list");
  const documentTime = toTimestamp(document.last_updated) ?? toTimestamp(document.timestamp);

  return statements.map((raw: unknown, index): VexStatement => {
    const at = `statements[${index}]`;
    if (!isObject(raw)) return fail(at, "must be an object");
    const vulnerability = raw.vulnerability;
    if (!isObject(vulnerability)) return fail(`${at}.vulnerability`, "is required");
    const ids = [vulnerability.name, vulnerability["@id"], ...(asArray(vulnerability.aliases) ?? [])]
      .filter((id): id is string => typeof id === "string" && id !== "")
      .flatMap(idsIn);
    if (ids.length === 0) fail(`${at}.vulnerability.name`, "is required");
    const status = raw.status;
    if (!STATUSES.includes(status as (typeof STATUSES)[number])) {
      fail(`${at}.status`, `must be one of ${STATUSES.join(", ")}`);
    }
    const justification = raw.justification;
    if (justification !== undefined && !JUSTIFICATIONS.includes(justification as string)) {
      fail(`${at}.justification`, `must be one of ${JUSTIFICATIONS.join(", ")}`);
    }
    const impact = typeof raw.impact_statement === "string" ? raw.impact_statement : undefined;
    if (status === "not_affected" && justification === undefined && impact === undefined) {
      fail(at, "a not_affected statement needs a justification or an impact_statement");
    }
    if (status === "affected" && typeof raw.action_statement !== "string") {
      fail(`${at}.action_statement`, "is required for an affected statement");
    }
    const products = (asArray(raw.products) ?? []).map((product, position) =>
      readProduct(product, `${at}.products[${position}]`, fail),
    );
    const timestamp = toTimestamp(raw.last_updated) ?? toTimestamp(raw.timestamp) ?? documentTime;
    return {
      kind: "vex",
      source: "openvex",
      origin: `${file} ${at}`,
      ids,
      status: status as VexStatement["status"],
      ...(typeof justification === "string" ? { justification } : {}),
      ...(impact ? { impactStatement: impact } : {}),
      ...(timestamp ? { timestamp } : {}),
      products,
    };
  });
}

function readProduct(raw: unknown, at: string, fail: (field: string, message: string) => never): VexProduct {
  if (!isObject(raw)) return fail(at, "must be an object");
  const purl = componentPurl(raw);
  if (purl === undefined) return fail(at, 'needs an "@id" or identifiers.purl');
  const subcomponents = (asArray(raw.subcomponents) ?? []).map((sub, index) => {
    const subPurl = isObject(sub) ? componentPurl(sub) : undefined;
    return subPurl ?? fail(`${at}.subcomponents[${index}]`, 'needs an "@id" or identifiers.purl');
  });
  return { purl, subcomponents };
}

function componentPurl(component: Json): string | undefined {
  const identifiers = component.identifiers;
  if (isObject(identifiers) && typeof identifiers.purl === "string") return identifiers.purl;
  return typeof component["@id"] === "string" ? component["@id"] : undefined;
}

/** `@id` may be a URL such as https://nvd.nist.gov/vuln/detail/CVE-2023-38545. */
function idsIn(text: string): string[] {
  const found = text.match(/\b(?:CVE-\d{4}-\d{4,}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})\b/gi) ?? [];
  return [text, ...found];
}

/** Normalised to UTC ISO so statements from different time zones compare as strings. */
function toTimestamp(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}
