import { createRequire } from "node:module";

const nodeRequire = createRequire(import.meta.url);

/**
 * A CommonJS dependency loaded on its first use instead of when core is imported (README "Caching
 * and speed"): a warm rescan or `stowaway sbom -f json` never pays for the CycloneDX library, js-yaml,
 * ajv, xml2js or packageurl unless it renders or parses with them.
 *
 * `bundled` is `() => require("name")` written out at the call site. Bundlers (esbuild builds the
 * GitHub Action and the Azure task from core's sources) see that literal require, include the
 * package and still evaluate it only when called; core's own ES modules have no `require`, so there
 * the package is loaded through createRequire from core's folder.
 */
export function lazyDependency<T>(specifier: string, bundled: () => unknown): () => T {
  let loaded: T | undefined;
  return () => {
    if (loaded === undefined) loaded = (typeof require === "function" ? bundled() : nodeRequire(specifier)) as T;
    return loaded;
  };
}
