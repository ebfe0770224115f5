import type { Package } from "../catalog/types.js";
import type { OsvAffected } from "../vulndb/osv.js";
import { checkInstalledVersion, findMatches } from "./lookup.js";
import type { MatchContext, PackageMatcher, RecordMatch } from "./types.js";

const EPOCH_PREFIX = /^(\d+):/;

/** The epoch the package database recorded, if any; "absent" and "0" are different facts (docs/matching-rules.md P7). */
export function rpmEpoch(pkg: Package): string | undefined {
  const inVersion = EPOCH_PREFIX.exec(pkg.version)?.[1];
  if (inVersion !== undefined) return inVersion;
  const epoch = pkg.metadata?.epoch;
  if (typeof epoch === "number" && Number.isInteger(epoch) && epoch >= 0) return String(epoch);
  if (typeof epoch === "string" && /^\d+$/.test(epoch)) return epoch;
  return undefined;
}

/** Binary EVR. A missing epoch stays missing: rpm's comparison then counts it as 0 (docs/matching-rules.md R6). */
export function binaryEvr(pkg: Package): string {
  if (EPOCH_PREFIX.test(pkg.version)) return pkg.version;
  const epoch = rpmEpoch(pkg);
  return epoch === undefined ? pkg.version : `${epoch}:${pkg.version}`;
}

/**
 * Source RPM EVR. SRPM file names never carry the epoch, and assuming 0 makes every epoch-bearing
 * package look ancient (perl-Errno vs `< 4:5.26.3-419.el8`), so the binary's epoch is copied (docs/matching-rules.md R6).
 */
export function sourceEvr(pkg: Package): string | undefined {
  const version = pkg.source?.version;
  if (!version) return undefined;
  if (EPOCH_PREFIX.test(version)) return version;
  const epoch = rpmEpoch(pkg);
  return epoch === undefined ? version : `${epoch}:${version}`;
}

/** kernel-headers reaches kernel CVEs only through the `kernel` source RPM (docs/matching-rules.md R13). */
export function isRpmKernelHeaders(pkg: Package): boolean {
  return pkg.name === "kernel-headers" && pkg.source?.name === "kernel";
}

/** Architectures an advisory entry is limited to, where the database records them. */
export function advisoryArches(affected: OsvAffected): string[] | undefined {
  const candidates = [
    affected.ecosystem_specific?.arches,
    (affected.database_specific?.stowaway as { arches?: unknown } | undefined)?.arches,
  ];
  for (const c of candidates) {
    if (Array.isArray(c) && c.length > 0 && c.every((a) => typeof a === "string")) return c as string[];
  }
  const purlArch = /[?&]arch=([^&#]+)/.exec(affected.package?.purl ?? "")?.[1];
  return purlArch ? [decodeURIComponent(purlArch)] : undefined;
}

/**
 * Red Hat and the rpm distros. Red Hat and Photon name binaries, Alma, Rocky, SUSE and openEuler
 * name source packages (docs/matching-rules.md R18), so both are looked up: the binary name with the binary EVR, and the
 * SRPM name with the SRPM EVR. Arch-restricted entries must list the package's arch (docs/matching-rules.md R8); a source
 * match only accepts entries for the source itself, so one binary never inherits a sibling's advisory.
 */
export const rpmMatcher: PackageMatcher = {
  name: "rpm",
  handles: (pkg) => pkg.type === "rpm",
  async match(pkg: Package, ecosystem: string, ctx: MatchContext): Promise<RecordMatch[]> {
    const evr = binaryEvr(pkg);
    checkInstalledVersion(ctx, ecosystem, pkg.name, evr);
    const binaryArch = pkg.arch;
    const direct = await findMatches(ctx, {
      ecosystem,
      name: pkg.name,
      version: evr,
      type: "direct",
      accept: (affected) => {
        const arches = advisoryArches(affected);
        return !arches || !binaryArch || binaryArch === "noarch" || arches.includes(binaryArch);
      },
    });

    const srcName = pkg.source?.name;
    const srcEvr = sourceEvr(pkg);
    const skipSource = !ctx.options.includeKernelHeaders && isRpmKernelHeaders(pkg);
    if (!srcName || !srcEvr || skipSource || (srcName === pkg.name && srcEvr === evr)) return direct;
    const viaSource = await findMatches(ctx, {
      ecosystem,
      name: srcName,
      version: srcEvr,
      type: "source",
      accept: (affected) => {
        const arches = advisoryArches(affected);
        return !arches || arches.includes("src");
      },
    });
    const seen = new Set(direct.map((m) => m.record.id));
    return [...direct, ...viaSource.filter((m) => !seen.has(m.record.id))];
  },
};
