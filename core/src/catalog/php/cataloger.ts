import { buildNamespacedPurl } from "../purl.js";
import type { FileCataloger, PackageCandidate } from "../types.js";
import {
  decodeText,
  isRecord,
  manifestCataloger,
  nonEmptyString,
  type ManifestParse,
} from "../lang/manifest-cataloger.js";

const NAME = "php";
const MAX_INSTALLED_BYTES = 32 * 1024 * 1024;
/** `<vendor-dir>/composer/installed.json`; the vendor dir is configurable, so only the tail is fixed. */
const INSTALLED_JSON = /(?:^|\/)composer\/installed\.json$/;

export function isComposerInstalled(path: string): boolean {
  return path.endsWith("/installed.json") && INSTALLED_JSON.test(path);
}

function licensesOf(value: unknown): string[] | undefined {
  const list = (Array.isArray(value) ? value : [value]).map(nonEmptyString).filter((v): v is string => !!v);
  return list.length > 0 ? [...new Set(list)] : undefined;
}

/**
 * Composer's record of what it installed: an array of packages (Composer 1) or
 * `{packages: [...], dev: bool, "dev-package-names": [...]}` (Composer 2). Dev packages are
 * installed files too, so they are kept and marked.
 */
export function parseInstalledJson(content: Buffer, path: string): ManifestParse {
  let data: unknown;
  try {
    data = JSON.parse(decodeText(content));
  } catch (error) {
    return { packages: [], problems: [`malformed JSON: ${(error as Error).message}`] };
  }
  const list = Array.isArray(data) ? data : isRecord(data) && Array.isArray(data.packages) ? data.packages : undefined;
  if (!list) return { packages: [], problems: ["neither a package array nor a packages list"] };
  const devNames = new Set(
    isRecord(data) && Array.isArray(data["dev-package-names"])
      ? data["dev-package-names"].filter((n) => typeof n === "string")
      : [],
  );
  const packages: PackageCandidate[] = [];
  const problems: string[] = [];
  for (const entry of list) {
    const name = isRecord(entry) ? nonEmptyString(entry.name) : undefined;
    const version = isRecord(entry) ? nonEmptyString(entry.version) : undefined;
    if (!isRecord(entry) || !name || !version) {
      problems.push("package without name or version");
      continue;
    }
    const slash = name.indexOf("/");
    const metadata: Record<string, unknown> = {};
    const normalized = nonEmptyString(entry.version_normalized);
    if (normalized) metadata.versionNormalized = normalized;
    if (devNames.has(name)) metadata.dev = true;
    const candidate: PackageCandidate = {
      name,
      version,
      type: "composer",
      ecosystem: "Packagist",
      purl: buildNamespacedPurl("composer", name, slash, version),
      locations: [path],
    };
    const licenses = licensesOf(entry.license);
    if (licenses) candidate.licenses = licenses;
    if (Object.keys(metadata).length > 0) candidate.metadata = metadata;
    packages.push(candidate);
  }
  return { packages, problems };
}

export function createPhpCataloger(): FileCataloger {
  return manifestCataloger({
    name: NAME,
    version: 1,
    matches: isComposerInstalled,
    maxBytes: MAX_INSTALLED_BYTES,
    parse: parseInstalledJson,
  });
}
