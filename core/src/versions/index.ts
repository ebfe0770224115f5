import { apkComparator } from "./apk.js";
import { dpkgComparator } from "./dpkg.js";
import { UnsupportedEcosystemError } from "./errors.js";
import { goComparator } from "./go.js";
import { mavenComparator } from "./maven.js";
import { nugetComparator } from "./nuget.js";
import { cranComparator, hackageComparator } from "./numeric.js";
import { packagistComparator } from "./packagist.js";
import { pubComparator } from "./pub.js";
import { pypiComparator } from "./pypi.js";
import { rpmComparator } from "./rpm.js";
import { rubygemsComparator } from "./rubygems.js";
import { makeSemverComparator } from "./semver.js";
import type { VersionComparator } from "./types.js";

export { InvalidVersionError, UnsupportedEcosystemError } from "./errors.js";
export type { VersionComparator } from "./types.js";
export { parseDpkgVersion, type DpkgVersion } from "./dpkg.js";
export { parseRpmVersion, rpmvercmp, type RpmVersion } from "./rpm.js";
export { apkCompareRaw, isValidApkVersion } from "./apk.js";

const semverComparators = {
  npm: makeSemverComparator("npm"),
  "crates.io": makeSemverComparator("crates.io"),
  Hex: makeSemverComparator("Hex"),
};

// Keyed by the OSV ecosystem name (the part before any ':' suffix). Distributions share the
// comparator of their package manager.
const COMPARATORS: Readonly<Record<string, VersionComparator>> = {
  Debian: dpkgComparator,
  Ubuntu: dpkgComparator,
  Alpine: apkComparator,
  Alpaquita: apkComparator,
  Chainguard: apkComparator,
  Wolfi: apkComparator,
  MinimOS: apkComparator,
  "Red Hat": rpmComparator,
  "Rocky Linux": rpmComparator,
  AlmaLinux: rpmComparator,
  "Azure Linux": rpmComparator,
  Mageia: rpmComparator,
  openEuler: rpmComparator,
  openSUSE: rpmComparator,
  "Photon OS": rpmComparator,
  SUSE: rpmComparator,
  ...semverComparators,
  Go: goComparator,
  PyPI: pypiComparator,
  Maven: mavenComparator,
  RubyGems: rubygemsComparator,
  NuGet: nugetComparator,
  Packagist: packagistComparator,
  Pub: pubComparator,
  Hackage: hackageComparator,
  CRAN: cranComparator,
};

/**
 * The OSV ecosystem name without its suffix: "Debian:12" → "Debian", "Ubuntu:22.04:LTS" →
 * "Ubuntu", "Alpine:v3.19" → "Alpine". The suffix selects a release, never a different ordering.
 */
export function baseEcosystem(ecosystem: string): string {
  const colon = ecosystem.indexOf(":");
  return (colon >= 0 ? ecosystem.slice(0, colon) : ecosystem).trim();
}

export function supportedEcosystems(): string[] {
  return Object.keys(COMPARATORS);
}

export function isSupportedEcosystem(ecosystem: string): boolean {
  return Object.hasOwn(COMPARATORS, baseEcosystem(ecosystem));
}

/** Throws UnsupportedEcosystemError for ecosystems without a comparator (e.g. "GIT", "Linux"). */
export function comparatorFor(ecosystem: string): VersionComparator {
  const base = baseEcosystem(ecosystem);
  if (!Object.hasOwn(COMPARATORS, base)) throw new UnsupportedEcosystemError(ecosystem);
  return COMPARATORS[base]!;
}

/**
 * <0, 0 or >0 by the ecosystem's own ordering. Throws UnsupportedEcosystemError or
 * InvalidVersionError (both StowawayError, one-line messages) instead of guessing.
 */
export function compareVersions(ecosystem: string, a: string, b: string): number {
  return Math.sign(comparatorFor(ecosystem).compare(a, b));
}

/** False for malformed versions; throws UnsupportedEcosystemError for unknown ecosystems. */
export function isValidVersion(ecosystem: string, version: string): boolean {
  return comparatorFor(ecosystem).isValid(version);
}
