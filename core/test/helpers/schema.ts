import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { Ajv, ValidateFunction } from "ajv";

// ajv-formats is CommonJS; under NodeNext its default export arrives as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

/** Compiles a draft 2020-12 JSON Schema file for tests; `errorsOf` turns failures into one readable string. */
export function compileSchema2020(file: string): ValidateFunction {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(file, "utf8")) as object);
}

export function errorsOf(validate: ValidateFunction): string {
  return JSON.stringify(validate.errors, null, 1);
}
