// Bundles the action into dist/: the runner executes dist/index.js from a plain checkout, with no
// npm install, so everything it needs (core, @actions/*, sql.js and its .wasm, core's JSON schemas)
// must sit in that folder. Usage: node scripts/build.mjs [outDir]
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const pluginDir = fileURLToPath(new URL("..", import.meta.url));
const repoDir = path.resolve(pluginDir, "../..");
const outDir = path.resolve(process.argv[2] ?? path.join(pluginDir, "dist"));
const requireFromCore = createRequire(path.join(repoDir, "core/package.json"));

// Core reads files next to its sources (`new URL("../../schemas/x.json", import.meta.url)`). In the
// bundle import.meta.url is dist/index.js, so each such file is copied to dist/assets/ and the URL
// rewritten to point there.
const relocateAssets = {
  name: "relocate-core-assets",
  setup(builder) {
    const coreSources = path.join(repoDir, "core/src");
    builder.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(coreSources)) return undefined;
      const source = readFileSync(args.path, "utf8");
      if (!source.includes("import.meta.url")) return undefined;
      const contents = source.replace(/new URL\("([^"]+)", import\.meta\.url\)/g, (_match, relative) => {
        const asset = path.resolve(path.dirname(args.path), relative);
        mkdirSync(path.join(outDir, "assets"), { recursive: true });
        writeFileSync(path.join(outDir, "assets", path.basename(asset)), readFileSync(asset));
        return `new URL("./assets/${path.basename(asset)}", import.meta.url)`;
      });
      return { contents, loader: "ts" };
    });
  },
};

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

await build({
  entryPoints: [path.join(pluginDir, "src/main.ts")],
  outfile: path.join(outDir, "index.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // Bundling from core's sources keeps the action independent of whether core/dist is built.
  alias: { "@stowaway/core": path.join(repoDir, "core/src/index.ts") },
  // CommonJS dependencies call require() and use __dirname (sql.js finds its .wasm through it);
  // an ES module has neither, so they are recreated from import.meta.url.
  banner: {
    js: [
      'import { createRequire as __stowawayCreateRequire } from "node:module";',
      'import { fileURLToPath as __stowawayFileURLToPath } from "node:url";',
      "const require = __stowawayCreateRequire(import.meta.url);",
      "const __filename = __stowawayFileURLToPath(import.meta.url);",
      'const __dirname = __stowawayFileURLToPath(new URL(".", import.meta.url));',
    ].join("\n"),
  },
  // Optional plugins the CycloneDX library probes for inside try/catch; core only writes CycloneDX JSON.
  external: ["xmlbuilder2", "libxmljs2", "ajv-formats-draft2019"],
  plugins: [relocateAssets],
  legalComments: "eof",
  minify: true,
  logLevel: "warning",
});

writeFileSync(path.join(outDir, "sql-wasm.wasm"), readFileSync(requireFromCore.resolve("sql.js/dist/sql-wasm.wasm")));
// Marks index.js as an ES module even where no package.json is above it (a copied dist/).
writeFileSync(path.join(outDir, "package.json"), `${JSON.stringify({ type: "module" }, null, 2)}\n`);
