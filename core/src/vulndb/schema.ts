import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { Ajv, ErrorObject, ValidateFunction } from "ajv";

// ajv-formats is CommonJS; under NodeNext its default export arrives as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

// src/vulndb and dist/vulndb sit at the same depth, so the packaged schema is found from both.
const SCHEMA_URL = new URL("../../schemas/osv-schema.json", import.meta.url);

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    compiled = ajv.compile(JSON.parse(readFileSync(SCHEMA_URL, "utf8")) as object);
  }
  return compiled;
}

function describe(error: ErrorObject): string {
  const where = error.instancePath || "/";
  return `${where} ${error.message ?? "is invalid"}`;
}

const SEVERITY_SCORE = /^(?:\/affected\/\d+)?\/severity\/\d+(?:\/score)?$/;

export interface OsvSchemaVerdict {
  /** The first violation that makes the record unusable, as "path message". */
  fatal?: string;
  /** Severity vectors outside the schema's patterns; the record stays, the vector is scored leniently or skipped. */
  severityIssues: string[];
}

/**
 * Checks `value` against the OSV schema. A malformed severity vector (GHSA ships some with a trailing
 * "/") does not make the affected ranges wrong, and dropping the whole advisory for it would hide a
 * real vulnerability, so those violations are reported apart from fatal ones.
 */
export function checkOsvSchema(value: unknown): OsvSchemaVerdict {
  const validate = validator();
  if (validate(value)) return { severityIssues: [] };
  const errors = validate.errors ?? [];
  const severity = errors.filter((error) => SEVERITY_SCORE.test(error.instancePath));
  const fatal = errors.find((error) => !SEVERITY_SCORE.test(error.instancePath));
  return {
    ...(fatal ? { fatal: describe(fatal) } : errors.length === 0 ? { fatal: "does not match the OSV schema" } : {}),
    severityIssues: [...new Set(severity.filter((e) => e.keyword === "pattern" || e.keyword === "enum").map(describe))],
  };
}
