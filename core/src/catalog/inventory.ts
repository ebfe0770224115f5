import { createHash } from "node:crypto";
import type { LayerSnapshot } from "../image/layer-walker.js";
import { SquashedFilesystem } from "../image/squash.js";
import type { Cataloger, OsDetector, OsInfo, Package, PackageCandidate } from "./types.js";

export interface Inventory {
  os: OsInfo;
  packages: Package[];
  warnings: string[];
}

const OS_PACKAGE_TYPES = new Set(["deb", "apk", "rpm"]);

/** The union of everything the catalogers and the OS detector want: the only files a layer walk keeps. */
export function wantedBy(catalogers: Cataloger[], osDetector: OsDetector): (path: string, size: number) => boolean {
  return (path, size) => osDetector.wants(path) || catalogers.some((cataloger) => cataloger.wants(path, size));
}

/** A key under which the same package found in two layers is recognised as the same package. */
function identityOf(candidate: PackageCandidate): string {
  return [candidate.type, candidate.name, candidate.version, candidate.arch ?? "", candidate.locations[0] ?? ""].join(
    "\0",
  );
}

export function packageId(candidate: PackageCandidate): string {
  return createHash("sha256").update(identityOf(candidate)).digest("hex").slice(0, 16);
}

/**
 * Catalogs an image from its per-layer snapshots and attributes each package to the layer that
 * introduced it (R19): package sets are diffed after every layer that touched a cataloger's files,
 * instead of blaming the last layer that rewrote a package database.
 */
export function catalogLayers(snapshots: LayerSnapshot[], catalogers: Cataloger[], osDetector: OsDetector): Inventory {
  const warnings: string[] = [];
  // The OS of the final image names the ecosystem for every intermediate state too, so the same
  // package keeps one identity across layers.
  const final = new SquashedFilesystem();
  snapshots.forEach((snapshot, index) => final.apply(snapshot, index));
  const os = osDetector.detect(final);

  const filesystem = new SquashedFilesystem();
  const current = new Map<Cataloger, Map<string, { candidate: PackageCandidate; layerIndex: number }>>();
  for (const cataloger of catalogers) current.set(cataloger, new Map());

  snapshots.forEach((snapshot, layerIndex) => {
    const changed = filesystem.apply(snapshot, layerIndex);
    for (const cataloger of catalogers) {
      if (![...changed].some((path) => cataloger.wants(path, 0))) continue;
      const context = { os, warnings: [] as string[] };
      const found = cataloger.catalog(filesystem, context);
      warnings.push(...context.warnings);
      const previous = current.get(cataloger)!;
      const next = new Map<string, { candidate: PackageCandidate; layerIndex: number }>();
      for (const candidate of found) {
        const key = identityOf(candidate);
        next.set(key, { candidate, layerIndex: previous.get(key)?.layerIndex ?? layerIndex });
      }
      current.set(cataloger, next);
    }
  });
  warnings.push(...filesystem.warnings, ...final.warnings);

  const found = [...current.values()].flatMap((entries) => [...entries.values()]);
  // Package databases record paths as installed (/lib/x.so), which merged-/usr images reach through
  // a directory symlink (lib -> usr/lib); resolving both sides compares real files.
  const owned = new Set(
    found
      .filter(({ candidate }) => OS_PACKAGE_TYPES.has(candidate.type))
      .flatMap(({ candidate }) => candidate.ownedFiles ?? [])
      .flatMap((file) => [file, final.resolve(file) ?? file]),
  );
  const packages = found
    // A language package whose files an OS package installed is reported once, as the OS package (R1).
    .filter(
      ({ candidate }) =>
        OS_PACKAGE_TYPES.has(candidate.type) ||
        !candidate.locations.every((location) => owned.has(final.resolve(location) ?? location)),
    )
    .map(({ candidate, layerIndex }) => toPackage(candidate, layerIndex))
    .sort(
      (a, b) =>
        a.type.localeCompare(b.type) ||
        a.name.localeCompare(b.name) ||
        a.version.localeCompare(b.version) ||
        a.id.localeCompare(b.id),
    );
  return { os, packages, warnings: [...new Set(warnings)] };
}

function toPackage(candidate: PackageCandidate, layerIndex: number): Package {
  const { ownedFiles: _ownedFiles, ...rest } = candidate;
  return { id: packageId(candidate), ...rest, layerIndex };
}
