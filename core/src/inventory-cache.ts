import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Inventory } from "./catalog/inventory.js";
import { verifiedDigest, type LayerDescriptor } from "./image/types.js";
import { writeFileAtomic } from "./write-atomic.js";

/** Bump when the stored inventory's shape or the catalogers' output format changes: old entries then miss. */
/** 2: keyed by each layer's verified digest (and its diff_id claim) instead of the diff_ids alone. */
const FORMAT = 2;

interface StoredInventory extends Inventory {
  format: number;
  key: string;
}

/**
 * The catalogers' answer for a whole image, beside the per-layer snapshots (README "Caching and
 * speed"; docs/matching-rules.md §1.7 keys the image by its content). The key is every layer's
 * verified digest (the blob digest the manifest addresses and the cold read checked; see
 * verifiedDigest) with its diff_id in order, plus the analyzer fingerprint the layer cache uses, so it
 * names exactly the inputs the inventory is computed from. An unverified diff_id is part of the key,
 * never the whole of it: an image claiming another image's diff_ids for other content misses, and
 * one claiming other diff_ids for the same blobs is judged by a cold read. A warm rescan reads one file
 * instead of decoding every snapshot, squashing the layers and running the catalogers again.
 * Anything that depends on the clock (end-of-life) is computed after, never stored.
 */
export class InventoryCache {
  private readonly key: string;

  constructor(
    private readonly directory: string,
    analyzerFingerprint: string,
    layers: readonly Pick<LayerDescriptor, "digest" | "diffId" | "verify">[],
  ) {
    const ids = layers.map((layer) => `${verifiedDigest(layer)} ${layer.diffId}`);
    this.key = createHash("sha256")
      .update(`inventory\0${FORMAT}\0${analyzerFingerprint}\0${ids.join("\0")}`)
      .digest("hex");
  }

  private get file(): string {
    return path.join(this.directory, "inventories", this.key.slice(0, 2), `${this.key}.json`);
  }

  async get(): Promise<Inventory | undefined> {
    let stored: StoredInventory;
    try {
      stored = JSON.parse(await readFile(this.file, "utf8")) as StoredInventory;
    } catch {
      return undefined;
    }
    // A partial or foreign file is a miss, never an error: the image is simply cataloged again.
    if (stored?.format !== FORMAT || stored.key !== this.key || !Array.isArray(stored.packages)) return undefined;
    return { os: stored.os, packages: stored.packages, warnings: stored.warnings };
  }

  async put(inventory: Inventory): Promise<void> {
    const stored: StoredInventory = { format: FORMAT, key: this.key, ...inventory };
    // Temp file then rename: a crash or a concurrent scan never leaves a half-written entry behind.
    await writeFileAtomic(this.file, JSON.stringify(stored));
  }
}
