import { readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import addFormatsModule from "ajv-formats";
import { sharedPath } from "../helpers/shared.js";

// ajv-formats is CommonJS; under NodeNext its default export arrives as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv | Ajv2019,
) => void;

function schema(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(sharedPath("schemas", file), "utf8")) as Record<string, unknown>;
}

/**
 * ajv-formats lacks the IRI/IDN formats CycloneDX uses; ajv would otherwise ignore them silently.
 * These checks are looser than the RFCs but still reject whitespace and missing parts.
 */
function addIriFormats(ajv: Ajv): void {
  ajv.addFormat("iri-reference", (value: string) => !/\s/.test(value));
  ajv.addFormat("idn-email", (value: string) => /^[^\s@]+@[^\s@]+$/.test(value));
}

/** CycloneDX 1.6 is draft-07 and refers to spdx.schema.json and jsf-0.82.schema.json by relative $id. */
export function cycloneDx16Validator(): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  addIriFormats(ajv);
  ajv.addSchema(schema("cyclonedx/spdx.schema.json"));
  ajv.addSchema(schema("cyclonedx/jsf-0.82.schema.json"));
  return ajv.compile(schema("cyclonedx/bom-1.6.schema.json"));
}

/** SPDX 2.3 ships the same schema as draft 2019-09 and as draft-07; both must accept the document. */
export function spdx23Validators(): { draft07: ValidateFunction; draft2019: ValidateFunction } {
  const draft07 = new Ajv({ allErrors: true, strict: false });
  addFormats(draft07);
  const draft2019 = new Ajv2019({ allErrors: true, strict: false });
  addFormats(draft2019);
  return {
    draft07: draft07.compile(schema("spdx/spdx-2.3-schema.draft07.json")),
    draft2019: draft2019.compile(schema("spdx/spdx-2.3-schema.json")),
  };
}

export function errorsOf(validate: ValidateFunction): string {
  return JSON.stringify(validate.errors?.slice(0, 10), null, 1);
}
