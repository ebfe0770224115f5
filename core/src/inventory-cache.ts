import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import path from "node:path";
import type { Inventory } from "./catalog/inventory.js";
import { jsonText, packagesJson, untouchedPackagesJson, withPackagesJson } from "./catalog/packages-json.js";
import { verifiedDigest, type LayerDescriptor } from "./image/types.js";
import { jsonLogSafe, jsonLogSafeAlready } from "./report/neutralize.js";
import { STORED_CHUNK_BYTES, fileIdentity, withStoredPackages } from "./stored-packages.js";
import { writeFileAtomic } from "./write-atomic.js";

/**
 * Bump when the key's inputs or the catalogers' output format change: old entries then miss. 2: keyed
 * by each layer's verified digest (and its diff_id claim) instead of the diff_ids alone.
 */
const FORMAT = 2;

/**
 * The layout of the file, checked on read but not part of the key: a file written in an older
 * layout (format 1 was the whole inventory as one JSON object; in 2 the package list was not yet
 * stored log-safe) is a miss and is written again.
 */
const LAYOUT = 3;

/**
 * The file's first line: everything but the packages, which follow it as the text the JSON report
 * writes for them (catalog/packages-json.ts), made log-safe (jsonLogSafe), `packagesBytes` bytes of UTF-8.
 */
interface StoredHeader extends Omit<Inventory, "packages"> {
  format: number;
  key: string;
  packagesBytes: number;
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

  /**
   * The stored inventory, its packages left in the file until read (withStoredPackages): a JSON
   * report copies their stored text from the file instead (stored-packages.ts).
   */
  async get(): Promise<Inventory | undefined> {
    // A partial or foreign file (or one in an older layout, without a header line) is a miss, never
    // an error: the image is simply cataloged again. Synchronous reads: a warm rescan waits for
    // nothing else, and a thread-pool round trip per chunk (and loading fs/promises) costs more.
    const file = this.file;
    let fd: number;
    try {
      fd = openSync(file, "r");
    } catch {
      return undefined;
    }
    try {
      return this.readStored(file, fd);
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The header line, then the package list checked through one small buffer (STORED_CHUNK_BYTES): that
   * it is as long as the header says and an array, and whether it is still log-safe (stored so, but a
   * file on disk is not taken at its word: a CI cache can be restored from another, less trusted job;
   * if not, the report neutralises it on its string path). A byte search per chunk, "##" across chunks too.
   */
  private readStored(file: string, fd: number): Inventory | undefined {
    const { identity, size } = fileIdentity(fd);
    const buffer = Buffer.allocUnsafeSlow(Math.min(STORED_CHUNK_BYTES, size));
    let filled = 0;
    let end = -1;
    // The header is a few hundred bytes; one longer than a chunk is read on until its line ends.
    let head = buffer;
    while (end < 0 && filled < size) {
      if (filled === head.length) head = Buffer.concat([head, Buffer.allocUnsafe(head.length)]);
      const n = readSync(fd, head, filled, head.length - filled, filled);
      if (n === 0) return undefined;
      end = head.indexOf(0x0a, filled);
      filled += n;
    }
    if (end < 0) return undefined;
    const header = JSON.parse(head.toString("utf8", 0, end)) as StoredHeader;
    if (header?.format !== LAYOUT || header.key !== this.key || !Array.isArray(header.warnings)) return undefined;
    const start = end + 1;
    if (size - start !== header.packagesBytes || header.packagesBytes < 2) return undefined;
    let logSafe = true;
    let previous = 0;
    for (let offset = start; offset < size;) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, size - offset), offset);
      if (n === 0) return undefined;
      const chunk = buffer.subarray(0, n);
      if (offset === start && chunk[0] !== 0x5b) return undefined;
      if (offset + n === size && chunk[n - 1] !== 0x5d) return undefined;
      logSafe &&= jsonLogSafeAlready(chunk) && !(previous === 0x23 && chunk[0] === 0x23);
      previous = chunk[n - 1]!;
      offset += n;
    }
    return withStoredPackages(
      { os: header.os, packages: [], warnings: header.warnings },
      { file, start, size: header.packagesBytes, logSafe, identity },
    );
  }

  /** Stores `inventory`; its packages' JSON is kept on it, so this run's JSON report does not serialize them again. */
  async put(inventory: Inventory): Promise<void> {
    const untouched = untouchedPackagesJson(inventory);
    // Log-safe, as the JSON report writes it (the same value, parsed), so a warm rescan's report copies it as it is.
    const json = untouched === undefined ? packagesJson(inventory.packages) : jsonText(untouched);
    let packageBytes = Buffer.from(json);
    // Nearly every package list is log-safe as it is: byte searches over its UTF-8 say so for a
    // fraction of jsonLogSafe's regex scan of the whole text (~1.4 MB for the issue-sized image).
    if (!jsonLogSafeAlready(packageBytes)) packageBytes = Buffer.from(jsonLogSafe(json));
    // As bytes, which this run's JSON report then copies as well.
    if (untouched === undefined) withPackagesJson(inventory, packageBytes, inventory.packages, true);
    const header: StoredHeader = {
      format: LAYOUT,
      key: this.key,
      os: inventory.os,
      warnings: inventory.warnings,
      packagesBytes: packageBytes.length,
    };
    // Temp file then rename: a crash or a concurrent scan never leaves a half-written entry behind.
    await writeFileAtomic(this.file, Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), packageBytes]));
  }
}
