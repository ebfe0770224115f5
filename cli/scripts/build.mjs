// Builds the `stowaway` command as one ES module, dist/main.js: the CLI's sources, commander and
// the report format names and the log neutraliser are bundled, so `stowaway --version` and `--help` read a single file.
// @stowaway/core stays an ordinary dependency, loaded with import() by the command that runs
// (core is a library in its own right and ships its own files and schemas).
// Usage: node scripts/build.mjs [outDir]
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { builtinsAsObjects } from "../../scripts/esbuild-builtins.mjs";

const cliDir = fileURLToPath(new URL("..", import.meta.url));
const repoDir = path.resolve(cliDir, "..");
const outDir = path.resolve(process.argv[2] ?? path.join(cliDir, "dist"));

/**
 * `@stowaway/core/formats` (a few constants) and `@stowaway/core/log-safety` (the log neutraliser, which
 * every error line needs) import nothing: bundled from source. The rest of core stays external.
 */
const coreBoundary = {
  name: "core-boundary",
  setup(builder) {
    builder.onResolve({ filter: /^@stowaway\/core\/formats$/ }, () => ({
      path: path.join(repoDir, "core/src/report/format-names.ts"),
    }));
    builder.onResolve({ filter: /^@stowaway\/core\/log-safety$/ }, () => ({
      path: path.join(repoDir, "core/src/report/neutralize.ts"),
    }));
    builder.onResolve({ filter: /^@stowaway\/core(\/.*)?$/ }, (args) => ({ path: args.path, external: true }));
  },
};

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

await build({
  entryPoints: [path.join(cliDir, "src/main.ts")],
  outfile: path.join(outDir, "main.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // commander is CommonJS and calls require() for node: built-ins; an ES module has no require.
  banner: {
    js: 'import { createRequire as __stowawayCreateRequire } from "node:module";\nconst require = __stowawayCreateRequire(import.meta.url);',
  },
  plugins: [
    coreBoundary,
    // commander spawns only for executable subcommands, which the CLI has none of.
    builtinsAsObjects({
      deferred: { child_process: { importer: /node_modules[\\/]commander[\\/]/, functions: ["spawn"] } },
    }),
  ],
  legalComments: "eof",
  logLevel: "warning",
});
