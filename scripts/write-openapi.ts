// Writes docs/openapi.json: the service's OpenAPI 3.1 document exactly as `stowaway serve` serves it
// (core/src/service/openapi.ts plus the dashboard's read-model paths). core/test/service/openapi.test.ts
// fails when the committed file differs. Usage: npx tsx scripts/write-openapi.ts
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { openApiDocument } from "../core/src/service/openapi.js";
import { loadReadModelPaths } from "../core/src/service/server.js";

const target = fileURLToPath(new URL("../docs/openapi.json", import.meta.url));
const document = openApiDocument(await loadReadModelPaths());
writeFileSync(target, `${JSON.stringify(document, null, 2)}\n`);
console.log(`wrote ${target}: ${Object.keys(document["paths"] as object).length} paths`);
