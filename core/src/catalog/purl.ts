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
  const plain = plainPurl(type, namespace || undefined, name, version || undefined, kept);
  if (plain !== undefined) return plain;
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

/**
 * How packageurl-js (2.x) normalises the name and namespace of the types plainPurl writes itself:
 * "lower" lower-cases both, "pypi" also turns "_" into "-", "namespace" lower-cases the namespace
 * only, "as-is" changes neither. None of them has a type validator, except maven's required namespace.
 */
const PLAIN_TYPES: Readonly<Record<string, "lower" | "pypi" | "namespace" | "as-is">> = {
  deb: "lower",
  apk: "lower",
  npm: "lower",
  composer: "lower",
  alpm: "lower",
  pypi: "pypi",
  rpm: "namespace",
  gem: "as-is",
  cargo: "as-is",
  nuget: "as-is",
  maven: "as-is",
};

/**
 * Characters no normalisation step trims or splits on, which encodeURIComponent leaves alone but
 * for "+" (libstdc++6: %2B in a name or namespace).
 */
const PLAIN_NAME = /^[A-Za-z0-9._~+-]+$/;
/** The same plus ":"; packageurl-js writes both ":" and "+" unencoded in a version. */
const PLAIN_VERSION = /^[A-Za-z0-9._~:+-]+$/;
/** A qualifier key packageurl-js accepts and keeps as it is (keys are lower-cased, must not start with a digit). */
const PLAIN_QUALIFIER_KEY = /^[a-z][a-z0-9._-]*$/;
/** Printable ASCII but the space: what URLSearchParams writes as itself or as one %XX. */
const PLAIN_QUALIFIER_VALUE = /^[\x21-\x7e]+$/;
/** The rest of it, which application/x-www-form-urlencoded percent-encodes (upstream=bash%405.2.15-2). */
const FORM_ENCODED = /[^A-Za-z0-9*._-]/g;
const formEncode = (value: string): string =>
  value.replace(FORM_ENCODED, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);

/**
 * The purl packageurl-js would build, written directly when every part is plain (printable ASCII,
 * nothing to trim or validate), else undefined. Nearly every package is plain (pkg:pypi/requests@2.31.0,
 * pkg:deb/debian/apt@2.6.1?arch=amd64&distro=debian-12): building those through PackageURL cost
 * its module load (~40 ms of a cold scan) and a few microseconds of normalising, validating and
 * encoding per package. Anything else goes through packageurl-js; a test holds the two equal.
 */
export function plainPurl(
  type: string,
  namespace: string | undefined,
  name: string,
  version: string | undefined,
  qualifiers: Record<string, string>,
): string | undefined {
  const rule = PLAIN_TYPES[type];
  if (rule === undefined || !PLAIN_NAME.test(name)) return undefined;
  if (namespace !== undefined && !PLAIN_NAME.test(namespace)) return undefined;
  if (namespace === undefined && type === "maven") return undefined;
  if (version !== undefined && !PLAIN_VERSION.test(version)) return undefined;
  const keys = Object.keys(qualifiers);
  for (const key of keys)
    if (!PLAIN_QUALIFIER_KEY.test(key) || !PLAIN_QUALIFIER_VALUE.test(qualifiers[key]!)) return undefined;
  let purlName = name;
  let purlNamespace = namespace;
  if (rule !== "as-is" && purlNamespace !== undefined) purlNamespace = purlNamespace.toLowerCase();
  if (rule === "lower" || rule === "pypi") purlName = purlName.toLowerCase();
  if (rule === "pypi") purlName = purlName.replaceAll("_", "-");
  let purl = `pkg:${type}/${purlNamespace !== undefined ? `${encodeURIComponent(purlNamespace)}/` : ""}${encodeURIComponent(purlName)}`;
  if (version !== undefined) purl += `@${version}`;
  if (keys.length > 0)
    purl += `?${keys
      .sort()
      .map((key) => `${key}=${formEncode(qualifiers[key]!)}`)
      .join("&")}`;
  return purl;
}
