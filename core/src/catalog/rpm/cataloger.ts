import { buildPurl } from "../purl.js";
import type { CatalogContext, Cataloger, FileView, OsInfo, PackageCandidate } from "../types.js";
import { warning } from "../warnings.js";
import { readBdbHashValues } from "./bdb.js";
import type { BlobRead } from "./blobs.js";
import { parseSourceRpm, toRpmEntry, type RpmEntry } from "./header.js";
import { readNdbBlobs } from "./ndb.js";
import { loadSqlite, readSqliteBlobs } from "./sqlite.js";
import { rpmThirdPartyVendor } from "./third-party.js";
import { RED_HAT_DERIVATIVES } from "../os/redhat.js";

const NAME = "rpm";
/** Where distros keep the database: the classic place, the rpm 4.16+ place, and rpm-ostree's. */
const DB_DIRS = ["var/lib/rpm/", "usr/lib/sysimage/rpm/", "usr/share/rpm/"];
/** Newest backend first: an image converted by `rpmdb --rebuilddb` may keep the old file beside it. */
const BACKENDS: ReadonlyArray<[file: string, read: (db: Buffer) => BlobRead]> = [
  ["rpmdb.sqlite", readSqliteBlobs],
  ["Packages.db", readNdbBlobs],
  ["Packages", readBdbHashValues],
];
const DB_PATHS = DB_DIRS.flatMap((dir) => BACKENDS.map(([file]) => `${dir}${file}`));
/** Big images reach a few hundred MB in rpmdb.sqlite; more than this is not a package database (docs/matching-rules.md P20). */
const MAX_DB_BYTES = 512 * 1024 * 1024;
const MAX_PROBLEMS_PER_FILE = 5;

/** purl namespaces by os-release ID: the vendor names the purl spec and Syft use for rpm. */
const PURL_NAMESPACES: Readonly<Record<string, string>> = {
  rhel: "redhat",
  centos: "centos",
  rocky: "rocky",
  almalinux: "almalinux",
  ol: "oracle",
  amzn: "amazon",
  fedora: "fedora",
  "opensuse-leap": "opensuse",
  "opensuse-tumbleweed": "opensuse",
  opensuse: "opensuse",
  sles: "suse",
  sled: "suse",
  "sle-micro": "suse",
  "sl-micro": "suse",
  photon: "photon",
  mariner: "mariner",
  azurelinux: "azurelinux",
};

export function createRpmCataloger(): Cataloger {
  return {
    name: NAME,
    // 3: Red Hat product-stream CPEs on each package, and the size limit reported instead of skipped.
    // 4: Red Hat's mainline streams on the packages of Rocky, Alma, CentOS and Oracle images.
    version: 4,
    wants: (path) => DB_PATHS.includes(path),
    maxBytes: () => MAX_DB_BYTES,
    prepare: loadSqlite,
    catalog(view, context) {
      const warnings = context.warnings ?? [];
      try {
        return catalogRpm(view, context, warnings);
      } catch (error) {
        warnings.push(warning(NAME, undefined, `cataloging failed: ${String(error)}`));
        return [];
      }
    },
  };
}

function catalogRpm(view: FileView, context: CatalogContext, warnings: string[]): PackageCandidate[] {
  const candidates: PackageCandidate[] = [];
  const seen = new Set<string>();
  let read: Buffer | undefined;
  for (const dir of DB_DIRS) {
    // One database per image: the first backend present in the first directory is the live one.
    const found = BACKENDS.map(([file, reader]) => ({ path: `${dir}${file}`, reader })).find(
      ({ path }) => view.read(path) !== undefined,
    );
    if (!found) continue;
    const content = view.read(found.path)!;
    // usr/share/rpm and var/lib/rpm are often links to the same directory.
    if (read && (read === content || read.equals(content))) continue;
    if (read) {
      warnings.push(warning(NAME, found.path, "a second rpm database; its packages are listed too"));
    }
    read = content;
    const { blobs, problems } = found.reader(content);
    for (const problem of problems.slice(0, MAX_PROBLEMS_PER_FILE)) warnings.push(warning(NAME, found.path, problem));
    let broken = 0;
    for (const blob of blobs) {
      const result = toRpmEntry(blob);
      if ("skip" in result) continue;
      if ("error" in result) {
        if (++broken <= MAX_PROBLEMS_PER_FILE) warnings.push(warning(NAME, found.path, result.error));
        continue;
      }
      const candidate = toCandidate(context.os, result.entry, found.path);
      const key = `${candidate.name}\0${candidate.version}\0${candidate.arch ?? ""}`;
      if (seen.has(key)) continue;
      seen.add(key);
      candidates.push(candidate);
    }
  }
  return candidates;
}

function toCandidate(os: OsInfo, entry: RpmEntry, location: string): PackageCandidate {
  const family = os.family && os.family !== "unknown" ? os.family : undefined;
  const thirdParty = rpmThirdPartyVendor(entry.vendor, family);
  const versionRelease = `${entry.version}-${entry.release}`;
  const source = entry.sourceRpm ? parseSourceRpm(entry.sourceRpm) : undefined;

  const metadata: Record<string, unknown> = { release: entry.release };
  if (entry.epoch !== undefined) metadata.epoch = entry.epoch;
  if (entry.sourceRpm) metadata.sourceRpm = entry.sourceRpm;
  // SRPM file names carry no epoch; the binary's is the source's (docs/matching-rules.md R6), kept apart from the version text.
  if (source && entry.epoch !== undefined) metadata.sourceEpoch = entry.epoch;
  if (entry.vendor) metadata.vendor = entry.vendor;
  if (entry.modularityLabel) metadata.modularityLabel = entry.modularityLabel;
  if (entry.size !== undefined) metadata.size = entry.size;
  if (thirdParty) metadata.thirdParty = thirdParty;
  // Red Hat advisories are per product stream: the streams of the image's content sets (R9).
  if (!thirdParty && family === "rhel" && os.cpes?.length) metadata.redhatCpes = [...os.cpes];
  // Rebuilds of Red Hat's sources: Red Hat's statements for the same major release apply, its fix
  // versions are Red Hat's builds (docs/distro-matching.md "Rebuilds and derivatives").
  if (!thirdParty && family && RED_HAT_DERIVATIVES.has(family) && os.cpes?.length) {
    metadata.redhatCpes = [...os.cpes];
    metadata.redhatDerivative = family;
  }

  const candidate: PackageCandidate = {
    name: entry.name,
    // rpm's own EVR notation; an absent epoch stays absent rather than becoming "0:" (docs/matching-rules.md P7).
    version: entry.epoch === undefined ? versionRelease : `${entry.epoch}:${versionRelease}`,
    type: "rpm",
    // Third-party packages are not in the distro feed; without a detected OS there is no release to key by.
    ecosystem: thirdParty ? "" : (os.ecosystem ?? ""),
    purl: buildPurl("rpm", family ? (PURL_NAMESPACES[family] ?? family) : undefined, entry.name, versionRelease, {
      arch: entry.arch,
      epoch: entry.epoch === undefined ? undefined : String(entry.epoch),
      distro: family && os.version ? `${family}-${os.version}` : undefined,
      upstream: entry.sourceRpm,
    }),
    locations: [location],
    metadata,
  };
  if (source) candidate.source = { name: source.name, version: `${source.version}-${source.release}` };
  if (entry.arch) candidate.arch = entry.arch;
  if (entry.license) candidate.licenses = [entry.license];
  // Files of third-party packages stay unowned so language packages inside them are still scanned.
  if (!thirdParty) candidate.ownedFiles = entry.files;
  return candidate;
}
