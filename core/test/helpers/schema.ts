/**
 * Validators for the official JSON schemas every report and package format is checked against.
 * One place knows each schema's draft and its quirks, so every test validates the same way.
 */
import { readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { sharedPath } from "./shared.js";

type AnyAjv = Ajv | Ajv2019 | Ajv2020;

// ajv-formats is CommonJS; under NodeNext its default export arrives as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: AnyAjv,
) => AnyAjv;

function readSchema(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
}

function withFormats<T extends AnyAjv>(ajv: T): T {
  addFormats(ajv);
  return ajv;
}

/** Draft 2020-12 schemas (ours, OpenVEX). */
export function compileSchema2020(file: string): ValidateFunction {
  return withFormats(new Ajv2020({ allErrors: true, strict: false })).compile(readSchema(file));
}

/** Draft-07 schemas (GitLab's report and CI config, SchemaStore's action/workflow/bamboo/CircleCI). */
export function compileDraft07(file: string): ValidateFunction {
  return withFormats(new Ajv({ allErrors: true, strict: false })).compile(readSchema(file));
}

/**
 * Draft-04 schemas (SARIF 2.1.0, Azure's tasks.schema.json), which ajv 8 does not load. They use no
 * keyword whose meaning changed since (no boolean exclusive bounds), so `id` becomes `$id` and they
 * are compiled as draft-07 with the same rules. Azure's patterns escape characters needlessly
 * (`connectedService\:`), which unicode-mode RegExps reject, hence `unicodeRegExp: false`.
 */
export function compileDraft04(file: string): ValidateFunction {
  const schema = readSchema(file);
  if (/"exclusiveM(?:in|ax)imum"\s*:\s*(?:true|false)/.test(JSON.stringify(schema))) {
    throw new Error(`${file} uses draft-04 boolean exclusive bounds; install ajv-draft-04`);
  }
  const { id, $schema: _draft04, ...rest } = schema;
  const ajv = withFormats(new Ajv({ allErrors: true, strict: false, unicodeRegExp: false }));
  return ajv.compile({ ...rest, $id: id as string, $schema: "http://json-schema.org/draft-07/schema#" });
}

/** SARIF 2.1.0 (draft-04). */
export const compileSarif = compileDraft04;

/**
 * CycloneDX 1.6 is draft-07 and refers to spdx.schema.json and jsf-0.82.schema.json by relative $id.
 * ajv-formats lacks the IRI/IDN formats it uses and ajv would ignore them silently, so looser checks
 * that still reject whitespace and missing parts stand in for them.
 */
export function cycloneDx16Validator(): ValidateFunction {
  const ajv = withFormats(new Ajv({ allErrors: true, strict: false }));
  ajv.addFormat("iri-reference", (value: string) => !/\s/.test(value));
  ajv.addFormat("idn-email", (value: string) => /^[^\s@]+@[^\s@]+$/.test(value));
  ajv.addSchema(readSchema(sharedPath("schemas/cyclonedx/spdx.schema.json")));
  ajv.addSchema(readSchema(sharedPath("schemas/cyclonedx/jsf-0.82.schema.json")));
  return ajv.compile(readSchema(sharedPath("schemas/cyclonedx/bom-1.6.schema.json")));
}

/** SPDX 2.3 ships the same schema as draft 2019-09 and as draft-07; both must accept our documents. */
export function spdx23Validators(): { draft07: ValidateFunction; draft2019: ValidateFunction } {
  return {
    draft07: compileDraft07(sharedPath("schemas/spdx/spdx-2.3-schema.draft07.json")),
    draft2019: withFormats(new Ajv2019({ allErrors: true, strict: false })).compile(
      readSchema(sharedPath("schemas/spdx/spdx-2.3-schema.json")),
    ),
  };
}

export function errorsOf(validate: ValidateFunction): string {
  return JSON.stringify(validate.errors?.slice(0, 10), null, 1);
}
