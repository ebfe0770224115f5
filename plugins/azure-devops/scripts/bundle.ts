/**
 * Builds the task's runtime: the agent runs `node dist/index.js` from the installed extension,
 * with no repository and no node_modules, so everything the task needs must sit in its folder.
 */
import { copyFile, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const pluginDir = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const repoRoot = path.resolve(pluginDir, "../..");
export const TASK_DIR = path.join(pluginDir, "tasks/stowaway-scan");

/**
 * Core finds its JSON schemas relative to its own module (`new URL("../../schemas/x", import.meta.url)`).
 * In the bundle that module is dist/index.js, so import.meta.url is pointed two levels below dist
 * to make those lookups land in dist/schemas, where the schemas are copied.
 */
const MODULE_URL_BANNER =
  'const __stowawayModuleUrl = require("node:url").pathToFileURL(require("node:path").join(__dirname, "lib", "core", "module.js")).href;';

const OPTIONAL_CYCLONEDX_PLUGINS = ["xmlbuilder2", "ajv-formats-draft2019", "libxmljs2"];

export interface BundleOptions {
  /**
   * Leave azure-pipelines-task-lib out of the bundle, for task-lib's mock runner, which swaps the
   * library for its mock when the task `require`s it.
   */
  externalTaskLib?: boolean;
}

/** Bundles the task into `<taskDir>/dist` (the repository's task folder unless told otherwise). */
export async function bundleTask(taskDir: string = TASK_DIR, options: BundleOptions = {}): Promise<string> {
  const outDir = path.join(taskDir, "dist");
  await rm(outDir, { recursive: true, force: true });
  await build({
    entryPoints: [path.join(pluginDir, "src/main.ts")],
    outfile: path.join(outDir, "index.js"),
    bundle: true,
    platform: "node",
    target: "node20",
    // CommonJS: task-lib is CommonJS and sql.js locates its WebAssembly through __dirname.
    format: "cjs",
    minify: false,
    sourcemap: false,
    legalComments: "eof",
    logLevel: "warning",
    banner: { js: MODULE_URL_BANNER },
    define: { "import.meta.url": "__stowawayModuleUrl" },
    // Optional plugins the CycloneDX library probes for inside try/catch; none is installed or needed.
    external: [...OPTIONAL_CYCLONEDX_PLUGINS, ...(options.externalTaskLib ? ["azure-pipelines-task-lib/*"] : [])],
    // Bundling the sources keeps the task in step with the core without a prior core build.
    alias: {
      "@stowaway/core/registry": path.join(repoRoot, "core/src/registry.ts"),
      "@stowaway/core": path.join(repoRoot, "core/src/index.ts"),
    },
  });
  // The task folder may sit under a package.json with "type": "module" (this repository does).
  await writeFile(path.join(outDir, "package.json"), `${JSON.stringify({ type: "commonjs" })}\n`);
  const require = createRequire(import.meta.url);
  const sqlJsDir = path.dirname(require.resolve("sql.js"));
  await copyFile(path.join(sqlJsDir, "sql-wasm.wasm"), path.join(outDir, "sql-wasm.wasm"));
  const schemasDir = path.join(outDir, "schemas");
  await mkdir(schemasDir, { recursive: true });
  for (const name of await readdir(path.join(repoRoot, "core/schemas"))) {
    await copyFile(path.join(repoRoot, "core/schemas", name), path.join(schemasDir, name));
  }
  return path.join(outDir, "index.js");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const entry = await bundleTask();
  console.log(`bundled ${path.relative(repoRoot, entry)}`);
}
