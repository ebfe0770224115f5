import { buildPurl } from "../purl.js";
import type { PackageCandidate } from "../types.js";
import { decodeText, isRecord, nonEmptyString, type ManifestParse } from "../lang/manifest-cataloger.js";

/**
 * Reading an application's `<app>.deps.json` (the format of Microsoft.Extensions.DependencyModel):
 *
 * - `libraries` maps "Name/Version" to what resolved there; `type` says what it is: "package" (a
 *   NuGet package), "runtimepack" (the .NET runtime a self-contained app carries, keyed
 *   "runtimepack.<pack id>/<version>" by the SDK), "project" (the app itself and its project
 *   references) and "referenceassembly" (compile-time reference assemblies).
 * - `targets[<runtimeTarget.name>]` maps the same keys to the assets the host loads at run time:
 *   `runtime` (managed assemblies), `native` (native libraries), `resources` (satellite assemblies)
 *   and `runtimeTargets` (RID-specific runtime/native assets under `runtimes/<rid>/`), next to
 *   `compile` (reference assemblies, used only by the compiler) and `dependencies`.
 *
 * A library SHIPS FILES in the image when its entry in the runtime target is not `compileOnly` and
 * lists at least one `runtime`, `native`, `resources` or `runtimeTargets` asset whose file name is
 * not NuGet's empty-folder placeholder `_._`. Libraries that ship nothing (compile-only and
 * reference packages, meta-packages made only of `dependencies`, packages whose assets the SDK
 * dropped because the shared framework supersedes them, entries missing from the runtime target)
 * are not reported: their code is not in the image, so their advisories would be false positives.
 * When the file names no runtime target that exists, every target counts (an asset in any of them
 * ships); when it has no `targets` at all, nothing can be told and every library is kept.
 *
 * Runtime packs are reported under the NuGet id the .NET runtime's advisories use
 * (Microsoft.NETCore.App.Runtime.<rid>, Microsoft.AspNetCore.App.Runtime.<rid>, ...), with the
 * SDK's "runtimepack." key prefix removed. The same rules, for users: docs/catalogers.md.
 */

/** The asset groups the host copies next to the app or loads from it; `compile` is not among them. */
const SHIPPED_ASSET_GROUPS = ["runtime", "native", "resources", "runtimeTargets"] as const;
/** NuGet's marker for "this folder is intentionally empty": an asset entry that ships no file. */
const PLACEHOLDER = "_._";
const RUNTIME_PACK_PREFIX = "runtimepack.";
const REPORTED_TYPES = new Set(["package", "runtimepack"]);

type TargetEntries = Record<string, unknown>;

/** The target entries that describe what runs: the runtime target, else all of them; undefined if none. */
function runtimeTargets(data: Record<string, unknown>): TargetEntries[] | undefined {
  if (!isRecord(data.targets)) return undefined;
  const targets = data.targets;
  const runtimeName = isRecord(data.runtimeTarget) ? nonEmptyString(data.runtimeTarget.name) : undefined;
  if (runtimeName && isRecord(targets[runtimeName])) return [targets[runtimeName]];
  const all = Object.values(targets).filter(isRecord);
  return all.length > 0 ? all : undefined;
}

function isShippedAsset(assetPath: string): boolean {
  const fileName = assetPath.slice(assetPath.lastIndexOf("/") + 1);
  return fileName !== "" && fileName !== PLACEHOLDER;
}

/** The asset groups through which one target entry puts files in the image (empty: it ships none). */
function shippedAssetGroups(entry: unknown): string[] {
  if (!isRecord(entry) || entry.compileOnly === true) return [];
  return SHIPPED_ASSET_GROUPS.filter((group) => {
    const assets = entry[group];
    return isRecord(assets) && Object.keys(assets).some(isShippedAsset);
  });
}

function splitKey(key: string): { name: string; version: string } | undefined {
  const slash = key.indexOf("/");
  const name = slash > 0 ? key.slice(0, slash).trim() : "";
  const version = slash > 0 ? key.slice(slash + 1).trim() : "";
  return name && version ? { name, version } : undefined;
}

export function parseDepsJson(content: Buffer, path: string): ManifestParse {
  let data: unknown;
  try {
    data = JSON.parse(decodeText(content));
  } catch (error) {
    return { packages: [], problems: [`malformed JSON: ${(error as Error).message}`] };
  }
  if (!isRecord(data) || !isRecord(data.libraries)) return { packages: [], problems: ["no libraries object"] };
  const targets = runtimeTargets(data);
  const packages: PackageCandidate[] = [];
  const problems: string[] = [];
  for (const [key, library] of Object.entries(data.libraries)) {
    if (!isRecord(library) || typeof library.type !== "string" || !REPORTED_TYPES.has(library.type)) continue;
    const parts = splitKey(key);
    if (!parts) {
      problems.push(`library key ${JSON.stringify(key)} is not Name/Version`);
      continue;
    }
    const assets = targets && [...new Set(targets.flatMap((target) => shippedAssetGroups(target[key])))];
    if (assets && assets.length === 0) continue;
    const runtimePack = library.type === "runtimepack";
    const name =
      runtimePack && parts.name.startsWith(RUNTIME_PACK_PREFIX)
        ? parts.name.slice(RUNTIME_PACK_PREFIX.length)
        : parts.name;
    if (!name) {
      problems.push(`library key ${JSON.stringify(key)} is not Name/Version`);
      continue;
    }
    const metadata: Record<string, unknown> = {};
    if (runtimePack) metadata.runtimePack = true;
    if (assets) metadata.assets = assets;
    const sha512 = nonEmptyString(library.sha512);
    if (sha512) metadata.sha512 = sha512;
    const packagePath = nonEmptyString(library.path);
    if (packagePath) metadata.path = packagePath;
    packages.push({
      name,
      version: parts.version,
      type: "nuget",
      ecosystem: "NuGet",
      purl: buildPurl("nuget", undefined, name, parts.version),
      locations: [path],
      metadata,
    });
  }
  return { packages, problems };
}
