import {
  comparatorFor as strictComparatorFor,
  isSupportedEcosystem,
  baseEcosystem,
  type VersionComparator,
} from "../versions/index.js";
import { makeSemverComparator } from "../versions/semver.js";

export type { VersionComparator };

const genericSemver = makeSemverComparator("SEMVER");

/** The ecosystem's ordering, or undefined where Stowaway has none (SwiftURL, GIT, ...). */
export function comparatorFor(ecosystem: string): VersionComparator | undefined {
  return isSupportedEcosystem(ecosystem) ? strictComparatorFor(ecosystem) : undefined;
}

/**
 * The ordering for SEMVER ranges. Go and the SemVer ecosystems reuse their own comparator, which
 * implements SemVer 2.0 precedence and accepts the ecosystem's spelling of the installed version
 * (Go's leading "v", numbers beyond 2^53); anything else gets plain SemVer 2.0.
 */
export function makeSemverCompatible(ecosystem: string): VersionComparator {
  const own = comparatorFor(ecosystem);
  if (own && (own.name === "semver" || baseEcosystem(ecosystem) === "Go")) return own;
  return genericSemver;
}
