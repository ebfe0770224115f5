import { untouchedPackagesJson } from "../catalog/packages-json.js";
import type { ScanResult } from "../result.js";
import { jsonLogSafe, redactArtifact, redactResult } from "./escape.js";

/**
 * The contract document. It always holds every finding whatever the report filter, because other
 * tools read it back (baselines, conversion to other formats); only secret values in build history
 * are redacted. It is printed to CI logs as is, so it is log-safe (docs/log-safety.md) while parsing
 * to the same value.
 */
export function renderJson(result: ScanResult): string {
  const packages = untouchedPackagesJson(result);
  const json =
    packages === undefined ? JSON.stringify(redactResult(result), null, 2) : withPackagesText(result, packages);
  return `${jsonLogSafe(json)}\n`;
}

/**
 * JSON.stringify(redactResult(result), null, 2), member by member, with the packages' JSON text as
 * stored (a warm rescan's: catalog/packages-json.ts) instead of the array parsed and serialized
 * again. result.packages is never read here, so it stays unparsed.
 */
function withPackagesText(result: ScanResult, packages: string): string {
  const members: string[] = [];
  for (const key of Object.keys(result) as (keyof ScanResult)[]) {
    if (key === "packages") {
      members.push(`  "packages": ${packages}`);
      continue;
    }
    const value = key === "artifact" ? redactArtifact(result.artifact) : result[key];
    const json = JSON.stringify(value, null, 2) as string | undefined;
    // As JSON.stringify itself: a member whose value has no JSON form (undefined) is left out.
    if (json !== undefined) members.push(`  ${JSON.stringify(key)}: ${json.replaceAll("\n", "\n  ")}`);
  }
  return `{\n${members.join(",\n")}\n}`;
}
