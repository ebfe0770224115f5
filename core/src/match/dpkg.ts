import type { Package } from "../catalog/types.js";
import { checkInstalledVersion, findMatches } from "./lookup.js";
import type { MatchContext, PackageMatcher, RecordMatch } from "./types.js";

const KERNEL_HEADER_BINARY = /^(linux-libc-dev|linux-headers-.+|linux-kbuild-.+)$/;

/** linux-libc-dev and friends carry every kernel CVE through their `linux*` source, but no kernel (docs/matching-rules.md R13). */
export function isDebianKernelHeaders(pkg: Package): boolean {
  return KERNEL_HEADER_BINARY.test(pkg.name) && /^linux/.test(pkg.source?.name ?? "");
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
    return findMatches(ctx, { ecosystem, name, version, type });
  },
};
