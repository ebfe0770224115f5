import { buildPurl } from "../purl.js";
import type { CatalogContext, Cataloger, FileView, OsInfo, PackageCandidate } from "../types.js";
import { warning } from "../warnings.js";
import { parseApkInstalled, type ApkEntry } from "./installed.js";

const NAME = "apk";
/** apk-tools 3 may keep its database under /usr (merged-usr layouts); older releases use /lib only. */
const DATABASES = ["lib/apk/db/installed", "usr/lib/apk/db/installed"];
/** An installed database this large is not one; guards memory (docs/matching-rules.md P20). */
const MAX_DB_BYTES = 64 * 1024 * 1024;
const MAX_PROBLEMS_PER_FILE = 5;

export function createApkCataloger(): Cataloger {
  return {
    name: NAME,
    version: 2,
    wants: (path) => DATABASES.includes(path),
    maxBytes: () => MAX_DB_BYTES,
    catalog(view, context) {
      const warnings = context.warnings ?? [];
      try {
        return catalogApk(view, context, warnings);
      } catch (error) {
        warnings.push(warning(NAME, undefined, `cataloging failed: ${String(error)}`));
        return [];
      }
    },
  };
}

function catalogApk(view: FileView, context: CatalogContext, warnings: string[]): PackageCandidate[] {
  const byName = new Map<string, PackageCandidate>();
  const read: Buffer[] = [];
  for (const location of DATABASES) {
    const content = view.read(location);
    // With lib -> usr/lib both paths reach one file; it is one database.
    if (!content || read.some((other) => other === content || other.equals(content))) continue;
    read.push(content);
    const { entries, problems } = parseApkInstalled(content);
    for (const problem of problems.slice(0, MAX_PROBLEMS_PER_FILE)) {
      warnings.push(warning(NAME, location, `line ${problem.line}: ${problem.message}`));
    }
    for (const entry of entries) {
      // apk installs one version of a name at a time.
      const known = byName.get(entry.name);
      if (known) {
        if (!known.locations.includes(location)) known.locations.push(location);
        continue;
      }
      byName.set(entry.name, toCandidate(context.os, entry, location));
    }
  }
  return [...byName.values()];
}

function toCandidate(os: OsInfo, entry: ApkEntry, location: string): PackageCandidate {
  const family = os.family && os.family !== "unknown" ? os.family : undefined;
  const origin = entry.origin ?? entry.name;
  const metadata: Record<string, unknown> = {};
  if (entry.origin) metadata.origin = entry.origin;
  if (entry.maintainer) metadata.maintainer = entry.maintainer;
  if (entry.commit) metadata.commit = entry.commit;
  if (entry.url) metadata.url = entry.url;
  if (entry.size !== undefined) metadata.size = entry.size;
  if (entry.installedSize !== undefined) metadata.installedSize = entry.installedSize;
  if (entry.buildTime !== undefined) metadata.buildTime = entry.buildTime;

  const candidate: PackageCandidate = {
    name: entry.name,
    version: entry.version,
    type: "apk",
    // Without a detected OS there is no branch to key by; the database format alone is no evidence (OSV-Scanner #1950).
    ecosystem: os.ecosystem ?? "",
    purl: buildPurl("apk", family, entry.name, entry.version, {
      arch: entry.arch,
      distro: distroQualifier(os),
      upstream: origin !== entry.name ? origin : undefined,
    }),
    // Every subpackage of an APKBUILD shares its version, so the origin's version is the binary's.
    source: { name: origin, version: entry.version },
    locations: [location],
    ownedFiles: entry.files,
    metadata,
  };
  if (entry.arch) candidate.arch = entry.arch;
  if (entry.license) candidate.licenses = [entry.license];
  return candidate;
}

/** `alpine-3.19`: the branch packages are built and keyed for (docs/matching-rules.md R5), not the point release. */
function distroQualifier(os: OsInfo): string | undefined {
  if (!os.family || os.family === "unknown") return undefined;
  const branch = /^Alpine:v(\d+\.\d+)$/.exec(os.ecosystem ?? "")?.[1];
  if (branch) return `${os.family}-${branch}`;
  if (!os.version) return undefined;
  const majorMinor = os.family === "alpine" ? /^\d+\.\d+/.exec(os.version)?.[0] : undefined;
  return `${os.family}-${majorMinor ?? os.version}`;
}
