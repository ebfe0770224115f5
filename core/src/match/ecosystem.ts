import type { Package } from "../catalog/types.js";
import { baseEcosystem } from "../versions/index.js";
import { normalizeEcosystem, normalizePackageName as storeName } from "../vulndb/normalize.js";

/** OSV ecosystems of the language feeds, keyed by Stowaway's (purl) package type. */
const LANGUAGE_ECOSYSTEMS: Readonly<Record<string, string>> = {
  npm: "npm",
  pypi: "PyPI",
  golang: "Go",
  cargo: "crates.io",
  maven: "Maven",
  nuget: "NuGet",
  composer: "Packagist",
  gem: "RubyGems",
  hex: "Hex",
  pub: "Pub",
};

export const OS_PACKAGE_TYPES: ReadonlySet<string> = new Set(["deb", "apk", "rpm"]);

// Distros whose OSV ecosystem carries no release (osv-schema "Defined ecosystems"); every other
// distro needs the release suffix, because one release's fix says nothing about another's.
const RELEASELESS_DISTROS: ReadonlySet<string> = new Set(["Wolfi", "Chainguard", "MinimOS"]);

export function isOsPackage(pkg: Package): boolean {
  return OS_PACKAGE_TYPES.has(pkg.type);
}

/** The ecosystem whose feed a language package is matched against (docs/matching-rules.md R1), or undefined when none applies. */
export function languageEcosystem(pkg: Package): string | undefined {
  const fromType = LANGUAGE_ECOSYSTEMS[pkg.type];
  if (fromType) return fromType;
  // Catalogers for types without a purl name may still set the OSV ecosystem themselves.
  const own = pkg.ecosystem?.trim();
  return own && Object.values(LANGUAGE_ECOSYSTEMS).includes(baseEcosystem(own)) ? own : undefined;
}

/** True when a distro ecosystem string lacks the release its advisories are keyed by ("Debian" alone). */
export function lacksRelease(ecosystem: string): boolean {
  return !ecosystem.includes(":") && !RELEASELESS_DISTROS.has(ecosystem.trim());
}

/**
 * Ecosystem strings are compared whole (docs/matching-rules.md R18): "Debian:12" never equals "Debian:11", and Ubuntu's
 * ":LTS" and ":Pro:" parts select different feeds. Only spellings the store itself treats as one
 * ("Debian:bookworm" = "Debian:12", "pypi" = "PyPI") are equal.
 */
export function sameEcosystem(a: string, b: string): boolean {
  return normalizeEcosystem(a) === normalizeEcosystem(b);
}

/**
 * The name a feed files a package under, so the catalog's spelling and the advisory's spelling meet
 * (docs/matching-rules.md R18): PEP 503 for PyPI, case-folding where the registry is case-insensitive. The store's own
 * normal form, so a lookup and the filtering of its answer can never disagree.
 */
export function normalizePackageName(ecosystem: string, name: string): string {
  return storeName(ecosystem, name);
}

const GO_STDLIB_NAMES: ReadonlySet<string> = new Set(["stdlib", "go", "golang", "std"]);
const GO_MAJOR_SUFFIX = /\/v([2-9]|[1-9][0-9]+)$/;

/** Maven coordinates as OSV names them ("groupId:artifactId"), from the name, metadata or purl. */
function mavenName(pkg: Package): string {
  if (pkg.name.includes(":")) return pkg.name;
  const group = typeof pkg.metadata?.groupId === "string" ? pkg.metadata.groupId : undefined;
  if (group) return `${group}:${pkg.name}`;
  const purl = /^pkg:maven\/([^/@?#]+)\/([^/@?#]+)/.exec(pkg.purl ?? "");
  return purl ? `${decodeURIComponent(purl[1]!)}:${decodeURIComponent(purl[2]!)}` : pkg.name;
}

/**
 * Go toolchain versions ("go1.21.3", "go1.22rc2") in the SemVer form the Go vulndb uses for the
 * stdlib ("1.21.3", "1.22.0-rc.2").
 */
export function goToolchainVersion(version: string): string {
  const m = /^(?:go)?v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(rc|beta|alpha)(\d+))?$/.exec(version.trim());
  if (!m) return version;
  const core = `${m[1]}.${m[2] ?? "0"}.${m[3] ?? "0"}`;
  return m[4] ? `${core}-${m[4]}.${m[5]}` : core;
}

export interface LanguageIdentity {
  ecosystem: string;
  /** The name in the feed's normal form. */
  name: string;
  version: string;
}

/** How a language package is named and versioned in its OSV feed (docs/matching-rules.md R18). */
export function languageIdentity(pkg: Package, ecosystem: string): LanguageIdentity {
  const base = baseEcosystem(ecosystem);
  let name = pkg.name;
  let version = pkg.version.trim();
  if (base === "Maven") name = mavenName(pkg);
  if (base === "Go") {
    if (GO_STDLIB_NAMES.has(name)) {
      name = "stdlib";
      version = goToolchainVersion(version);
    } else {
      version = version.replace(/^v/, "");
      // Semantic import versioning: a v2+ module is published under a path ending in /vN, so a
      // catalog that dropped the suffix would otherwise miss every advisory for that major.
      const major = /^(\d+)\./.exec(version)?.[1];
      if (major && Number(major) >= 2 && !version.includes("+incompatible") && !GO_MAJOR_SUFFIX.test(name)) {
        if (!/^gopkg\.in\//.test(name)) name = `${name}/v${major}`;
      }
    }
  }
  return { ecosystem, name: normalizePackageName(ecosystem, name), version };
}
