// Builds dist/bundle/: the `@stowaway/core/scan` entry (and `@stowaway/core/pipeline`, what `scan` and
// `ci` run, sharing its chunks) as a few ES modules instead of the ~100 files
// tsc emits for it. Node resolves, reads and links every module file on its own, and on a warm
// rescan that per-file cost is most of the run (README "Caching and speed"). Code that only some
// scans need (matching, the database reader, the policy, SBOM input, the other renderers, the
// registry client) stays in chunks loaded by import() when used, and so does the whole cold
// inventory (catalogers, layer walk, decoders: src/catalog-image.ts), which a warm rescan never runs. Third-party packages stay
// external, loaded from core's node_modules as before; errors.js and lazy-dependency.js stay the
// very modules the rest of core uses, so `instanceof StowawayError` holds across entry points.
// Input is tsc's output, so this runs after `tsc` (npm run build). Usage: node scripts/bundle-scan.mjs
import { readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { builtinImportsAsObjects } from "../../scripts/esbuild-builtins.mjs";

const coreDir = fileURLToPath(new URL("..", import.meta.url));
const dist = path.join(coreDir, "dist");
const outDir = path.join(dist, "bundle");
const SHARED = new Set([path.join(dist, "errors.js"), path.join(dist, "lazy-dependency.js")]);

const sharedModules = {
  name: "shared-modules",
  setup(builder) {
    builder.onResolve({ filter: /^\.\.?\// }, (args) => {
      const resolved = path.resolve(args.resolveDir, args.path);
      // Kept as imports of the unbundled files, one level up from dist/bundle/.
      if (SHARED.has(resolved)) return { path: `../${path.basename(resolved)}`, external: true };
      return undefined;
    });
  },
};

// The default analyzers' fingerprint, computed from the catalogers just compiled into dist/ (the ones
// this bundle holds), so the warm path keys the inventory cache without loading them
// (src/image-inventory.ts); tsc's unbundled output computes it at run time instead.
const { defaultAnalyzerFingerprint } = await import(pathToFileURL(path.join(dist, "catalog-image.js")).href);

/**
 * Every module some code in dist/ loads with import() (each one an entry point of its own to esbuild's
 * code splitting): the matchers, renderers, the cold inventory ...
 */
function dynamicImportTargets() {
  const targets = new Set();
  for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (!entry.isFile() || !file.endsWith(".js") || file.startsWith(`${outDir}${path.sep}`)) continue;
    for (const match of readFileSync(file, "utf8").matchAll(/\bimport\("(\.\.?\/[^"]+\.js)"\)/g)) {
      targets.add(path.resolve(path.dirname(file), match[1]));
    }
  }
  return targets;
}

/**
 * esbuild puts each module in the chunk of the entry points that reach it, so the warm rescan's
 * modules, reached by `scan` and by a different handful of the dynamic entry points each, were spread
 * over ~20 chunk files, each one more file for Node to resolve, read, compile and link (~0.6 ms each).
 * Every other entry point re-exporting the scan entry makes them all reached by the same entry points:
 * one chunk. Nothing more runs for it: a dynamic entry is only ever loaded after the scan entry or the
 * pipeline (which imports the same modules), and a star re-export never shadows a module's own exports.
 */
const scanEntry = path.join(dist, "scan-entry.js");
const sharingEntries = new Set([...dynamicImportTargets(), path.join(dist, "pipeline-entry.js")]);
sharingEntries.delete(scanEntry);
const shareScanEntry = (file) =>
  sharingEntries.has(file)
    ? `\nexport * from ${JSON.stringify(path.relative(path.dirname(file), scanEntry).replace(/^(?!\.)/, "./"))};\n`
    : "";

rmSync(outDir, { recursive: true, force: true });
await build({
  entryPoints: { scan: path.join(dist, "scan-entry.js"), pipeline: path.join(dist, "pipeline-entry.js") },
  outdir: outDir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  chunkNames: "chunk-[hash]",
  plugins: [sharedModules, builtinImportsAsObjects({ append: shareScanEntry })],
  define: { __STOWAWAY_DEFAULT_ANALYZER_FINGERPRINT__: JSON.stringify(defaultAnalyzerFingerprint()) },
  logLevel: "warning",
});
