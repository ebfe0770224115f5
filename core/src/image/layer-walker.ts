import { createHash } from "node:crypto";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { HostileInputError, ImageError } from "../errors.js";
import { ByteLimit, decompressAuto, type Compression } from "./decompress.js";
import { basename, dirname, normalizeEntryPath } from "./paths.js";

/** Bounds that keep a hostile or broken layer from exhausting memory or time. */
export interface LayerLimits {
  /** Uncompressed bytes of one layer tar. */
  maxLayerBytes: number;
  /** Bytes of one collected file; larger wanted files are skipped with a warning. */
  maxFileBytes: number;
  /** Sum of collected file bytes in one layer. */
  maxCollectedBytes: number;
  /** Tar entries in one layer. */
  maxEntries: number;
}

export const DEFAULT_LAYER_LIMITS: LayerLimits = {
  maxLayerBytes: 32 * 1024 ** 3,
  maxFileBytes: 256 * 1024 ** 2,
  maxCollectedBytes: 1024 ** 3,
  maxEntries: 2_000_000,
};

/**
 * What one layer contributes to the image filesystem, as far as the catalogers care.
 * It is independent of the layers below, so it can be cached by diffID.
 */
export interface LayerSnapshot {
  diffId: string;
  /** Regular files some cataloger wants, by root-relative path. */
  files: Map<string, Buffer>;
  /** Every symlink in the layer (path -> target as written); they are cheap and os-release is often one. */
  symlinks: Map<string, string>;
  /** Hard links whose path some cataloger wants (path -> root-relative target). */
  hardlinks: Map<string, string>;
  /** Paths deleted from lower layers by `.wh.NAME` entries. */
  whiteouts: string[];
  /** Directories whose lower-layer content is hidden by `.wh..wh..opq`. */
  opaqueDirs: string[];
  /** Wanted paths this layer rewrote with something not collected (too big, a directory ...); they hide lower copies. */
  shadowed: string[];
  warnings: string[];
  stats: { compression: Compression; uncompressedBytes: number; entries: number; collectedBytes: number };
}

/** tar-stream hands each entry's content over as a streamx Readable. */
type EntryStream = tar.ExtractEvents["entry"][1];

export type PathFilter = (path: string, size: number) => boolean;

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE_MARKER = ".wh..wh..opq";

/** Hashes the uncompressed tar so the result can be checked against the config's diff_id. */
class Sha256Tap extends Transform {
  readonly hash = createHash("sha256");
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

/**
 * Reads one layer blob in a single streaming pass: decompresses it (by magic bytes), checks the
 * uncompressed digest against `diffId`, records whiteouts and symlinks, and buffers only the
 * regular files `wants` selects. Nothing else is held in memory.
 */
export async function walkLayer(
  blob: Readable,
  diffId: string,
  wants: PathFilter,
  what: string,
  limits: LayerLimits = DEFAULT_LAYER_LIMITS,
): Promise<LayerSnapshot> {
  const snapshot: LayerSnapshot = {
    diffId,
    files: new Map(),
    symlinks: new Map(),
    hardlinks: new Map(),
    whiteouts: [],
    opaqueDirs: [],
    shadowed: [],
    warnings: [],
    stats: { compression: "none", uncompressedBytes: 0, entries: 0, collectedBytes: 0 },
  };
  const limit = new ByteLimit(limits.maxLayerBytes, what);
  const tap = new Sha256Tap();
  const extract = tar.extract();

  extract.on("entry", (header, stream, next) => {
    const done = (error?: unknown): void => next(error as Error | undefined);
    // When the walk fails, tar-stream destroys the entry stream with the same error it hands the
    // pipeline; without a listener here that copy would surface as an uncaught exception.
    stream.on("error", () => undefined);
    try {
      snapshot.stats.entries += 1;
      if (snapshot.stats.entries > limits.maxEntries) {
        throw new HostileInputError(`${what} has more than ${limits.maxEntries} tar entries; refusing it`);
      }
      const path = normalizeEntryPath(header.name, what);
      const size = header.size ?? 0;
      if (path === "") {
        stream.resume().on("end", done);
        return;
      }
      const name = basename(path);
      if (name.startsWith(WHITEOUT_PREFIX)) {
        if (name === OPAQUE_MARKER) snapshot.opaqueDirs.push(dirname(path));
        // Other ".wh..wh." names are AUFS bookkeeping (hard-link dirs), not deletions.
        else if (!name.startsWith(".wh..wh.")) {
          const parent = dirname(path);
          const hidden = name.slice(WHITEOUT_PREFIX.length);
          snapshot.whiteouts.push(parent ? `${parent}/${hidden}` : hidden);
        }
        stream.resume().on("end", done);
        return;
      }
      switch (header.type) {
        case "symlink":
          snapshot.symlinks.set(path, header.linkname ?? "");
          break;
        case "link":
          if (wants(path, size)) snapshot.hardlinks.set(path, normalizeEntryPath(header.linkname ?? "", what));
          break;
        case "file":
        case "contiguous-file":
          if (wants(path, size)) {
            collectFile(path, size, stream, snapshot, limits, what, done);
            return;
          }
          break;
        default:
          if (wants(path, size)) snapshot.shadowed.push(path);
      }
      stream.resume().on("end", done);
    } catch (error) {
      stream.resume();
      done(error);
    }
  });

  try {
    const decompressed = decompressAuto(blob, (compression) => {
      snapshot.stats.compression = compression;
    });
    await pipeline(decompressed, limit, tap, extract);
  } catch (error) {
    if (error instanceof ImageError) throw error;
    throw new ImageError(
      `${what} is not a readable layer tar (${(error as Error).message}); the archive may be truncated or corrupt`,
      {
        cause: error,
      },
    );
  }
  snapshot.stats.uncompressedBytes = limit.bytes;
  const actualDiffId = `sha256:${tap.hash.digest("hex")}`;
  if (actualDiffId !== diffId) {
    throw new ImageError(
      `${what}: uncompressed content ${actualDiffId} does not match the config's diff_id ${diffId}; the image is corrupt or was tampered with`,
    );
  }
  return snapshot;
}

function collectFile(
  path: string,
  size: number,
  stream: EntryStream,
  snapshot: LayerSnapshot,
  limits: LayerLimits,
  what: string,
  done: (error?: unknown) => void,
): void {
  if (size > limits.maxFileBytes || snapshot.stats.collectedBytes + size > limits.maxCollectedBytes) {
    snapshot.warnings.push(
      `${what}: skipped ${path} (${size} bytes) because it exceeds the per-file or per-layer collection limit`,
    );
    snapshot.shadowed.push(path);
    stream.resume();
    stream.on("end", () => done());
    return;
  }
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
  stream.on("error", (error: unknown) => done(error));
  stream.on("end", () => {
    const content = Buffer.concat(chunks);
    snapshot.stats.collectedBytes += content.length;
    snapshot.files.set(path, content);
    done();
  });
}
