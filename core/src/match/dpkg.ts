import type { Package } from "../catalog/types.js";
import { checkInstalledVersion, findMatches } from "./lookup.js";
import type { MatchContext, PackageMatcher, RecordMatch } from "./types.js";

const KERNEL_HEADER_BINARY = /^(linux-libc-dev|linux-headers-.+|linux-kbuild-.+)$/;

/** linux-libc-dev and friends carry every kernel CVE through their `linux*` source, but no kernel (docs/matching-rules.md R13). */
export function isDebianKernelHeaders(pkg: Package): boolean {
  return KERNEL_HEADER_BINARY.test(pkg.name) && /^linux/.test(pkg.source?.name ?? "");
}

/** Canonical's version suffix for builds published to ESM ("1.12.0-1~ubuntu16.04.3+esm1", "…~esm2"). */
const ESM_VERSION = /[+~]esm\d+/;

export function isEsmVersion(version: string): boolean {
  return ESM_VERSION.test(version);
}

/**
 * Whether the image receives ESM (Ubuntu Pro) updates: the OS detector saw Pro attached or an
 * esm.ubuntu.com apt source (the package ecosystem is then "Ubuntu:Pro:…"), or an ESM build is
 * installed, which only an ESM-enabled apt could have fetched. docs/distro-matching.md "Ubuntu ESM".
 */
export function hasUbuntuEsm(packages: Package[]): boolean {
  return packages.some(
    (pkg) =>
      pkg.type === "deb" &&
      (/^Ubuntu:Pro:/.test(pkg.ecosystem ?? "") ||
        isEsmVersion(pkg.version) ||
        isEsmVersion(pkg.source?.version ?? "")),
  );
}

/**
 * The Ubuntu feeds of a release: its own ("Ubuntu:22.04:LTS") and, for an LTS, the Pro feed
 * ("Ubuntu:Pro:22.04:LTS") that Canonical publishes ESM states and fixes in. Both are read for every
 * image: a vulnerability is there whether or not the image can install the ESM fix.
 */
export function ubuntuFeeds(ecosystem: string): string[] {
  const m = /^Ubuntu:(?:Pro:)?(\d+\.\d+)(:LTS)?$/.exec(ecosystem.trim());
  if (!m) return [ecosystem];
  const standard = `Ubuntu:${m[1]}${m[2] ?? ""}`;
  return m[2] ? [standard, `Ubuntu:Pro:${m[1]}:LTS`] : [standard];
}

/**
 * Debian and Ubuntu (docs/matching-rules.md R2): their feeds are keyed by SOURCE package, and the source version is the
 * one the fix is stated in. The binary version can differ (binNMU "+bN", an epoch only the binary
 * carries, gcc-defaults building `gcc 4:12.2.0-3`), so it is never compared.
 */
export const dpkgMatcher: PackageMatcher = {
  name: "dpkg",
  handles: (pkg) => pkg.type === "deb",
  async match(pkg: Package, ecosystem: string, ctx: MatchContext): Promise<RecordMatch[]> {
    if (!ctx.options.includeKernelHeaders && isDebianKernelHeaders(pkg)) return [];
    const name = pkg.source?.name || pkg.name;
    const version = pkg.source?.version || pkg.version;
    const type = name !== pkg.name || version !== pkg.version ? "source" : "direct";
    checkInstalledVersion(ctx, ecosystem, `${pkg.name} (source ${name})`, version);
    if (!ecosystem.startsWith("Ubuntu:")) return findMatches(ctx, { ecosystem, name, version, type });
    const matches: RecordMatch[] = [];
    for (const feed of ubuntuFeeds(ecosystem)) {
      for (const match of await findMatches(ctx, { ecosystem: feed, name, version, type })) {
        // An ESM-only fix cannot be installed without Ubuntu Pro: for such an image the package
        // stays affected, and the fix is reported apart as "fixed in ESM".
        if (!ctx.ubuntuEsm && match.fixedVersion !== undefined && isEsmVersion(match.fixedVersion)) {
          match.esmFixedVersion = match.fixedVersion;
          delete match.fixedVersion;
          if (match.vendorStatus === "fixed") match.vendorStatus = "affected";
        }
        matches.push(match);
      }
    }
    return matches;
  },
};
