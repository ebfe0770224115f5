import { readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

/** Draft-07 schemas (GitLab's report format) with ajv's default class. */
export function compileDraft07(file: string): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(file, "utf8")) as object);
}

/**
 * The SARIF 2.1.0 schema declares draft-04, which ajv 8 does not load (that needs the ajv-draft-04
 * package, not installed). The schema uses no keyword whose meaning changed after draft-04 (no
 * boolean exclusiveMinimum/Maximum), so renaming `id` to `$id` and declaring draft-07 validates the
 * same rules.
 */
export function compileSarif(file: string): ValidateFunction {
  const schema = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const text = JSON.stringify(schema);
  if (/"exclusiveM(?:in|ax)imum"\s*:\s*(?:true|false)/.test(text)) {
    throw new Error("the SARIF schema now uses draft-04 boolean exclusive bounds; install ajv-draft-04");
  }
  const { id, $schema: _ignored, ...rest } = schema;
  return compileDraft07FromObject({ ...rest, $id: id, $schema: "http://json-schema.org/draft-07/schema#" });
}

function compileDraft07FromObject(schema: object): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(schema);
}
