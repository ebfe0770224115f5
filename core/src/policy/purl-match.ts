import type * as PackageUrlModule from "packageurl-js";
import { globMatch } from "./glob.js";

import { lazyDependency } from "../lazy-dependency.js";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see lazyDependency
const packageUrl = lazyDependency<typeof PackageUrlModule>("packageurl-js", () => require("packageurl-js"));

interface PurlParts {
  type: string;
  namespace: string;
  name: string;
  version?: string;
  qualifiers: Record<string, string>;
}

function parse(purl: string): PurlParts | undefined {
  try {
    const parsed = packageUrl().PackageURL.fromString(purl);
    const qualifiers: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed.qualifiers ?? {})) if (value) qualifiers[key] = String(value);
    return {
      type: parsed.type.toLowerCase(),
      namespace: parsed.namespace ?? "",
      name: parsed.name,
      version: parsed.version ?? undefined,
      qualifiers,
    };
  } catch {
    return undefined;
  }
}

/** Go module versions carry a "v" that other tools sometimes drop. */
function sameVersion(a: string, b: string): boolean {
  return a === b || a.replace(/^v/, "") === b.replace(/^v/, "");
}

/**
 * Whether a reference purl (from VEX or an ignore file) names the package `purl`. The reference may
 * leave out the version (any version) and qualifiers (any); those it gives must agree. Encoding
 * differences (%2B vs +) do not matter because both sides are parsed.
 */
export function purlMatches(reference: string, purl: string): boolean {
  if (!purl) return false;
  const want = parse(reference);
  const have = parse(purl);
  if (!want || !have) return reference === purl;
  if (want.type !== have.type || want.namespace !== have.namespace || want.name !== have.name) return false;
  if (want.version !== undefined && (have.version === undefined || !sameVersion(want.version, have.version))) {
    return false;
  }
  return Object.entries(want.qualifiers).every(([key, value]) => have.qualifiers[key] === value);
}

/** A policy purl pattern: a glob when it contains * or ?, otherwise a purl compared as above. */
export function purlPatternMatches(pattern: string, purl: string): boolean {
  if (!purl) return false;
  if (/[*?]/.test(pattern)) return globMatch(pattern, purl) || globMatch(pattern, safeDecode(purl));
  return purlMatches(pattern, purl);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
