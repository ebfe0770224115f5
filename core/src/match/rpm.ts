import type { Package } from "../catalog/types.js";
import type { OsvAffected, OsvRecord } from "../vulndb/osv.js";
import { redHatEcosystem } from "../vulndb/sources/redhat-ecosystem.js";
import { checkInstalledVersion, findMatches, notAffectedIds } from "./lookup.js";
import type { MatchContext, PackageMatcher, RecordMatch } from "./types.js";

const EPOCH_PREFIX = /^(\d+):/;

/** The epoch the package database recorded, if any; "absent" and "0" are different facts (P7). */
export function rpmEpoch(pkg: Package): string | undefined {
  const inVersion = EPOCH_PREFIX.exec(pkg.version)?.[1];
  if (inVersion !== undefined) return inVersion;
  const epoch = pkg.metadata?.epoch;
  if (typeof epoch === "number" && Number.isInteger(epoch) && epoch >= 0) return String(epoch);
  if (typeof epoch === "string" && /^\d+$/.test(epoch)) return epoch;
  return undefined;
}

/** Binary EVR. A missing epoch stays missing: rpm's comparison then counts it as 0 (R6). */
export function binaryEvr(pkg: Package): string {
  if (EPOCH_PREFIX.test(pkg.version)) return pkg.version;
  const epoch = rpmEpoch(pkg);
  return epoch === undefined ? pkg.version : `${epoch}:${pkg.version}`;
}

/**
 * Source RPM EVR. SRPM file names never carry the epoch, and assuming 0 makes every epoch-bearing
 * package look ancient (perl-Errno vs `< 4:5.26.3-419.el8`), so the binary's epoch is copied (R6).
 */
export function sourceEvr(pkg: Package): string | undefined {
  const version = pkg.source?.version;
  if (!version) return undefined;
  if (EPOCH_PREFIX.test(version)) return version;
  const epoch = rpmEpoch(pkg);
  return epoch === undefined ? version : `${epoch}:${version}`;
}

/** kernel-headers reaches kernel CVEs only through the `kernel` source RPM (R13). */
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
 * The Red Hat feeds of a package: one per product-stream CPE that the image's content sets map to
 * (R9, docs/distro-matching.md "Product streams"), or undefined when the cataloger recorded none.
 */
export function redHatFeeds(pkg: Package): string[] | undefined {
  const cpes = pkg.metadata?.redhatCpes;
  if (!Array.isArray(cpes)) return undefined;
  const feeds = cpes.flatMap((cpe) => {
    const ecosystem = typeof cpe === "string" ? redHatEcosystem(cpe) : undefined;
    if (!ecosystem) return [];
    // Red Hat also states things for the whole release ("cpe:/o:redhat:enterprise_linux:8", the
    // Security Data API and VEX's unfixed products): a CPE without the variant covers every variant.
    const release = /^(Red Hat:[^:]+:[^:]+)::/.exec(ecosystem)?.[1];
    return release ? [ecosystem, release] : [ecosystem];
  });
  return feeds.length > 0 ? [...new Set(feeds)] : undefined;
}

/** Release tags of module builds: RHEL/Oracle "+el8.6.0+…" after ".module", CentOS/Alma "_el8". */
const MODULE_RELEASE = /\.module[+_]/;

export interface ModuleInfo {
  modular: boolean;
  /** "name:stream", when known. */
  stream?: string;
}

/** The module stream of an installed rpm: its MODULARITYLABEL ("name:stream:version:context"), else its release tag. */
export function packageModule(pkg: Package): ModuleInfo {
  const label = pkg.metadata?.modularityLabel;
  if (typeof label === "string" && label.trim()) {
    const [name, stream] = label.trim().split(":");
    return name && stream ? { modular: true, stream: `${name}:${stream}` } : { modular: true };
  }
  const release = typeof pkg.metadata?.release === "string" ? pkg.metadata.release : pkg.version;
  return { modular: MODULE_RELEASE.test(release) };
}

/**
 * The module stream an advisory entry is about: Red Hat CSAF names it (`rpm_modularity`); OSV
 * records of the rpm distros only show it in the fixed release ("….module+el8.6.0+…").
 */
export function entryModule(affected: OsvAffected): ModuleInfo {
  const stream = affected.ecosystem_specific?.rpm_modularity;
  if (typeof stream === "string" && stream.trim()) return { modular: true, stream: stream.trim() };
  const versions = (affected.ranges ?? []).flatMap((r) =>
    (r.events ?? []).flatMap((e) => [e.fixed, e.last_affected].filter((v): v is string => typeof v === "string")),
  );
  return { modular: versions.some((v) => MODULE_RELEASE.test(v)) };
}

/**
 * R7: a modular package is matched only against entries for a module stream, and only its own
 * stream where both are known; a non-modular package never against module entries. An unknown
 * stream on either side (no label in the rpmdb, an OSV record) satisfies any stream.
 */
export function moduleAccepts(pkg: ModuleInfo, entry: ModuleInfo): boolean {
  if (pkg.modular !== entry.modular) return false;
  return !pkg.stream || !entry.stream || pkg.stream === entry.stream;
}

function identities(record: OsvRecord): string[] {
  return [record.id, ...(record.aliases ?? []), ...(record.upstream?.length === 1 ? record.upstream : [])];
}

/**
 * Red Hat and the rpm distros. Red Hat and Photon name binaries, Alma, Rocky, SUSE and openEuler
 * name source packages (R18), so both are looked up: the binary name with the binary EVR, and the
 * SRPM name with the SRPM EVR. Arch-restricted entries must list the package's arch (R8); a source
 * match only accepts entries for the source itself, so one binary never inherits a sibling's
 * advisory. Module streams must agree (R7), and a vendor's "not affected" for the package or its
 * source in this product stream removes that vulnerability (docs/distro-matching.md).
 */
export const rpmMatcher: PackageMatcher = {
  name: "rpm",
  handles: (pkg) => pkg.type === "rpm",
  async match(pkg: Package, ecosystem: string, ctx: MatchContext): Promise<RecordMatch[]> {
    const evr = binaryEvr(pkg);
    checkInstalledVersion(ctx, ecosystem, pkg.name, evr);
    const binaryArch = pkg.arch;
    const module = packageModule(pkg);
    const directQuery = {
      ecosystem,
      name: pkg.name,
      version: evr,
      type: "direct" as const,
      accept: (affected: OsvAffected) => {
        const arches = advisoryArches(affected);
        const archOk = !arches || !binaryArch || binaryArch === "noarch" || arches.includes(binaryArch);
        return archOk && moduleAccepts(module, entryModule(affected));
      },
    };
    const matches = await findMatches(ctx, directQuery);
    // "Not affected" for this binary outweighs any record. For its source rpm it covers every match
    // when said of the component as a whole (VEX), else only matches made through the source: an
    // advisory may call one source build unaffected while fixing the binaries built from it.
    const binaryNotAffected = (await notAffectedIds(ctx, directQuery)).ids;
    let sourceNotAffected = new Set<string>();
    let componentNotAffected = new Set<string>();

    const srcName = pkg.source?.name;
    const srcEvr = sourceEvr(pkg);
    const skipSource = !ctx.options.includeKernelHeaders && isRpmKernelHeaders(pkg);
    if (srcName && srcEvr && !skipSource) {
      // Also when the SRPM shares the binary's name and EVR: entries written for "src" only
      // (Security Data API states, CSAF source rpms) are reachable through the source alone.
      const sourceQuery = {
        ecosystem,
        name: srcName,
        version: srcEvr,
        type: "source" as const,
        accept: (affected: OsvAffected) => {
          const arches = advisoryArches(affected);
          return (!arches || arches.includes("src")) && moduleAccepts(module, entryModule(affected));
        },
      };
      const seen = new Set(matches.map((m) => m.record.id));
      for (const m of await findMatches(ctx, sourceQuery)) if (!seen.has(m.record.id)) matches.push(m);
      ({ ids: sourceNotAffected, componentWide: componentNotAffected } = await notAffectedIds(ctx, sourceQuery));
    }
    const kept = matches.filter((m) => {
      const ids = identities(m.record);
      if (ids.some((id) => binaryNotAffected.has(id) || componentNotAffected.has(id))) return false;
      return m.details.type !== "source" || !ids.some((id) => sourceNotAffected.has(id));
    });
    if (pkg.metadata?.redhatDerivative && ecosystem.startsWith("Red Hat:")) kept.forEach(asDerivativeMatch);
    return kept;
  },
};

/**
 * A Red Hat statement applied to a derivative's package (docs/distro-matching.md "Rebuilds and
 * derivatives"): the states hold as they are, but a fix is Red Hat's build, which the derivative
 * may never ship under that version. The package is older than Red Hat's fix, so it is affected;
 * the build is kept apart as `redhatFixedVersion`, and a fix from the distro's own feed for the
 * same vulnerability decides the finding's fixed version.
 */
function asDerivativeMatch(match: RecordMatch): void {
  if (match.fixedVersion === undefined) return;
  match.redhatFixedVersion = match.fixedVersion;
  delete match.fixedVersion;
  if (match.vendorStatus === "fixed") match.vendorStatus = "affected";
}
