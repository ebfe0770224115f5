import { hash } from "node:crypto";
import type { LayerSnapshot } from "../image/layer-walker.js";
import { SquashedFilesystem } from "../image/squash.js";
import {
  isFileCataloger,
  withinBound,
  type AnyCataloger,
  type Cataloger,
  type OsDetector,
  type OsInfo,
  type Package,
  type PackageCandidate,
  type StreamCondenser,
} from "./types.js";

export interface Inventory {
  os: OsInfo;
  packages: Package[];
  warnings: string[];
}

const OS_PACKAGE_TYPES = new Set(["deb", "apk", "rpm"]);

/**
 * String.prototype.localeCompare's order (the default locale and options) from one collator: the
 * report's package sort makes tens of thousands of comparisons, and each localeCompare call pays
 * for finding its collator again.
 */
const compareText = new Intl.Collator().compare;

interface PackageSource {
  affectedBy(changed: Set<string>, snapshot: LayerSnapshot): boolean;
  collect(): PackageCandidate[];
}

/**
 * The union of everything the catalogers and the OS detector want: the only files a layer walk keeps.
 * Asked for every regular file of every layer, so it is plain loops: nothing allocated per call.
 */
export function wantedBy(catalogers: AnyCataloger[], osDetector: OsDetector): (path: string, size: number) => boolean {
  const viewCatalogers = catalogers.filter((cataloger): cataloger is Cataloger => !isFileCataloger(cataloger));
  return (path, size) => {
    if (osDetector.wants(path)) return true;
    for (let i = 0; i < viewCatalogers.length; i++) {
      const cataloger = viewCatalogers[i]!;
      if (cataloger.wants(path, size) && withinBound(cataloger, path, size)) return true;
    }
    return false;
  };
}

/**
 * The condenser for a path that exactly one view cataloger wants and offers to condense (and OS
 * detection does not read): the walker streams such a file through it rather than holding it whole.
 */
export function condensedBy(
  catalogers: AnyCataloger[],
  osDetector: OsDetector,
): (path: string, size: number) => StreamCondenser | undefined {
  const viewCatalogers = catalogers.filter((cataloger): cataloger is Cataloger => !isFileCataloger(cataloger));
  return (path, size) => {
    if (osDetector.wants(path)) return undefined;
    const wanting = viewCatalogers.filter((cataloger) => cataloger.wants(path, size));
    return wanting.length === 1 ? wanting[0]!.condense?.(path) : undefined;
  };
}

/** Shared by every path no cataloger refuses; never handed out to be changed. */
const NONE_REFUSED: readonly string[] = Object.freeze([]);

/**
 * The view catalogers that want a path by name but not at this size, with their bound, for the walker's
 * warning. Asked for every regular file: an array is built only for a path that is refused.
 */
export function refusedBy(catalogers: AnyCataloger[]): (path: string, size: number) => readonly string[] {
  const bounded = catalogers.filter(
    (cataloger): cataloger is Cataloger => !isFileCataloger(cataloger) && cataloger.maxBytes !== undefined,
  );
  return (path, size) => {
    let refused: string[] | undefined;
    for (let i = 0; i < bounded.length; i++) {
      const cataloger = bounded[i]!;
      if (cataloger.wants(path, size) && !withinBound(cataloger, path, size))
        (refused ??= []).push(`${cataloger.name} (${cataloger.maxBytes!(path)} bytes)`);
    }
    return refused ?? NONE_REFUSED;
  };
}

/** A key under which the same package found in two layers is recognised as the same package. */
function identityOf(candidate: PackageCandidate): string {
  return [candidate.type, candidate.name, candidate.version, candidate.arch ?? "", candidate.locations[0] ?? ""].join(
    "\0",
  );
}

export function packageId(candidate: PackageCandidate): string {
  // One call per package (thousands per image): the one-shot hash skips building a Hash object each time.
  return hash("sha256", identityOf(candidate), "hex").slice(0, 16);
}

/** Runs the async set-up of the catalogers that will actually see one of their files. */
export async function prepareCatalogers(snapshots: LayerSnapshot[], catalogers: AnyCataloger[]): Promise<void> {
  const needed = catalogers.filter(
    (cataloger): cataloger is Cataloger =>
      !isFileCataloger(cataloger) &&
      cataloger.prepare !== undefined &&
      snapshots.some((snapshot) => [...snapshot.files.keys()].some((path) => cataloger.wants(path, 0))),
  );
  await Promise.all(needed.map((cataloger) => cataloger.prepare!()));
}

/**
 * Catalogs an image from its per-layer snapshots and attributes each package to the layer that
 * introduced it (docs/matching-rules.md R19): package sets are diffed after every layer that touched a cataloger's files,
 * instead of blaming the last layer that rewrote a package database.
 */
export function catalogLayers(
  snapshots: LayerSnapshot[],
  allCatalogers: AnyCataloger[],
  osDetector: OsDetector,
): Inventory {
  const catalogers = allCatalogers.filter((cataloger): cataloger is Cataloger => !isFileCataloger(cataloger));
  const usesFileCatalogers = catalogers.length !== allCatalogers.length;
  const warnings: string[] = [];
  // The OS of the final image names the ecosystem for every intermediate state too, so the same
  // package keeps one identity across layers.
  const final = new SquashedFilesystem();
  snapshots.forEach((snapshot, index) => final.apply(snapshot, index));
  const os = osDetector.detect(final);

  const filesystem = new SquashedFilesystem();
  // Each source of packages is re-read only after a layer that touched its files.
  const sources: PackageSource[] = catalogers.map((cataloger) => ({
    affectedBy: (changed) => {
      for (const path of changed) if (cataloger.wants(path, 0)) return true;
      return false;
    },
    collect: () => {
      const context = { os, warnings: [] as string[] };
      const found = cataloger.catalog(filesystem, context);
      warnings.push(...context.warnings);
      return found;
    },
  }));
  if (usesFileCatalogers) {
    sources.push({
      affectedBy: (changed, snapshot) =>
        snapshot.analyzed.size > 0 ||
        ((snapshot.whiteouts.length > 0 || snapshot.opaqueDirs.length > 0) && changed.size > 0),
      collect: () => filesystem.analyzedPackages(),
    });
  }
  const current = sources.map(() => new Map<string, { candidate: PackageCandidate; layerIndex: number }>());

  snapshots.forEach((snapshot, layerIndex) => {
    const changed = filesystem.apply(snapshot, layerIndex);
    sources.forEach((source, index) => {
      if (!source.affectedBy(changed, snapshot)) return;
      const previous = current[index]!;
      const next = new Map<string, { candidate: PackageCandidate; layerIndex: number }>();
      for (const candidate of source.collect()) {
        const key = identityOf(candidate);
        next.set(key, { candidate, layerIndex: previous.get(key)?.layerIndex ?? layerIndex });
      }
      current[index] = next;
    });
  });
  warnings.push(...filesystem.warnings, ...final.warnings);

  const found = current.flatMap((entries) => [...entries.values()]);
  // Package databases record paths as installed (/lib/x.so), which merged-/usr images reach through
  // a directory symlink (lib -> usr/lib); resolving both sides compares real files.
  // Tens of thousands of files: added in a loop, not through a two-element array per file.
  const owned = new Set<string>();
  for (const { candidate } of found) {
    if (!OS_PACKAGE_TYPES.has(candidate.type) || !candidate.ownedFiles) continue;
    for (const file of candidate.ownedFiles) {
      owned.add(file);
      owned.add(final.resolve(file) ?? file);
    }
  }
  const packages = found
    // A language package whose files an OS package installed is reported once, as the OS package (docs/matching-rules.md R1).
    .filter(
      ({ candidate }) =>
        OS_PACKAGE_TYPES.has(candidate.type) ||
        // "app.jar!/lib/x.jar" lives inside app.jar: owned when the outer file is.
        !candidate.locations.every((location) => {
          const nested = location.indexOf("!/");
          const file = nested < 0 ? location : location.slice(0, nested);
          return owned.has(final.resolve(file) ?? file);
        }),
    )
    .map(({ candidate, layerIndex }) => toPackage(candidate, layerIndex))
    .sort(
      (a, b) =>
        compareText(a.type, b.type) ||
        compareText(a.name, b.name) ||
        compareText(a.version, b.version) ||
        compareText(a.id, b.id),
    );
  return { os, packages, warnings: [...new Set(warnings)] };
}

function toPackage(candidate: PackageCandidate, layerIndex: number): Package {
  const { ownedFiles: _ownedFiles, ...rest } = candidate;
  return { id: packageId(candidate), ...rest, layerIndex };
}
