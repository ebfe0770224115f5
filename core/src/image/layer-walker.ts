import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { HostileInputError, ImageError } from "../errors.js";
import { DECODE_LEAD_BYTES, decompressAuto, layerBombError, type Compression } from "./decompress.js";
import { BLOB_READ_BYTES, FileBlob } from "./file-blob.js";
import { SpillDecoder } from "./spill-decoder.js";
import {
  withinBound,
  type FileCataloger,
  type FileContent,
  type PackageCandidate,
  type StreamCondenser,
} from "../catalog/types.js";
import { incompleteWarning } from "../catalog/warnings.js";
import { dirname, normalizeEntryPath } from "./paths.js";
import { SpooledFile } from "./spooled-file.js";
import { TarParser, type TarEntryHeader, type TarEntrySink } from "./tar-parser.js";

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
 * It is independent of the layers below, so it can be cached by the digest of what was read.
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
  /**
   * What file catalogers found, by path. A path they looked at but found nothing in maps to [],
   * because that still replaces whatever a lower layer had there.
   */
  analyzed: Map<string, PackageCandidate[]>;
  warnings: string[];
  stats: { compression: Compression; uncompressedBytes: number; entries: number; collectedBytes: number };
}

export type PathFilter = (path: string, size: number) => boolean;

export interface WalkOptions {
  /** Names the layer in errors and warnings. */
  what: string;
  /** Files the view catalogers (and OS detection) want buffered whole. */
  wants: PathFilter;
  /**
   * For a file some view cataloger wants by name but will not read at this size: who refuses it and
   * their bound ("dpkg (268435456 bytes)"). Each refusal becomes an `inventory-incomplete` warning.
   */
  refusedBy?: (path: string, size: number) => readonly string[];
  /**
   * For a wanted file only one view cataloger reads: a condenser to stream it through, so what is
   * kept is the condensed content and the file is never held whole (docs/matching-rules.md P20).
   */
  condense?: (path: string, size: number) => StreamCondenser | undefined;
  /** Catalogers that analyse single files as they stream past. */
  fileCatalogers?: FileCataloger[];
  limits?: LayerLimits;
  /** Where files too big for memory are spilled while a file cataloger reads them. */
  tempDir?: string;
  /**
   * Hash the uncompressed stream and refuse it unless it is `diffId` (default true). Callers whose
   * blob stream verifies its own digest before it ends (ResolvedImage.openLayer; readLayerSnapshots)
   * pass false, so each byte is hashed once: that digest covers an uncompressed layer whole, and it
   * is what identifies a compressed one (the diff_id is then the image's claim, as in
   * go-containerregistry and Trivy).
   */
  verifyDiffId?: boolean;
}

const SNIFF_BYTES = 4096;
/** Files from this size on are read by position from a spilled layer (windowSink); smaller ones pass whole. */
const WINDOW_MIN_BYTES = 64 * 1024;
const WHITEOUT_PREFIX = ".wh.";
const OPAQUE_MARKER = ".wh..wh..opq";

/** A layer's snapshot before its tar is read: nothing found yet. */
export function emptySnapshot(diffId: string): LayerSnapshot {
  return {
    diffId,
    files: new Map(),
    symlinks: new Map(),
    hardlinks: new Map(),
    whiteouts: [],
    opaqueDirs: [],
    shadowed: [],
    analyzed: new Map(),
    warnings: [],
    stats: { compression: "none", uncompressedBytes: 0, entries: 0, collectedBytes: 0 },
  };
}

/**
 * Reads one layer blob in a single streaming pass: decompresses it (by magic bytes), checks the
 * uncompressed digest against `diffId` (unless verifyDiffId is false), records whiteouts and symlinks, buffers only the regular
 * files view catalogers want, and runs file catalogers on the files they want. Nothing else is held:
 * the tar is parsed in place from the decompressor's chunks (TarParser), so the data of entries no
 * one wants is stepped over, never copied or streamed.
 */
export async function walkLayer(blob: Readable, diffId: string, options: WalkOptions): Promise<LayerSnapshot> {
  const { what, wants } = options;
  const limits = options.limits ?? DEFAULT_LAYER_LIMITS;
  const fileCatalogers = options.fileCatalogers ?? [];
  const snapshot = emptySnapshot(diffId);
  const handleEntry = (header: TarEntryHeader): TarEntrySink | undefined => {
    snapshot.stats.entries += 1;
    if (snapshot.stats.entries > limits.maxEntries) {
      throw new HostileInputError(`${what} has more than ${limits.maxEntries} tar entries; refusing it`);
    }
    const path = normalizeEntryPath(header.name, what);
    const size = header.size;
    if (path === "") return undefined;
    // Looked at in place: cutting out the base name of every entry only to find it is no whiteout
    // was a string per entry.
    const nameStart = path.lastIndexOf("/") + 1;
    if (path.startsWith(WHITEOUT_PREFIX, nameStart)) {
      const name = path.slice(nameStart);
      if (name === OPAQUE_MARKER) snapshot.opaqueDirs.push(dirname(path));
      // Other ".wh..wh." names are AUFS bookkeeping (hard-link dirs), not deletions.
      else if (!name.startsWith(".wh..wh.")) {
        const parent = dirname(path);
        const hidden = name.slice(WHITEOUT_PREFIX.length);
        snapshot.whiteouts.push(parent ? `${parent}/${hidden}` : hidden);
      }
      return undefined;
    }
    switch (header.type) {
      case "symlink":
        snapshot.symlinks.set(path, header.linkname);
        return undefined;
      case "link":
        if (wants(path, size)) snapshot.hardlinks.set(path, normalizeEntryPath(header.linkname, what));
        return undefined;
      case "file":
      case "contiguous-file":
        return collectRegularFile(path, size, header.mode, header.offset);
      default:
        if (wants(path, size)) snapshot.shadowed.push(path);
        return undefined;
    }
  };

  // Asked for every regular file of every layer, and most are wanted by no one: nothing here is
  // captured by a closure (no context object per call, unlike when the sink's closures lived here
  // too), and the sink for a file someone reads is built apart (spoolSink).
  const collectRegularFile = (path: string, size: number, mode: number, offset: number): TarEntrySink | undefined => {
    const forView = wants(path, size);
    let byName: FileCataloger[] | undefined;
    for (let i = 0; i < fileCatalogers.length; i++) {
      const cataloger = fileCatalogers[i]!;
      if (cataloger.wants(path, size, mode)) (byName ??= []).push(cataloger);
    }
    const viewRefusals = options.refusedBy?.(path, size);
    // Most entries of a layer are wanted by no one: leave before building any array for them.
    if (!forView && !byName && !viewRefusals?.length) return undefined;
    const wantedByName = byName ?? NO_CATALOGERS;
    let forFiles = NO_CATALOGERS;
    if (byName) {
      forFiles = [];
      for (let i = 0; i < byName.length; i++) if (withinBound(byName[i]!, path, size)) forFiles.push(byName[i]!);
    }
    const wantedByFileCatalogers = wantedByName.length > 0;
    // Nothing wanted is dropped silently: a file over a cataloger's bound still says so, and still
    // replaces what a lower layer's copy yielded. The list is built only when something is refused.
    let refused: string[] | undefined = viewRefusals?.length ? [...viewRefusals] : undefined;
    if (forFiles.length < wantedByName.length)
      for (const cataloger of wantedByName)
        if (!forFiles.includes(cataloger))
          (refused ??= []).push(`${cataloger.name} (${cataloger.maxBytes?.(path)} bytes)`);
    if (refused) {
      snapshot.warnings.push(
        incompleteWarning(path, `not read by ${refused.join(", ")}: ${size} bytes is over that limit (${what})`),
      );
      if (!forView) snapshot.shadowed.push(path);
    }
    if (!forView && forFiles.length === 0) {
      if (wantedByFileCatalogers) snapshot.analyzed.set(path, []);
      return undefined;
    }
    if (size > limits.maxFileBytes || snapshot.stats.collectedBytes + size > limits.maxCollectedBytes) {
      const limit =
        size > limits.maxFileBytes
          ? `the per-file limit of ${limits.maxFileBytes} bytes`
          : `the per-layer collection limit of ${limits.maxCollectedBytes} bytes`;
      snapshot.warnings.push(incompleteWarning(path, `not read: ${size} bytes would exceed ${limit} (${what})`));
      snapshot.shadowed.push(path);
      if (wantedByFileCatalogers) snapshot.analyzed.set(path, []);
      return undefined;
    }
    const condenser = forView && forFiles.length === 0 ? options.condense?.(path, size) : undefined;
    if (condenser) return condenseSink(path, condenser);
    if (!forView && spilled && size >= WINDOW_MIN_BYTES) return windowSink(path, size, mode, offset, forFiles, spilled);
    return spoolSink(path, size, mode, forView, forFiles, wantedByFileCatalogers);
  };

  /**
   * A wanted file's bytes, kept (forView) or read by the file catalogers `catalogers` (those within
   * their bound; `wantedByFileCatalogers` when any wanted it by name) as they stream past.
   */
  const spoolSink = (
    path: string,
    size: number,
    mode: number,
    forView: boolean,
    catalogers: FileCataloger[],
    wantedByFileCatalogers: boolean,
  ): TarEntrySink => {
    let forFiles = catalogers;
    // A file only file catalogers read is analysed (and disposed) before the parser moves on, so it
    // can stay as views of the chunks it arrived in: no copy of its bytes (SpooledFile `transient`).
    const spooled = new SpooledFile(options.tempDir, undefined, size, !forView);
    let sniffed = false;
    let discard = false;
    const sniff = (): Promise<void> | undefined => {
      sniffed = true;
      forFiles = sniffCatalogers(forFiles, spooled.head(SNIFF_BYTES), path);
      if (forView || forFiles.length > 0) return undefined;
      snapshot.analyzed.set(path, []);
      discard = true;
      return spooled.dispose();
    };
    const finishSpilled = async (): Promise<void> => {
      try {
        snapshot.stats.collectedBytes += forView ? spooled.size : 0;
        const content = await spooled.content(path, mode);
        if (forView) snapshot.files.set(path, await content.readAll());
        if (wantedByFileCatalogers) snapshot.analyzed.set(path, await analyzeFile(forFiles, content));
      } finally {
        await spooled.dispose();
      }
    };
    // Synchronous unless a file cataloger reads the file or it went to disk: the parser then goes
    // on without a promise and an async frame per file (thousands per layer, most never analysed).
    const finish = (): Promise<void> | undefined => {
      if (discard) return undefined;
      if (!sniffed) {
        const disposing = sniff();
        // Even when every sniff said no, the entry replaces what a lower layer's copy yielded.
        if (discard) return disposing;
      }
      if (spooled.spilled) return finishSpilled();
      snapshot.stats.collectedBytes += forView ? spooled.size : 0;
      // readAllNow is the file's own buffer (small files) or a join (a copy) of its chunks: either
      // way the snapshot never pins the decompressor's buffers.
      if (forView) snapshot.files.set(path, spooled.readAllNow());
      if (!wantedByFileCatalogers || forFiles.length === 0) {
        if (wantedByFileCatalogers) snapshot.analyzed.set(path, []);
        // In memory, disposing is done when the call returns.
        void spooled.dispose();
        return undefined;
      }
      return analyzeFile(forFiles, spooled.contentNow(path, mode))
        .then((found) => {
          snapshot.analyzed.set(path, found);
        })
        .finally(() => spooled.dispose());
    };
    return {
      write(data) {
        if (discard) return undefined;
        const spilling = spooled.write(data);
        const sniffNow = !sniffed && spooled.size >= Math.min(SNIFF_BYTES, size);
        if (spilling) return sniffNow ? spilling.then(sniff) : spilling;
        return sniffNow ? sniff() : undefined;
      },
      end: finish,
      abort: () => void spooled.dispose(),
      // Every sniff said no: the rest of the file need not even be read.
      get satisfied() {
        return discard;
      },
      // A small kept file is copied as it arrives: the reader may reuse its buffer meanwhile.
      get holdsChunks() {
        return spooled.holdsChunks;
      },
    };
  };

  /**
   * A big file only file catalogers read, in a layer decoded into a spill file: they read what they
   * need of it there, by position (an ELF's headers and build-info sections, a jar's directory and a
   * few entries), once the walker has stepped over its data (the sink is satisfied from the start),
   * instead of the walker reading all of it into memory first.
   */
  const windowSink = (
    path: string,
    size: number,
    mode: number,
    offset: number,
    catalogers: FileCataloger[],
    decoded: SpillDecoder,
  ): TarEntrySink => ({
    satisfied: true,
    holdsChunks: false,
    write: () => undefined,
    end: async () => {
      const read = (at: number, length: number): Promise<Buffer> =>
        decoded.readRange(offset + at, Math.max(0, Math.min(length, size - at)));
      const content: FileContent = { path, size, mode, read, readAll: () => read(0, size) };
      const sniffed = sniffCatalogers(catalogers, await read(0, Math.min(SNIFF_BYTES, size)), path);
      snapshot.analyzed.set(path, sniffed.length > 0 ? await analyzeFile(sniffed, content) : []);
    },
  });

  const condenseSink = (path: string, condenser: StreamCondenser): TarEntrySink => {
    // The raw size passed the limits above; the condensed copy must fit them too.
    const room = Math.min(limits.maxFileBytes, limits.maxCollectedBytes - snapshot.stats.collectedBytes);
    let overflow = false;
    return {
      write(data) {
        if (!overflow) {
          condenser.write(data);
          overflow = condenser.size > room;
        }
        return undefined;
      },
      end() {
        const content = overflow ? undefined : condenser.end();
        if (!content || content.length > room) {
          snapshot.warnings.push(
            incompleteWarning(
              path,
              `not read: its condensed content exceeds the ${room} bytes left to collect (${what})`,
            ),
          );
          snapshot.shadowed.push(path);
          return undefined;
        }
        snapshot.stats.collectedBytes += content.length;
        snapshot.files.set(path, content);
        return undefined;
      },
    };
  };

  const analyzeFile = async (catalogers: FileCataloger[], content: Awaited<ReturnType<SpooledFile["content"]>>) => {
    const found: PackageCandidate[] = [];
    for (const cataloger of catalogers) {
      const context = { warnings: [] as string[], ...(options.tempDir ? { tempDir: options.tempDir } : {}) };
      try {
        found.push(...(await cataloger.analyze(content, context)));
      } catch (error) {
        // A cataloger must not take the scan down with it; the file is reported and skipped.
        context.warnings.push(`${cataloger.name}: ${content.path}: ${(error as Error).message}`);
      }
      snapshot.warnings.push(...context.warnings);
    }
    return found;
  };

  const parser = new TarParser(what, handleEntry);
  const hash = options.verifyDiffId === false ? undefined : createHash("sha256");
  // A layer decoded into a spill file whose bytes need not all pass here (no diff_id hashed): big
  // files only file catalogers read are then read by position (windowSink).
  let spilled: SpillDecoder | undefined;
  let uncompressed = 0;
  try {
    const decompressed = decompressAuto(
      blob,
      (compression) => {
        snapshot.stats.compression = compression;
      },
      {
        spill: {
          ...(options.tempDir ? { dir: options.tempDir } : {}),
          maxBytes: limits.maxLayerBytes,
          tooBig: () => layerBombError(what, limits.maxLayerBytes),
        },
      },
    );
    // Each chunk is counted, hashed (when the diff_id is checked here) and parsed; a returned promise
    // means a sink awaits (a spill to disk, a file cataloger) and the source must wait for it.
    const take = (chunk: Buffer): Promise<void> | undefined => {
      uncompressed += chunk.length;
      if (uncompressed > limits.maxLayerBytes) throw layerBombError(what, limits.maxLayerBytes);
      // The digest covers every byte, including any after the end-of-archive blocks.
      hash?.update(chunk);
      if (parser.ended) return undefined;
      return parser.write(chunk);
    };
    if (decompressed instanceof SpillDecoder) {
      // Nothing is stepped over when every byte must pass through the diff_id's hash.
      if (!hash) spilled = decompressed;
      const skipped = (bytes: number): void => {
        uncompressed += bytes;
      };
      await pullSpilled(decompressed, take, parser, spilled ? skipped : undefined);
    } else if (decompressed instanceof FileBlob) await pullChunks(decompressed, take, () => parser.holdsChunks);
    else await streamChunks(decompressed, take);
    parser.end();
  } catch (error) {
    parser.abort();
    if (error instanceof ImageError) throw error;
    throw new ImageError(
      `${what} is not a readable layer tar (${(error as Error).message}); the archive may be truncated or corrupt`,
      { cause: error },
    );
  }
  snapshot.stats.uncompressedBytes = uncompressed;
  if (!hash) return snapshot;
  const actualDiffId = `sha256:${hash.digest("hex")}`;
  if (actualDiffId !== diffId) {
    throw new ImageError(
      `${what}: uncompressed content ${actualDiffId} does not match the config's diff_id ${diffId}; the image is corrupt or was tampered with`,
    );
  }
  return snapshot;
}

/** Shared by every file no file cataloger wants; never changed (sniffing makes a new array). */
const NO_CATALOGERS: FileCataloger[] = [];

function sniffCatalogers(catalogers: FileCataloger[], head: Buffer, path: string): FileCataloger[] {
  return catalogers.filter((cataloger) => !cataloger.sniff || cataloger.sniff(head, path));
}

/** Recycled read buffers of a pull source: one being parsed while the next is read. */
const PULL_BUFFERS = 2;

/**
 * Feeds `take` from an uncompressed file blob read into a few reused buffers: the next read runs
 * while a chunk is parsed, and no buffer is allocated (and page-faulted in) per read. An open entry's sink may hold views of the chunks it was given until the entry ends
 * (TarEntrySink), so a buffer whose chunk ends inside such an entry (`pinned`) is left to it and
 * replaced by a new one; most chunks end between entries no one wants, and their buffer is reused.
 */
async function pullChunks(
  source: FileBlob,
  take: (chunk: Buffer) => Promise<void> | undefined,
  pinned: () => boolean,
): Promise<void> {
  const buffers = Array.from({ length: PULL_BUFFERS }, () => Buffer.allocUnsafeSlow(BLOB_READ_BYTES));
  let turn = 0;
  // A read that fails while the previous chunk is still being parsed is reported when it is awaited.
  const read = (buffer: Buffer): Promise<Buffer | null> => {
    const reading = source.next(buffer);
    reading.catch(() => undefined);
    return reading;
  };
  // Its failures reach us as next()'s rejections; the 'error' event its destroy() also emits is not news.
  source.on("error", () => undefined);
  let pending = read(buffers[0]!);
  try {
    for (;;) {
      const chunk = await pending;
      if (chunk === null) return;
      const filled = turn;
      turn = (turn + 1) % PULL_BUFFERS;
      pending = read(buffers[turn]!);
      const parsing = take(chunk);
      if (parsing) await parsing;
      if (pinned()) buffers[filled] = Buffer.allocUnsafeSlow(BLOB_READ_BYTES);
    }
  } catch (error) {
    source.destroy();
    throw error;
  }
}

/** The first read, and the first after a skip: room for the next header and a few small entries, not a whole MiB of what may be skipped again. */
const AFTER_SKIP_BYTES = 64 * 1024;

/**
 * Feeds `take` from a spilled decoder's file, stepping over what no one reads when `skipped` is given
 * (told each step): after each chunk, the rest of an entry no sink wants (or whose sink has seen
 * enough, e.g. a sniffed head) is skipped by position instead of read. After a skip the next read is
 * small (AFTER_SKIP_BYTES), doubling back to BLOB_READ_BYTES while chunks are parsed through: in the
 * issue-sized image most bytes are the data of files no cataloger wants (1 MiB fillers, shared
 * libraries past their sniffed head), which the main thread then never copies. Only for a stream
 * whose digest is not taken here (the blob's digest covers it). Reads are sequential (they are
 * synchronous copies from the page cache): one that ran ahead could not know what will be skipped.
 */
async function pullSpilled(
  source: SpillDecoder,
  take: (chunk: Buffer) => Promise<void> | undefined,
  parser: TarParser,
  skipped: ((bytes: number) => void) | undefined,
): Promise<void> {
  let buffer = Buffer.allocUnsafeSlow(BLOB_READ_BYTES);
  // Where in `buffer` the next read may go: past every byte an open sink may still hold a view of.
  let free = 0;
  // Small at first too: a layer may begin with a big file no one wants.
  let size = AFTER_SKIP_BYTES;
  // Its failures reach us as next()'s rejections; the 'error' event its destroy() also emits is not news.
  source.on("error", () => undefined);
  try {
    for (;;) {
      // A sink holding views of a small read (the size after a skip) leaves the rest of the buffer
      // free: the next read goes there, and a new buffer (and its page faults) is taken only once
      // less than half the wanted size is left.
      if (buffer.length - free < size / 2) {
        buffer = Buffer.allocUnsafeSlow(BLOB_READ_BYTES);
        free = 0;
      }
      const chunk = await source.next(buffer.subarray(free, free + size));
      if (chunk === null) return;
      const end = free + chunk.length;
      const parsing = take(chunk);
      if (parsing) await parsing;
      const skippable = parser.skippable;
      if (skipped && skippable > 0) {
        source.skip(skippable);
        skipped(skippable);
        const ending = parser.skip(skippable);
        if (ending) await ending;
        size = AFTER_SKIP_BYTES;
      } else size = Math.min(BLOB_READ_BYTES, size * 2);
      // A sink still open may hold views of the chunk: leave what was read to it (see pullChunks),
      // the next read starting at a word boundary after it (headers are summed word-wise there).
      free = parser.holdsChunks ? (end + 7) & ~7 : 0;
    }
  } catch (error) {
    source.destroy();
    throw error;
  }
}

/** Decoded bytes waiting for the parser before the decoder is paused: as far as decoders may run ahead. */
const QUEUE_BYTES = DECODE_LEAD_BYTES;

/**
 * Feeds `take` from a stream's 'data' events, chunks as the decoder made them (an async iterator's
 * read() may join several). A chunk is parsed on the next tick, not inside the 'data' event: zlib
 * (gzip, native zstd) pushes a chunk out and only then, on return, starts decoding the next one on
 * the thread pool, so parsing inside the event kept the decoder idle for as long as each chunk took
 * to parse; deferred, the two run at the same time on the two cores. Up to QUEUE_BYTES wait; the
 * stream is paused beyond that, and while a sink awaits (a spill to disk, a file cataloger).
 */
function streamChunks(source: Readable, take: (chunk: Buffer) => Promise<void> | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const queue: Buffer[] = [];
    let head = 0;
    let queued = 0;
    let scheduled = false;
    let waiting = false;
    let ended = false;
    let failed = false;
    const fail = (error: Error): void => {
      if (failed) return;
      failed = true;
      source.destroy();
      reject(error);
    };
    const drain = (): void => {
      scheduled = false;
      while (head < queue.length && !failed) {
        const chunk = queue[head]!;
        queue[head++] = undefined as unknown as Buffer;
        queued -= chunk.length;
        let parsing: Promise<void> | undefined;
        try {
          parsing = take(chunk);
        } catch (error) {
          return fail(error as Error);
        }
        if (parsing) {
          waiting = true;
          source.pause();
          parsing.then(() => {
            waiting = false;
            drain();
          }, fail);
          return;
        }
      }
      if (failed) return;
      queue.length = 0;
      head = 0;
      if (ended) resolve();
      else if (source.isPaused()) source.resume();
    };
    source.on("data", (chunk: Buffer) => {
      if (failed) return;
      queue.push(chunk);
      queued += chunk.length;
      if (queued >= QUEUE_BYTES) source.pause();
      if (!scheduled && !waiting) {
        scheduled = true;
        process.nextTick(drain);
      }
    });
    source.on("error", fail);
    // 'end' can come while chunks still wait or the last entry is still being analysed.
    source.on("end", () => {
      ended = true;
      if (!scheduled && !waiting && head >= queue.length) resolve();
    });
  });
}
