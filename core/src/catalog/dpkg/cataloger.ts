import { buildPurl } from "../purl.js";
import { warning } from "../warnings.js";
import type { CatalogContext, Cataloger, FileView, OsInfo, PackageCandidate } from "../types.js";
import { DpkgStatusCondenser } from "./condense.js";
import { parseControlFile } from "./control.js";
import { parseListFile, parseMd5sums } from "./owned-files.js";
import { toDpkgEntry, type DpkgEntry } from "./status.js";
import { thirdPartyVendor } from "./third-party.js";

const NAME = "dpkg";
const STATUS = "var/lib/dpkg/status";
const STATUS_D = "var/lib/dpkg/status.d/";
const INFO = "var/lib/dpkg/info/";
/** Maintainer scripts and other control members that sit beside distroless status.d entries. */
const CONTROL_MEMBER =
  /\.(md5sums|preinst|postinst|prerm|postrm|conffiles|list|triggers|shlibs|symbols|templates|config)$/;
/**
 * Real status files stay under a few MiB; the bound is generous because padding the database past a
 * smaller one hid every OS package. Above it the file is reported as inventory-incomplete
 * (docs/matching-rules.md P20). Below it the walker streams the file through DpkgStatusCondenser, so
 * memory follows the installed packages, not the file size.
 */
const MAX_DB_BYTES = 256 * 1024 * 1024;
const MAX_LIST_BYTES = 16 * 1024 * 1024;
/** Enough to diagnose a damaged file without flooding the report. */
const MAX_PROBLEMS_PER_FILE = 5;

function directChild(path: string, dir: string): string | undefined {
  if (!path.startsWith(dir)) return undefined;
  const rest = path.slice(dir.length);
  return rest && !rest.includes("/") ? rest : undefined;
}

function isStatusDEntry(path: string): boolean {
  const name = directChild(path, STATUS_D);
  return name !== undefined && !CONTROL_MEMBER.test(name);
}

export function createDpkgCataloger(): Cataloger {
  return {
    name: NAME,
    // 3: status databases are condensed while the layer is read (the layer cache holds the condensed copy).
    version: 3,
    wants(path) {
      if (path === STATUS || isStatusDEntry(path)) return true;
      const statusD = directChild(path, STATUS_D);
      if (statusD !== undefined) return statusD.endsWith(".md5sums");
      const info = directChild(path, INFO);
      return info !== undefined && (info.endsWith(".list") || info.endsWith(".md5sums"));
    },
    maxBytes: (path) => (path === STATUS || isStatusDEntry(path) ? MAX_DB_BYTES : MAX_LIST_BYTES),
    condense: (path) => (path === STATUS || isStatusDEntry(path) ? new DpkgStatusCondenser() : undefined),
    catalog(view, context) {
      const warnings = context.warnings ?? [];
      try {
        return catalogDpkg(view, context, warnings);
      } catch (error) {
        warnings.push(warning(NAME, undefined, `cataloging failed: ${String(error)}`));
        return [];
      }
    },
  };
}

interface Found {
  entry: DpkgEntry;
  /** The database file the entry was first read from; its md5sums sit beside it in status.d. */
  location: string;
  locations: string[];
}

function catalogDpkg(view: FileView, context: CatalogContext, warnings: string[]): PackageCandidate[] {
  const databases = [STATUS, ...view.list(isStatusDEntry)];
  const byKey = new Map<string, Found>();

  for (const location of databases) {
    const content = view.read(location);
    if (!content) continue;
    const { stanzas, problems } = parseControlFile(content);
    for (const problem of problems.slice(0, MAX_PROBLEMS_PER_FILE)) {
      warnings.push(warning(NAME, location, `line ${problem.line}: ${problem.message}`));
    }
    for (const stanza of stanzas) {
      const entry = toDpkgEntry(stanza);
      if (!entry) continue;
      // dpkg holds one version per name and architecture; a package in both status and status.d is one package.
      const key = `${entry.name}:${entry.architecture ?? ""}`;
      const known = byKey.get(key);
      if (known) {
        if (!known.locations.includes(location)) known.locations.push(location);
        continue;
      }
      byKey.set(key, { entry, location, locations: [location] });
    }
  }

  return [...byKey.values()].map(({ entry, location, locations }) =>
    toCandidate(view, context.os, entry, location, locations),
  );
}

function toCandidate(
  view: FileView,
  os: OsInfo,
  entry: DpkgEntry,
  location: string,
  locations: string[],
): PackageCandidate {
  const vendor = thirdPartyVendor(entry.maintainer);
  const family = os.family && os.family !== "unknown" ? os.family : undefined;
  const sourceDiffers = entry.source.name !== entry.name || entry.source.version !== entry.version;
  const upstream = !sourceDiffers
    ? undefined
    : entry.source.version === entry.version
      ? entry.source.name
      : `${entry.source.name}@${entry.source.version}`;

  const metadata: Record<string, unknown> = {};
  if (entry.maintainer) metadata.maintainer = entry.maintainer;
  if (entry.installedSize !== undefined) metadata.installedSize = entry.installedSize;
  if (entry.status) metadata.status = entry.status;
  if (vendor) metadata.thirdParty = vendor;

  const candidate: PackageCandidate = {
    name: entry.name,
    version: entry.version,
    type: "deb",
    // Third-party packages are not in the distro feed, so they get no distro ecosystem to match in.
    // Without a detected OS there is no release to key by, and guessing from the database format
    // is how a Debian image ends up matched as Ubuntu (OSV-Scanner #1950).
    ecosystem: vendor ? "" : (os.ecosystem ?? ""),
    purl: buildPurl("deb", family, entry.name, entry.version, {
      arch: entry.architecture,
      distro: distroQualifier(os),
      upstream,
    }),
    source: entry.source,
    locations,
    metadata,
  };
  if (entry.architecture) candidate.arch = entry.architecture;
  // Files of third-party packages stay unowned so language packages inside them are still scanned.
  if (!vendor) candidate.ownedFiles = ownedFiles(view, entry, location);
  return candidate;
}

/** `debian-12`, `ubuntu-22.04`, `debian-trixie` for testing: the release the package was built for. */
function distroQualifier(os: OsInfo): string | undefined {
  if (!os.family || os.family === "unknown" || !os.version) return undefined;
  if (os.family === "debian") {
    if (os.version.includes("/")) return os.codename ? `debian-${os.codename}` : undefined;
    const major = /^\d+/.exec(os.version)?.[0];
    return major ? `debian-${major}` : undefined;
  }
  return `${os.family}-${os.version}`;
}

function ownedFiles(view: FileView, entry: DpkgEntry, location: string): string[] {
  const arch = entry.architecture;
  const names = arch ? [`${entry.name}:${arch}`, entry.name] : [entry.name];
  for (const name of names) {
    const list = view.read(`${INFO}${name}.list`);
    if (list) return parseListFile(list);
  }
  const md5sums = [
    ...(location.startsWith(STATUS_D) ? [`${location}.md5sums`, `${STATUS_D}${entry.name}.md5sums`] : []),
    ...names.map((name) => `${INFO}${name}.md5sums`),
  ];
  for (const path of md5sums) {
    const content = view.read(path);
    if (content) return parseMd5sums(content);
  }
  return [];
}
