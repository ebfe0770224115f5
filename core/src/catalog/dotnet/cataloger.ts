import { buildPurl } from "../purl.js";
import type { FileCataloger, PackageCandidate } from "../types.js";
import {
  decodeText,
  isRecord,
  manifestCataloger,
  nonEmptyString,
  type ManifestParse,
} from "../lang/manifest-cataloger.js";

const NAME = "dotnet";
/** Big applications' deps.json files run to a few megabytes. */
const MAX_DEPS_BYTES = 32 * 1024 * 1024;
const DEPS_JSON = /(?:^|\/)[^/]+\.deps\.json$/;

export function isDepsJson(path: string): boolean {
  return DEPS_JSON.test(path);
}

/**
 * An application's `<app>.deps.json`: its `libraries` map "Name/Version" to what resolved there.
 * Only type "package" entries are NuGet packages; "project" is the application itself and
 * "runtimepack" / "referenceassembly" come with the .NET runtime.
 */
export function parseDepsJson(content: Buffer, path: string): ManifestParse {
  let data: unknown;
  try {
    data = JSON.parse(decodeText(content));
  } catch (error) {
    return { packages: [], problems: [`malformed JSON: ${(error as Error).message}`] };
  }
  if (!isRecord(data) || !isRecord(data.libraries)) return { packages: [], problems: ["no libraries object"] };
  const packages: PackageCandidate[] = [];
  const problems: string[] = [];
  for (const [key, library] of Object.entries(data.libraries)) {
    if (!isRecord(library) || library.type !== "package") continue;
    const slash = key.indexOf("/");
    const name = slash > 0 ? key.slice(0, slash).trim() : "";
    const version = slash > 0 ? key.slice(slash + 1).trim() : "";
    if (!name || !version) {
      problems.push(`library key ${JSON.stringify(key)} is not Name/Version`);
      continue;
    }
    const metadata: Record<string, unknown> = {};
    const sha512 = nonEmptyString(library.sha512);
    if (sha512) metadata.sha512 = sha512;
    const packagePath = nonEmptyString(library.path);
    if (packagePath) metadata.path = packagePath;
    packages.push({
      name,
      version,
      type: "nuget",
      ecosystem: "NuGet",
      purl: buildPurl("nuget", undefined, name, version),
      locations: [path],
      ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
    });
  }
  return { packages, problems };
}

export function createDotnetCataloger(): FileCataloger {
  return manifestCataloger({
    name: NAME,
    version: 1,
    matches: isDepsJson,
    maxBytes: MAX_DEPS_BYTES,
    parse: parseDepsJson,
  });
}
