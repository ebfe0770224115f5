import { jsonText, packagesJsonLogSafe, untouchedPackagesJson } from "../catalog/packages-json.js";
import type { ScanResult } from "../result.js";
import { copyStoredPackages, readStoredPackages, storedPackagesOf } from "../stored-packages.js";
import { runBytes, type ContentRun } from "../write-atomic.js";
import { jsonLogSafe, redactArtifact, redactResult } from "./escape.js";
import { jsonLogSafeAlready } from "./neutralize.js";

/**
 * The contract document. It always holds every finding whatever the report filter, because other
 * tools read it back (baselines, conversion to other formats); only secret values in build history
 * are redacted. It is printed to CI logs as is, so it is log-safe (docs/log-safety.md) while parsing
 * to the same value.
 */
export function renderJson(result: ScanResult): string {
  const stored = storedPackagesOf(result);
  if (stored !== undefined) return documentWith(result, jsonLogSafe(readStoredPackages(stored).toString("utf8")));
  const packages = untouchedPackagesJson(result);
  if (packages !== undefined) return documentWith(result, jsonLogSafe(jsonText(packages)));
  return `${jsonLogSafe(JSON.stringify(redactResult(result), null, 2))}\n`;
}

/**
 * renderJson's document as UTF-8 runs, to be written one after the other. A package list still as
 * the bytes a warm rescan read (catalog/packages-json.ts) is one of them, as it is, when it needs no
 * log-safety escape (known so from the inventory cache, else told by a byte search), so it is neither
 * decoded, nor scanned by the neutraliser's regex, nor encoded, nor even copied: over a megabyte the
 * process then never touches. Still in the inventory cache's file (stored-packages.ts), it is a
 * deferred run, copied from that file into the report through a small buffer.
 */
export function renderJsonParts(result: ScanResult): ContentRun[] {
  const stored = storedPackagesOf(result);
  if (stored?.logSafe) {
    const [before, after] = documentWith(result, "\0").split("\0") as [string, string];
    const run = {
      byteLength: stored.size,
      writeTo: (fd: number) => copyStoredPackages(stored, fd),
      bytes: () => readStoredPackages(stored),
    };
    return [Buffer.from(before), run, Buffer.from(after)];
  }
  if (stored) return [Buffer.from(renderJson(result))];
  const packages = untouchedPackagesJson(result);
  if (
    packages === undefined ||
    typeof packages === "string" ||
    !(packagesJsonLogSafe(result) || jsonLogSafeAlready(packages))
  )
    return [Buffer.from(renderJson(result))];
  const [before, after] = documentWith(result, "\0").split("\0") as [string, string];
  return [Buffer.from(before), packages, Buffer.from(after)];
}

/** renderJson's document as UTF-8 (renderJsonParts in one buffer). */
export function renderJsonBytes(result: ScanResult): Uint8Array {
  const parts = renderJsonParts(result).map(runBytes);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/**
 * jsonLogSafe(JSON.stringify(redactResult(result), null, 2)) + "\n", member by member, with
 * `packages` (the package list's JSON, already log-safe) in place of result.packages, which is never
 * read here and so stays unparsed. jsonLogSafe can go member by member since no member starts or
 * ends with "#".
 */
function documentWith(result: ScanResult, packages: string): string {
  const members: string[] = [];
  for (const key of Object.keys(result) as (keyof ScanResult)[]) {
    if (key === "packages") {
      members.push(`  "packages": ${packages}`);
      continue;
    }
    const value = key === "artifact" ? redactArtifact(result.artifact) : result[key];
    const json = JSON.stringify(value, null, 2) as string | undefined;
    // As JSON.stringify itself: a member whose value has no JSON form (undefined) is left out.
    if (json !== undefined) members.push(jsonLogSafe(`  ${JSON.stringify(key)}: ${json.replaceAll("\n", "\n  ")}`));
  }
  return `{\n${members.join(",\n")}\n}\n`;
}
