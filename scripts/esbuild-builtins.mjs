// An esbuild plugin for the CLI and core bundles (cli/scripts/build.mjs, core/scripts/bundle-scan.mjs):
// Node's built-in modules are taken with process.getBuiltinModule() instead of `import ... from "node:x"`.
// An ES module import of a built-in builds its ES module facade, which reads every export, and some
// exports are getters that load more: `import { readFileSync } from "node:fs"` loads the whole stream
// stack (fs.ReadStream), `import { createHash } from "node:crypto"` loads WebCrypto. Taken as the
// CommonJS object (esbuild then reads each export where it is used), a built-in costs only its own
// loading, and nothing goes through the ES module loader. Measured in the commit that added this.
// process.getBuiltinModule exists since Node 20.16 and 22.3 (engines: >= 20.19).
import { readFile } from "node:fs/promises";
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

/** A static import of a built-in in tsc's output: `import CLAUSE from "node:x";` or `import "node:x";`. */
const BUILTIN_IMPORT = /^import\s+(?:([^;"]*?)\s+from\s+)?"(node:[^"]+)";$/gm;

/**
 * Built-ins whose every export but `constants` is a function: a named import of those functions
 * becomes a function that loads the module on its first call. node:fs/promises is then loaded by a
 * warm rescan only if it calls it (on Node 20 the ES module loader loads it anyway; on 22 and 24 not).
 */
const CALLED_LATER = new Set(["node:fs/promises"]);

/** `import CLAUSE from "node:x"` as declarations reading process.getBuiltinModule("node:x"). */
function declarations(clause, specifier) {
  const builtin = `process.getBuiltinModule(${JSON.stringify(specifier)})`;
  if (clause === undefined) return `${builtin};`;
  const named = /\{([^}]*)\}/.exec(clause);
  const single = clause
    .replace(/\{[^}]*\}/, "")
    .replace(/,\s*$/, "")
    .replace(/^\*\s+as\s+/, "")
    .trim();
  const pairs = (named?.[1] ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean)
    .map((name) => /^(\S+)(?:\s+as\s+(\S+))?$/.exec(name))
    .map((match) => [match[1], match[2] ?? match[1]]);
  if (CALLED_LATER.has(specifier) && !single && pairs.every(([name]) => name !== "constants")) {
    return pairs.map(([name, local]) => `const ${local} = (...args) => ${builtin}.${name}(...args);`).join(" ");
  }
  const out = [];
  if (single) out.push(`const ${single} = ${builtin};`);
  if (pairs.length > 0) {
    const names = pairs.map(([name, local]) => (name === local ? name : `${name}: ${local}`));
    out.push(`const { ${names.join(", ")} } = ${single || builtin};`);
  }
  return out.join(" ");
}

/**
 * As builtinsAsObjects, for a bundle with code splitting (core's): the static imports of built-ins in
 * tsc's output are rewritten in place into declarations, `import { open } from "node:fs/promises"`
 * into `const { open } = process.getBuiltinModule("node:fs/promises")`, instead of resolving to a
 * module of their own, which esbuild would put in a chunk of its own (one more file to load per
 * built-in). Only the named exports are read, so fs's stream getters are not. Dynamic import() of a
 * built-in is left as it is.
 */
export function builtinImportsAsObjects({ append = () => "" } = {}) {
  return {
    name: "builtin-imports-as-objects",
    setup(build) {
      build.onLoad({ filter: /\.js$/ }, async (args) => {
        if (/[\\/]node_modules[\\/]/.test(args.path)) return undefined;
        const source = await readFile(args.path, "utf8");
        return {
          contents:
            source.replace(BUILTIN_IMPORT, (_, clause, specifier) => declarations(clause, specifier)) +
            append(args.path),
          loader: "js",
        };
      });
    },
  };
}
