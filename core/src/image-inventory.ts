import { createHash } from "node:crypto";
import { defaultCatalogers, defaultOsDetector, endOfLife } from "./catalog/index.js";
import { catalogLayers, condensedBy, prepareCatalogers, refusedBy, wantedBy } from "./catalog/inventory.js";
import { inventoryGaps } from "./catalog/warnings.js";
import { isFileCataloger, type AnyCataloger, type FileCataloger, type OsDetector } from "./catalog/types.js";
import { LayerCache } from "./image/layer-cache.js";
import { InventoryCache } from "./inventory-cache.js";
import { DEFAULT_LAYER_LIMITS, type LayerLimits } from "./image/layer-walker.js";
import { readLayerSnapshots, type LayerProgress } from "./image/layers.js";
import type { ResolveOptions, ResolvedImage } from "./image/types.js";
import { resolveDefaults } from "./defaults.js";
import type { Artifact, ScanResult } from "./result.js";
import { STOWAWAY_VERSION } from "./version.js";

export interface InventoryOptions extends ResolveOptions {
  /** Where per-layer results are kept; `false` disables caching. Default: ~/.cache/stowaway (or $XDG_CACHE_HOME/stowaway). */
  cacheDir?: string | false;
  catalogers?: AnyCataloger[];
  osDetector?: OsDetector;
  limits?: Partial<LayerLimits>;
  concurrency?: number;
  onProgress?: (event: LayerProgress) => void;
  /** The clock for end-of-life checks, exception expiry and age rules; tests pin it. */
  now?: Date;
  /** Where defaults are read from (XDG_CACHE_HOME ...); default process.env. See resolveDefaults. */
  env?: NodeJS.ProcessEnv;
}

/** Everything that decides which files a layer walk keeps: part of the layer cache key. */
function analyzerFingerprint(catalogers: AnyCataloger[], osDetector: OsDetector, limits: LayerLimits): string {
  const parts = [osDetector, ...catalogers].map((analyzer) => `${analyzer.name}@${analyzer.version}`).sort();
  parts.push(`maxFileBytes=${limits.maxFileBytes}`, `maxCollectedBytes=${limits.maxCollectedBytes}`);
  return createHash("sha256").update(parts.join("\n")).digest("hex");
}

/**
 * The inventory of an opened image: every layer read once (or taken from the layer cache), the
 * catalogers run over the result, each package placed in the layer that introduced it.
 */
export async function inventoryImage(image: ResolvedImage, options: InventoryOptions = {}): Promise<ScanResult> {
  const catalogers = options.catalogers ?? defaultCatalogers();
  const osDetector = options.osDetector ?? defaultOsDetector();
  const limits = { ...DEFAULT_LAYER_LIMITS, ...options.limits };
  const { cacheDir, now } = resolveDefaults(options);
  const warnings: string[] = [];
  const fingerprint = analyzerFingerprint(catalogers, osDetector, limits);
  const inventoryCache =
    cacheDir === false
      ? undefined
      : new InventoryCache(
          cacheDir,
          fingerprint,
          image.layers.map((layer) => layer.diffId),
        );
  let inventory = await inventoryCache?.get();
  if (inventory) {
    const total = image.layers.length;
    image.layers.forEach((_, index) => options.onProgress?.({ kind: "layer-done", index, total, cached: true }));
    warnings.push(...inventory.warnings);
  } else {
    const snapshots = await readLayerSnapshots(image, {
      wants: wantedBy(catalogers, osDetector),
      refusedBy: refusedBy(catalogers),
      condense: condensedBy(catalogers, osDetector),
      fileCatalogers: catalogers.filter((cataloger): cataloger is FileCataloger => isFileCataloger(cataloger)),
      ...(options.tempDir ? { tempDir: options.tempDir } : {}),
      cache: cacheDir === false ? undefined : new LayerCache(cacheDir, fingerprint),
      limits,
      concurrency: options.concurrency,
      onProgress: options.onProgress,
      onWarning: (message) => warnings.push(message),
    });
    await prepareCatalogers(snapshots, catalogers);
    const cataloged = catalogLayers(snapshots, catalogers, osDetector);
    // Snapshot warnings come from the layers themselves, so they are part of what is stored; cache
    // write failures (above, in `warnings`) belong to this run only.
    inventory = {
      ...cataloged,
      warnings: [...snapshots.flatMap((snapshot) => snapshot.warnings), ...cataloged.warnings],
    };
    warnings.push(...inventory.warnings);
    await inventoryCache?.put(inventory).catch((error: Error) => {
      warnings.push(
        `could not write the inventory cache (${error.message}); the next scan will catalog the image again`,
      );
    });
  }
  const support = endOfLife(inventory.os, now);
  if (support?.expired) {
    // docs/matching-rules.md R11: a release past its end of life gets no more advisories, so "no findings" stops meaning "safe".
    warnings.push(
      `${inventory.os.prettyName ?? `${inventory.os.family} ${inventory.os.version ?? ""}`.trim()} reached its end of life on ${support.eol}; its security feed has stopped, so vulnerabilities fixed since then are not reported. Move to a supported release.`,
    );
  }
  return {
    schemaVersion: 1,
    scanner: { name: "stowaway", version: STOWAWAY_VERSION },
    artifact: describeArtifact(image, inventory.os),
    packages: inventory.packages,
    warnings: [...new Set(warnings)],
    ...withGaps(warnings),
  };
}

/** The machine-readable form of the `inventory-incomplete` warnings, for the gate and for tools reading the JSON. */
export function withGaps(warnings: readonly string[]): Pick<ScanResult, "incomplete"> {
  const gaps = inventoryGaps([...new Set(warnings)]);
  return gaps.length > 0 ? { incomplete: gaps } : {};
}

function describeArtifact(image: ResolvedImage, osInfo: Artifact["os"]): Artifact {
  const labels = image.config.config?.Labels ?? undefined;
  return {
    reference: image.reference,
    manifestDigest: image.manifestDigest,
    configDigest: image.configDigest,
    platform: image.platform,
    os: osInfo,
    layers: image.layers.map((layer) => ({
      index: layer.index,
      digest: layer.digest,
      diffId: layer.diffId,
      mediaType: layer.mediaType,
      size: layer.size,
      ...(layer.createdBy !== undefined ? { createdBy: layer.createdBy } : {}),
    })),
    ...(image.config.created ? { created: image.config.created } : {}),
    ...(image.config.config?.User !== undefined ? { user: image.config.config.User } : {}),
    ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
  };
}
