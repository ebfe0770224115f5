import type { IncomingMessage } from "node:http";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { HttpProblem } from "./problem.js";
import { requestSchemas } from "./openapi.js";

const DOCUMENT_ID = "https://stowaway.invalid/service-openapi";

let ajv: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction>();

/** The validator of one component schema of the OpenAPI document (compiled once). */
function validator(name: string): ValidateFunction {
  let validate = compiled.get(name);
  if (validate) return validate;
  if (!ajv) {
    ajv = new Ajv2020({ allErrors: true, strict: false });
    ajv.addSchema({ $id: DOCUMENT_ID, components: { schemas: requestSchemas() } });
  }
  validate = ajv.getSchema(`${DOCUMENT_ID}#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name}`);
  compiled.set(name, validate);
  return validate;
}

function describe(error: ErrorObject): { pointer: string; detail: string } {
  const pointer = error.instancePath || "/";
  if (error.keyword === "additionalProperties") {
    const field = String((error.params as { additionalProperty: string }).additionalProperty);
    return { pointer: `${error.instancePath}/${field}`, detail: `unknown field "${field}"` };
  }
  return { pointer, detail: error.message ?? "is not valid" };
}

/** Checks `value` against the named schema; a mismatch is a 422 listing every field problem. */
export function validateBody<T>(name: string, value: unknown): T {
  const validate = validator(name);
  if (validate(value)) return value as T;
  const errors = (validate.errors ?? [])
    // oneOf repeats its branches' errors; the summary line says enough.
    .filter((error) => !error.schemaPath.includes("/oneOf/"))
    .map(describe);
  const first = errors[0];
  throw new HttpProblem(
    422,
    `the request body does not match ${name}: ${first ? `${first.pointer} ${first.detail}` : "invalid"}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ""}`,
    { errors },
  );
}

/** Reads the body up to `limit` bytes: 413 past it (without reading further), whatever the Content-Length says. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new HttpProblem(413, `the request body is ${declared} bytes; at most ${limit} are accepted`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw new HttpProblem(413, `the request body is over ${limit} bytes, the most accepted`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The media type of the request, lower-cased and without parameters. */
export function mediaType(req: IncomingMessage): string {
  return String(req.headers["content-type"] ?? "")
    .split(";")[0]!
    .trim()
    .toLowerCase();
}

/** Parses a JSON body; 400 when it is not JSON. */
export function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new HttpProblem(400, `the request body is not valid JSON (${(error as Error).message.split("\n")[0]})`);
  }
}

/** A JSON body checked against `schema`: 415 for another media type, 400 malformed, 422 mismatched. */
export async function jsonBody<T>(req: IncomingMessage, limit: number, schema: string): Promise<T> {
  const type = mediaType(req);
  if (type !== "application/json") {
    throw new HttpProblem(415, `send the body as application/json (got "${type || "no Content-Type"}")`, {
      headers: { "accept-post": "application/json" },
    });
  }
  return validateBody<T>(schema, parseJson(await readBody(req, limit)));
}
