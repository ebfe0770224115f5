import { buildNamespacedPurl } from "../purl.js";
import { warning } from "../warnings.js";
import type { Cataloger, PackageCandidate } from "../types.js";
import { parsePackageJson } from "./package-json.js";

const NAME = "npm";
/** Larger package.json files exist only as generated data, never as installed package manifests. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * The manifest of an installed package: `node_modules/<name>/package.json` or
 * `node_modules/@scope/<name>/package.json`, at any depth. Files deeper inside a package
 * (node_modules/x/lib/package.json) describe no installed package; dot-directories are npm's and
 * pnpm's bookkeeping (.bin, .cache, .pnpm), not packages.
 */
const INSTALLED_MANIFEST = /(?:^|\/)node_modules\/(?:@[^/.][^/]*\/)?[^/.@][^/]*\/package\.json$/;

/**
 * Tools that ship their own dependency tree. Their packages are real files but not the application's
 * dependencies and cannot be upgraded on their own, so they are flagged (docs/matching-rules.md P13; nodejs/node #56498).
 */
const BUNDLING_TOOL = /(?:^|\/)node_modules\/(?:npm|corepack|yarn|pnpm)\/(?:.*\/)?node_modules\//;

export function isInstalledManifest(path: string): boolean {
  // Asked for every file of every layer: the suffix rules out nearly all of them before the regex runs.
  return path.endsWith("/package.json") && INSTALLED_MANIFEST.test(path);
}

export function isBundledPath(path: string): boolean {
  return BUNDLING_TOOL.test(path);
}

export function createNpmCataloger(): Cataloger {
  return {
    name: NAME,
    version: 2,
    wants: (path) => isInstalledManifest(path),
    maxBytes: () => MAX_MANIFEST_BYTES,
    catalog(view, context) {
      const packages: PackageCandidate[] = [];
      for (const path of view.list(isInstalledManifest)) {
        const content = view.read(path);
        if (!content) continue;
        const result = parsePackageJson(content);
        if ("skipped" in result) {
          // A manifest without name or version is common (test fixtures inside packages) and not worth a warning.
          if (!result.skipped.startsWith("no name")) context.warnings?.push(warning(NAME, path, result.skipped));
          continue;
        }
        const { name, version, licenses, inBundle } = result.manifest;
        const slash = name.startsWith("@") ? name.indexOf("/") : -1;
        const candidate: PackageCandidate = {
          name,
          version,
          type: "npm",
          ecosystem: "npm",
          purl: buildNamespacedPurl("npm", name, slash, version),
          locations: [path],
        };
        if (licenses) candidate.licenses = licenses;
        if (isBundledPath(path) || inBundle) candidate.bundled = true;
        if (result.manifest.private) candidate.metadata = { private: true };
        packages.push(candidate);
      }
      return packages;
    },
  };
}
