import type * as PackageUrlModule from "packageurl-js";

import { lazyDependency } from "../lazy-dependency.js";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see lazyDependency
const packageUrl = lazyDependency<typeof PackageUrlModule>("packageurl-js", () => require("packageurl-js"));

/**
 * Builds a package URL, or "" when packageurl-js rejects the parts: a cataloger must not throw on a
 * package whose name happens to be unusual, and an empty purl is easier to spot in a report than a
 * missing package.
 */
export function buildPurl(
  type: string,
  namespace: string | undefined,
  name: string,
  version: string | undefined,
  qualifiers?: Record<string, string | undefined>,
): string {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(qualifiers ?? {})) if (value) kept[key] = value;
  try {
    return new (packageUrl().PackageURL)(
      type,
      namespace || undefined,
      name,
      version || undefined,
      Object.keys(kept).length ? kept : undefined,
      undefined,
    ).toString();
  } catch {
    return "";
  }
}

/**
 * For ecosystems whose package names carry their namespace ("@scope/name" for npm,
 * "vendor/name" for Composer): splits at `slash` (the index of the separating "/", or -1 for none).
 */
export function buildNamespacedPurl(type: string, fullName: string, slash: number, version: string): string {
  return slash > 0
    ? buildPurl(type, fullName.slice(0, slash), fullName.slice(slash + 1), version)
    : buildPurl(type, undefined, fullName, version);
}
