import type semverModule from "semver";
import type { Package } from "../catalog/types.js";
import { lazyDependency } from "../lazy-dependency.js";
import { baseEcosystem } from "../versions/index.js";
import { comparatorFor } from "./comparators.js";
import { languageEcosystem, languageIdentity } from "./ecosystem.js";
import { checkInstalledVersion, findMatches } from "./lookup.js";
import type { MatchContext, PackageMatcher, RecordMatch } from "./types.js";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see lazyDependency
const semver = lazyDependency<typeof semverModule>("semver", () => require("semver"));

const RANGE_SYNTAX = /^[\^~<>=!*]|\s|\|\||,|^(latest|x|\*)$|\.[x*](\.|$)/i;

/** A declared requirement ("^1.2.0", ">=2, <3") rather than the version that was installed (docs/matching-rules.md R15). */
export function isVersionRange(version: string): boolean {
  return RANGE_SYNTAX.test(version.trim());
}

/** The lowest version a range admits, for comprehensive mode only; undefined when it has none we can name. */
export function rangeMinimum(ecosystem: string, range: string): string | undefined {
  const semverLike = comparatorFor(ecosystem)?.name === "semver";
  if (semverLike) {
    try {
      const min = semver().minVersion(range);
      if (min) return min.version;
    } catch {
      // Not npm range syntax; fall back to the first bound below.
    }
  }
  const comparator = comparatorFor(ecosystem);
  const lower = /(?:^|[\s,(])(?:>=|\^|~=?|==?)?\s*v?([0-9][^\s,|<>=!^~]*)/.exec(range)?.[1];
  return lower && comparator?.isValid(lower) ? lower : undefined;
}

/** Language packages against their ecosystem's feed (docs/matching-rules.md R1, R14), names and versions as the feed writes them (R18). */
export const languageMatcher: PackageMatcher = {
  name: "language",
  handles: (pkg) => languageEcosystem(pkg) !== undefined,
  async match(pkg: Package, ecosystem: string, ctx: MatchContext): Promise<RecordMatch[]> {
    const identity = languageIdentity(pkg, ecosystem);
    let version = identity.version;
    if (isVersionRange(version)) {
      const min = ctx.options.comprehensive ? rangeMinimum(ecosystem, version) : undefined;
      if (!min) {
        ctx.warn(`${pkg.name}: version ${JSON.stringify(version)} is a range, not an installed version; not matched`);
        return [];
      }
      version = min;
    }
    checkInstalledVersion(ctx, baseEcosystem(ecosystem), pkg.name, version);
    return findMatches(ctx, { ecosystem, name: identity.name, version, type: "direct" });
  },
};
