// Writes docs/openapi.json: the service's OpenAPI 3.1 document exactly as `stowaway serve` serves it
// (core/src/service/openapi.ts plus the dashboard's read-model paths). core/test/service/openapi.test.ts
// fails when the committed file differs. Usage: npx tsx scripts/write-openapi.ts
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";
import { openApiDocument } from "../core/src/service/openapi.js";
import { loadReadModelPaths } from "../core/src/service/server.js";

const target = fileURLToPath(new URL("../docs/openapi.json", import.meta.url));
const document = openApiDocument(await loadReadModelPaths());
// Formatted as `prettier --check .` (npm run lint) expects.
const config = (await resolveConfig(target)) ?? {};
writeFileSync(target, await format(JSON.stringify(document), { ...config, filepath: target }));
console.log(`wrote ${target}: ${Object.keys(document["paths"] as object).length} paths`);
