import type { Package } from "./types.js";

/*
 * A package list kept as the JSON text it is written as, so a warm rescan neither parses the cached
 * inventory's packages nor serializes them again for the JSON report (together most of a warm
 * `sbom -f json`: README "Caching and speed"). The text is the one JSON.stringify(result, null, 2)
 * writes for a `packages` member at depth 1 of a document; the array itself is parsed from it only
 * when some code reads `packages`.
 */

/** The text JSON.stringify(document, null, 2) gives a package list that is a member of the top-level object. */
export function packagesJson(packages: readonly Package[]): string {
  // Every line break of the serialized array is structural (strings escape theirs): one level deeper.
  return JSON.stringify(packages, null, 2).replaceAll("\n", "\n  ");
}

/**
 * The objects whose `packages` is still exactly their JSON (text, or UTF-8 bytes as read), the array
 * it came from, if any, and whether the text is known to be log-safe already (report/neutralize.ts
 * jsonLogSafe leaves it as it is: the inventory cache stores it so), which spares the JSON report a
 * scan over every byte of it.
 */
interface Untouched {
  json: string | Uint8Array;
  packages: Package[] | undefined;
  logSafe: boolean;
}
const untouched = new WeakMap<object, Untouched>();

/** `json` as text. */
export function jsonText(json: string | Uint8Array): string {
  return typeof json === "string" ? json : Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString("utf8");
}

/**
 * Makes `target.packages` (which must already be a key of it, so the key order stays) come from
 * `json` (the text, or its UTF-8 bytes): the array is `packages` when given, else parsed from `json`
 * on the first read. Reading or assigning `packages` forgets the JSON, since the array may then
 * change; until then {@link untouchedPackagesJson} returns it. `logSafe`: the caller knows the text
 * is log-safe JSON already (see {@link packagesJsonLogSafe}).
 */
export function withPackagesJson<T extends { packages: Package[] }>(
  target: T,
  json: string | Uint8Array,
  packages?: Package[],
  logSafe = false,
): T {
  const settle = (value: Package[]): void => {
    untouched.delete(target);
    Object.defineProperty(target, "packages", { value, writable: true, enumerable: true, configurable: true });
  };
  Object.defineProperty(target, "packages", {
    enumerable: true,
    configurable: true,
    get() {
      const value = packages ?? (JSON.parse(jsonText(json)) as Package[]);
      settle(value);
      return value;
    },
    set: settle,
  });
  untouched.set(target, { json, packages, logSafe });
  return target;
}

/** The JSON of `target.packages` as given to {@link withPackagesJson}, while nothing has read or replaced it. */
export function untouchedPackagesJson(target: object): string | Uint8Array | undefined {
  return untouched.get(target)?.json;
}

/**
 * Whether `target.packages` is still its JSON and that JSON was given as log-safe already: the JSON
 * report then writes it as it is, without looking at its bytes.
 */
export function packagesJsonLogSafe(target: object): boolean {
  return untouched.get(target)?.logSafe === true;
}

/**
 * `to.packages` becomes `from.packages` without reading it: still as JSON if `from`'s is untouched
 * (withPackagesJson), else the array.
 */
export function carryPackages<T extends { packages: Package[] }>(from: { packages: Package[] }, to: T): T {
  const stored = untouched.get(from);
  if (!stored) {
    to.packages = from.packages;
    return to;
  }
  return withPackagesJson(to, stored.json, stored.packages, stored.logSafe);
}
