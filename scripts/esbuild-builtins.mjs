// An esbuild plugin for the CLI and core bundles (cli/scripts/build.mjs, core/scripts/bundle-scan.mjs):
// Node's built-in modules are taken with process.getBuiltinModule() instead of `import ... from "node:x"`.
// An ES module import of a built-in builds its ES module facade, which reads every export, and some
// exports are getters that load more: `import { readFileSync } from "node:fs"` loads the whole stream
// stack (fs.ReadStream), `import { createHash } from "node:crypto"` loads WebCrypto. Taken as the
// CommonJS object (esbuild then reads each export where it is used), a built-in costs only its own
// loading, and nothing goes through the ES module loader. Measured in the commit that added this.
// process.getBuiltinModule exists since Node 20.16 and 22.3 (engines: >= 20.19).
import { builtinModules } from "node:module";

const BUILTINS = new Set(builtinModules);

/**
 * `deferred`: built-ins a bundled package requires at load time but uses only in a path the CLI never
 * takes, as { builtin: { importer: RegExp, functions: [names] } }; for that importer they load on the
 * first call instead (commander's child_process, for executable subcommands, which pulls in net and dgram).
 */
export function builtinsAsObjects({ deferred = {} } = {}) {
  return {
    name: "builtins-as-objects",
    setup(build) {
      build.onResolve({ filter: /^(node:)?[a-z_/0-9]+$/ }, (args) => {
        const name = args.path.replace(/^node:/, "");
        if (!BUILTINS.has(name)) return undefined;
        const lazy = deferred[name]?.importer.test(args.importer);
        return { path: name, namespace: lazy ? "node-builtin-deferred" : "node-builtin" };
      });
      build.onLoad({ filter: /.*/, namespace: "node-builtin" }, (args) => ({
        contents: `module.exports = process.getBuiltinModule(${JSON.stringify(`node:${args.path}`)});`,
        loader: "js",
      }));
      build.onLoad({ filter: /.*/, namespace: "node-builtin-deferred" }, (args) => {
        const load = `(loaded ??= process.getBuiltinModule(${JSON.stringify(`node:${args.path}`)}))`;
        const functions = deferred[args.path].functions.map((fn) => `  ${fn}: (...args) => ${load}.${fn}(...args),`);
        return { contents: `let loaded;\nmodule.exports = {\n${functions.join("\n")}\n};\n`, loader: "js" };
      });
    },
  };
}
