import { endOfLife } from "./catalog/os/eol.js";
import { inventoryGaps } from "./catalog/warnings.js";
import { carryPackages } from "./catalog/packages-json.js";
import type { AnyCataloger, OsDetector } from "./catalog/types.js";
import { InventoryCache } from "./inventory-cache.js";
import type { LayerLimits } from "./image/layer-walker.js";
import type { LayerProgress } from "./image/layers.js";
import type { ResolveOptions, ResolvedImage } from "./image/types.js";
import { resolveDefaults } from "./defaults.js";
import type { Artifact, ScanResult } from "./result.js";
import { carryStoredPackages } from "./stored-packages.js";
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

/**
 * The default analyzers' fingerprint, baked into the scan bundle at build time (core/scripts/bundle-scan.mjs
 * computes it from the very catalogers it bundles), so a warm rescan keys the inventory cache without
 * loading a single cataloger. Unbundled (tsc output, tests) it is undefined and computed at run time.
 */
declare const __STOWAWAY_DEFAULT_ANALYZER_FINGERPRINT__: string | undefined;
const BUILT_DEFAULT_FINGERPRINT: string | undefined =
  typeof __STOWAWAY_DEFAULT_ANALYZER_FINGERPRINT__ === "string" ? __STOWAWAY_DEFAULT_ANALYZER_FINGERPRINT__ : undefined;

/** The cold half (catalogers, layer walk, layer cache), loaded only when it is needed. */
const coldHalf = () => import("./catalog-image.js");

/**
 * The inventory of an opened image: from the inventory cache when every layer and analyzer is the
 * same as in an earlier scan (a warm rescan then loads no cataloger, layer or decoder code at all),
 * else every layer read once (or taken from the layer cache) and the catalogers run over the result,
 * each package placed in the layer that introduced it (catalog-image.ts).
 */
export async function inventoryImage(image: ResolvedImage, options: InventoryOptions = {}): Promise<ScanResult> {
  const { cacheDir, now } = resolveDefaults(options);
  const warnings: string[] = [];
  const defaults = options.catalogers === undefined && options.osDetector === undefined && !options.limits;
  let analyzers = defaults && BUILT_DEFAULT_FINGERPRINT ? undefined : (await coldHalf()).analyzersFor(options);
  const fingerprint = analyzers?.fingerprint ?? BUILT_DEFAULT_FINGERPRINT!;
  const inventoryCache = cacheDir === false ? undefined : new InventoryCache(cacheDir, fingerprint, image.layers);
  let inventory = await inventoryCache?.get();
  if (inventory) {
    const total = image.layers.length;
    image.layers.forEach((_, index) => options.onProgress?.({ kind: "layer-done", index, total, cached: true }));
    warnings.push(...inventory.warnings);
  } else {
    const { analyzersFor, catalogImage } = await coldHalf();
    analyzers ??= analyzersFor(options);
    inventory = await catalogImage(image, analyzers, { ...options, cacheDir }, warnings);
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
  const result: ScanResult = {
    schemaVersion: 1,
    scanner: { name: "stowaway", version: STOWAWAY_VERSION },
    artifact: describeArtifact(image, inventory.os),
    packages: [],
    warnings: [...new Set(warnings)],
    ...withGaps(warnings),
  };
  // Still the stored JSON text when nothing read it (in the inventory cache's file, stored-packages.ts,
  // or in memory, catalog/packages-json.ts), so a JSON report writes it without a parse and a
  // serialization; reading result.packages gives the array as always.
  return carryStoredPackages(inventory, result) ? result : carryPackages(inventory, result);
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
