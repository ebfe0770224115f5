import type { Package } from "../catalog/types.js";
import { checkInstalledVersion, findMatches } from "./lookup.js";
import type { MatchContext, PackageMatcher, RecordMatch } from "./types.js";

function originName(pkg: Package): string {
  if (pkg.source?.name) return pkg.source.name;
  const origin = pkg.metadata?.origin;
  return typeof origin === "string" && origin ? origin : pkg.name;
}

/**
 * Alpine and the other apk distros (docs/matching-rules.md R5): secdb is keyed by the origin (`o:`) package, and every
 * subpackage is built with the origin's version. secdb lists fixes only, so "no record" means
 * "not known vulnerable"; a fix at "0" means the release never had the bug.
 */
export const apkMatcher: PackageMatcher = {
  name: "apk",
  handles: (pkg) => pkg.type === "apk",
  async match(pkg: Package, ecosystem: string, ctx: MatchContext): Promise<RecordMatch[]> {
    const name = originName(pkg);
    const version = pkg.source?.version || pkg.version;
    const type = name !== pkg.name || version !== pkg.version ? "source" : "direct";
    checkInstalledVersion(ctx, ecosystem, pkg.name, version);
    return findMatches(ctx, { ecosystem, name, version, type });
  },
};
