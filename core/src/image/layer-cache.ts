import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { PackageCandidate } from "../catalog/types.js";
import type { LayerSnapshot } from "./layer-walker.js";
import { writeFileAtomic } from "../write-atomic.js";

/** Bump when the snapshot layout or the walker's semantics change: old entries then simply miss. */
/** 3: size-bound refusals became `inventory-incomplete` warnings (walked layers cached before lack them). */
/** 4: keyed by the verified blob digest instead of the config's diff_id, which is no longer hashed. */
const CACHE_FORMAT = 4;

interface StoredSnapshot {
  format: number;
  key: string;
  /** The verified digest of the blob the snapshot was read from. */
  digest: string;
  /** The diff_id the image that was read claimed for it (informative; a hit takes the caller's). */
  diffId: string;
  files: [string, string][];
  symlinks: [string, string][];
  hardlinks: [string, string][];
  whiteouts: string[];
  opaqueDirs: string[];
  shadowed: string[];
  analyzed: [string, PackageCandidate[]][];
  warnings: string[];
  stats: LayerSnapshot["stats"];
}

/**
 * Per-layer snapshots on disk, keyed by the layer's blob digest plus the fingerprint of every
 * analyzer that chose the collected files, so changing or adding an analyzer invalidates exactly
 * what it affects. The blob digest is the one every byte read was verified against (openLayer),
 * never the config's diff_id, which is a claim that is not hashed for compressed layers: an image
 * whose config names another layer's diff_id cannot put its content under that layer's key.
 * Blobs are immutable by digest, so a hit needs no other validation than its own integrity.
 */
export class LayerCache {
  /**
   * Layers read (or being read) in this process, by cache directory and key: a scan that misses the
   * cache while another scan of an image sharing the layer is reading it (a registry inventory with
   * --jobs) waits for that read and takes its cache entry, so each layer is decompressed once. Settled
   * entries stay (a resolved promise per layer read is a few bytes), which closes the window between
   * a miss and the other scan's write; a failed read is forgotten so the next scan reads it itself.
   */
  private static readonly reads = new Map<string, Promise<void>>();

  constructor(
    private readonly directory: string,
    private readonly analyzerFingerprint: string,
  ) {}

  private keyFor(digest: string): string {
    return createHash("sha256").update(`${CACHE_FORMAT}\0${digest}\0${this.analyzerFingerprint}`).digest("hex");
  }

  private fileFor(key: string): string {
    return path.join(this.directory, "layers", key.slice(0, 2), `${key}.json`);
  }

  /** The read of this layer another scan in this process started, if any (settled or not). */
  readInProgress(digest: string): Promise<void> | undefined {
    return LayerCache.reads.get(this.readKey(digest));
  }

  /**
   * Runs `read` (which walks the layer and puts it into this cache) as this process's one read of the
   * layer; call it synchronously after readInProgress() found none.
   */
  async readOnce<T>(digest: string, read: () => Promise<T>): Promise<T> {
    const id = this.readKey(digest);
    const running = read();
    const settled = running.then(
      () => undefined,
      () => {
        if (LayerCache.reads.get(id) === settled) LayerCache.reads.delete(id);
      },
    );
    LayerCache.reads.set(id, settled);
    return running;
  }

  private readKey(digest: string): string {
    return `${this.directory}\0${this.keyFor(digest)}`;
  }

  /** The snapshot read from the blob with this (verified) digest, if one is stored. */
  async get(digest: string): Promise<LayerSnapshot | undefined> {
    const key = this.keyFor(digest);
    let stored: StoredSnapshot;
    try {
      stored = JSON.parse(await readFile(this.fileFor(key), "utf8")) as StoredSnapshot;
    } catch {
      return undefined;
    }
    // A partial or foreign file is a miss, never an error: the layer is simply read again.
    if (stored.format !== CACHE_FORMAT || stored.key !== key || stored.digest !== digest) return undefined;
    return {
      diffId: stored.diffId,
      files: new Map(stored.files.map(([file, content]) => [file, Buffer.from(content, "base64")])),
      symlinks: new Map(stored.symlinks),
      hardlinks: new Map(stored.hardlinks),
      whiteouts: stored.whiteouts,
      opaqueDirs: stored.opaqueDirs,
      shadowed: stored.shadowed,
      analyzed: new Map(stored.analyzed),
      warnings: stored.warnings,
      stats: stored.stats,
    };
  }

  /** Stores `snapshot` under `digest`, which must be the digest its blob was verified against as it was read. */
  async put(digest: string, snapshot: LayerSnapshot): Promise<void> {
    const key = this.keyFor(digest);
    const stored: StoredSnapshot = {
      format: CACHE_FORMAT,
      key,
      digest,
      diffId: snapshot.diffId,
      files: [...snapshot.files].map(([file, content]) => [file, content.toString("base64")]),
      symlinks: [...snapshot.symlinks],
      hardlinks: [...snapshot.hardlinks],
      whiteouts: snapshot.whiteouts,
      opaqueDirs: snapshot.opaqueDirs,
      shadowed: snapshot.shadowed,
      analyzed: [...snapshot.analyzed],
      warnings: snapshot.warnings,
      stats: snapshot.stats,
    };
    // Temp file then rename, so a crash or a concurrent scan never leaves a half-written entry behind.
    await writeFileAtomic(this.fileFor(key), JSON.stringify(stored));
  }
}
