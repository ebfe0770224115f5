import { readFileSync } from "node:fs";
import type * as Ajv2020Module from "ajv/dist/2020.js";
import type addFormatsModule from "ajv-formats";
import type { Ajv, ErrorObject, ValidateFunction } from "ajv";
import { lineOf, type LineMap } from "./yaml-lines.js";
import { lazyDependency } from "../lazy-dependency.js";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see lazyDependency
const ajv2020 = lazyDependency<typeof Ajv2020Module>("ajv/dist/2020.js", () => require("ajv/dist/2020.js"));
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see lazyDependency
const ajvFormats = lazyDependency<typeof addFormatsModule>("ajv-formats", () => require("ajv-formats"));

// ajv-formats is CommonJS; under NodeNext its default export arrives as the module object.
const addFormats = (ajv: Ajv): Ajv => {
  const module = ajvFormats();
  return (((module as unknown as { default?: unknown }).default ?? module) as (ajv: Ajv) => Ajv)(ajv);
};

/** The published schema, beside `src/` and `dist/` alike. */
export const POLICY_SCHEMA_URL = new URL("../../schemas/policy.schema.json", import.meta.url);

export interface SchemaIssue {
  line: number;
  /** "gate.failOn", "exceptions[0].expires" */
  field: string;
  message: string;
}

let compiled: ValidateFunction | undefined;

function policyValidator(): ValidateFunction {
  if (!compiled) {
    const ajv = new (ajv2020().Ajv2020)({ allErrors: true, strict: false });
    addFormats(ajv);
    compiled = ajv.compile(JSON.parse(readFileSync(POLICY_SCHEMA_URL, "utf8")) as object);
  }
  return compiled;
}

/** Every schema problem of `document`, placed on the line the YAML wrote it, in line order. */
export function validatePolicyDocument(document: unknown, lines: LineMap): SchemaIssue[] {
  const validate = policyValidator();
  if (validate(document)) return [];
  const seen = new Set<string>();
  const issues: SchemaIssue[] = [];
  for (const error of validate.errors ?? []) {
    // if/then/else only repeats the error of the branch it chose.
    if (error.keyword === "if") continue;
    const issue = describe(error, lines);
    const key = `${issue.line}\u0000${issue.field}\u0000${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(issue);
    }
  }
  return issues.sort((a, b) => a.line - b.line);
}

function describe(error: ErrorObject, lines: LineMap): SchemaIssue {
  const params = error.params as Record<string, unknown>;
  let path = error.instancePath;
  let message = error.message ?? "is invalid";
  switch (error.keyword) {
    case "additionalProperties":
      path = `${path}/${String(params.additionalProperty)}`;
      message = "is not a known field";
      break;
    case "required":
      path = `${path}/${String(params.missingProperty)}`;
      message = "is required";
      break;
    case "enum":
      message = `must be one of ${(params.allowedValues as unknown[]).map(String).join(", ")}`;
      break;
    case "const":
      message = `must be ${JSON.stringify(params.allowedValue)}`;
      break;
    case "format":
    case "pattern":
      if (/expires$/.test(path)) message = "must be a date written YYYY-MM-DD";
      break;
    case "minProperties":
      message = "must name at least one of its fields";
      break;
  }
  const line = error.keyword === "required" ? lineOf(lines, error.instancePath) : lineOf(lines, path);
  return { line, field: fieldName(path), message };
}

/** "/exceptions/0/expires" → "exceptions[0].expires" */
export function fieldName(pointerPath: string): string {
  if (pointerPath === "") return "(document)";
  return pointerPath
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((name, part) => (/^\d+$/.test(part) ? `${name}[${part}]` : name ? `${name}.${part}` : part), "");
}
