// Bundles the dashboard's client (client/app.js with uPlot) and stylesheet (client/style.css with
// uPlot's) into core/dist/dashboard/app.js and app.css with esbuild: two static files the handler
// serves from its own origin, so the strict CSP needs no exception (docs/dashboard.md "Assets").
// Usage: node src/service/dashboard/build-assets.mjs [outDir]   (run by core's `npm run build`)
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const coreDir = path.resolve(here, "../../..");
const outDir = path.resolve(process.argv[2] ?? path.join(coreDir, "dist/dashboard"));
mkdirSync(outDir, { recursive: true });

await build({
  entryPoints: { app: path.join(here, "client/app.js") },
  outdir: outDir,
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  legalComments: "eof",
  logLevel: "warning",
});
await build({
  entryPoints: { app: path.join(here, "client/style.css") },
  outdir: outDir,
  bundle: true,
  minify: true,
  logLevel: "warning",
});
