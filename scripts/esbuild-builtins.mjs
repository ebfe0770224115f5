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
 * Exports that are plain functions, called only after the module importing them was evaluated: a
 * named import of one becomes a function that loads its built-in on the first call, so a warm rescan
 * loads a built-in only if it calls into it (node:fs/promises: on Node 20 the ES module loader loads
 * it anyway; on 22 and 24 not). `true`: every export but `constants`. Classes stay as they are
 * (`extends` reads them when the module is evaluated; core/src/lazy-base-class.ts is for ours).
 */
const CALLED_LATER = {
  "node:fs/promises": true,
  "node:stream/promises": true,
  "node:stream": new Set(["pipeline", "finished", "compose", "addAbortSignal"]),
};

const calledLater = (specifier, name) =>
  CALLED_LATER[specifier] === true ? name !== "constants" : CALLED_LATER[specifier]?.has(name) === true;

/**
 * Built-ins imported whole (`import os from "node:os"`) for functions called while scanning, never
 * while a module is evaluated: the binding is a stand-in that loads the built-in on its first
 * property read (node:os: the temp directory, which a scan given a cache directory never asks for).
 */
const READ_LATER = new Set(["node:os"]);

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
  const out = [];
  if (single && READ_LATER.has(specifier) && pairs.length === 0) {
    out.push(`const ${single} = new Proxy({}, { get: (_, name) => ${builtin}[name] });`);
  } else if (single) out.push(`const ${single} = ${builtin};`);
  const later = pairs.filter(([name]) => calledLater(specifier, name));
  const now = pairs.filter(([name]) => !calledLater(specifier, name));
  out.push(...later.map(([name, local]) => `const ${local} = (...args) => ${builtin}.${name}(...args);`));
  if (now.length > 0) {
    const names = now.map(([name, local]) => (name === local ? name : `${name}: ${local}`));
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
