// Builds the `stowaway` command as one ES module, dist/cli.js: the CLI's sources, commander and
// the report format names and the log neutraliser are bundled, so `stowaway --version` and `--help` read a single file.
// dist/main.js, the entry, only enables Node's compile cache and imports it: on Node >= 22.1 the
// bundle is then compiled once and read from the cache by every later run, also when dist/main.js
// is run directly (a module's code is cached only if the cache was on before it was compiled).
// @stowaway/core stays an ordinary dependency, loaded with import() by the command that runs
// (core is a library in its own right and ships its own files and schemas).
// Usage: node scripts/build.mjs [outDir]
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

/** The CLI's version, written into the bundle (src/program.ts) rather than read from package.json on every run. */
const { version } = JSON.parse(readFileSync(path.join(cliDir, "package.json"), "utf8"));

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

await build({
  entryPoints: [path.join(cliDir, "src/main.ts")],
  outfile: path.join(outDir, "cli.js"),
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
  define: { __STOWAWAY_CLI_VERSION__: JSON.stringify(version) },
  legalComments: "eof",
  logLevel: "warning",
});

writeFileSync(
  path.join(outDir, "main.js"),
  `#!/usr/bin/env node
// The stowaway command (built by cli/scripts/build.mjs): Node's compile cache (Node >= 22.1) first, then the bundle.
import module from "node:module";

module.enableCompileCache?.();
await import("./cli.js");
`,
  { mode: 0o755 },
);
