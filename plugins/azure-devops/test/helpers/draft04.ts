import { readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

/**
 * tasks.schema.json declares draft-04, which ajv 8 does not load. It uses no keyword whose meaning
 * changed since (no boolean exclusive bounds), so `id` becomes `$id` and the schema is compiled as
 * draft-07 with the same rules. Its patterns escape characters needlessly (`connectedService\:`),
 * which JavaScript rejects in unicode mode, so they are compiled without the `u` flag.
 */
export function compileDraft04(file: string): ValidateFunction {
  const schema = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  if (/"exclusiveM(?:in|ax)imum"\s*:\s*(?:true|false)/.test(JSON.stringify(schema))) {
    throw new Error(`${file} uses draft-04 boolean exclusive bounds; install ajv-draft-04`);
  }
  const { id, $schema: _draft04, ...rest } = schema;
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  return ajv.compile({ ...rest, $id: id as string, $schema: "http://json-schema.org/draft-07/schema#" });
}
