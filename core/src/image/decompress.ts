import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { Duplex, PassThrough, Transform, type Readable, type TransformCallback, type Writable } from "node:stream";
import type * as Fzstd from "fzstd";
import { HostileInputError, ImageError } from "../errors.js";
import { lazyDependency } from "../lazy-dependency.js";
import { FileBlob, readBufferBytes } from "./file-blob.js";
import { ProgramDecoder } from "./program-decoder.js";
import { freeBytes, SpillDecoder, type SpillOptions } from "./spill-decoder.js";

// The last-resort zstd decoder, loaded only when neither native zstd nor the zstd program is there.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see lazyDependency
const fzstd = lazyDependency<typeof Fzstd>("fzstd", () => require("fzstd"));

export type Compression = "gzip" | "zstd" | "none";

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Media types lie (zstd blobs labelled gzip, plain tars labelled gzip), so the first bytes decide. */
export function detectCompression(head: Buffer): Compression {
  if (head.subarray(0, 2).equals(GZIP_MAGIC)) return "gzip";
  if (head.subarray(0, 4).equals(ZSTD_MAGIC)) return "zstd";
  return "none";
}

type ZlibWithZstd = typeof zlib & { createZstdDecompress?: (options?: zlib.ZlibOptions) => Transform };

/**
 * Output chunk of the in-process decoders: far bigger than the 16 KiB default. Each chunk is one
 * thread-pool job and one main-thread callback; since the walker parses on the next tick instead of
 * inside zlib's push, 1 MiB measured best (issue-sized image, idle machine, best of 4: gzip 1.60 ->
 * 1.35 s on Node 20, 1.46 -> 1.34 s on Node 24; native zstd 1.21 -> 1.15 s; 2 MiB no better). When
 * zlib's push ran the parser, bigger chunks only made each turn longer.
 */
const ZLIB_CHUNK = 1024 * 1024;

/**
 * How far a decoder may run ahead of the tar parser. With the 16 KiB stream default, zlib (on the
 * thread pool) or the zstd program stops after each chunk until the main thread has parsed it, so
 * the two take turns; with a few MiB of lead they work at the same time on the two cores.
 */
export const DECODE_LEAD_BYTES = 8 * 1024 * 1024;

/**
 * Who decodes a layer. Where the walker lets a program spill its output to a file (SpillDecoder: a
 * blob of 64 KiB or more, with room on the temp disk), the zstd program decodes on the other core and
 * costs the main thread only positioned reads, which measured less CPU than native zstd (Node >=
 * 22.15), whose every output chunk crosses into JavaScript. Elsewhere (small layers, STOWAWAY_SPILL=0)
 * native zstd with big chunks (ZLIB_CHUNK) measured faster than the program's pipe on Node 22 and 24.
 * So: program (spilling) > native > program (pipe) > fzstd. For gzip an external pigz decodes on its own threads beside tar parsing;
 * the gzip program costs twice zlib's CPU (2.3 s vs 1.1 s per 311 MiB), so zlib is the default.
 * Override per run with STOWAWAY_ZSTD=native|program|js and STOWAWAY_GUNZIP=pigz|gzip|zlib.
 */
export type ZstdDecoder = "program" | "native" | "js";
export type GzipDecoder = "pigz" | "gzip" | "zlib";

const onPath = new Map<string, boolean>();

/**
 * True when `program` is an executable file in a PATH directory (checked once per process and
 * program). A lookup, not a `--version` run: every gzip layer asks whether pigz is there, and
 * spawning a process to learn that it is not cost more than decoding a small layer.
 */
function hasProgram(program: string): boolean {
  let found = onPath.get(program);
  if (found === undefined) {
    found = (process.env.PATH ?? "").split(path.delimiter).some((dir) => {
      if (dir === "") return false;
      try {
        accessSync(path.join(dir, program), constants.X_OK);
        return statSync(path.join(dir, program)).isFile();
      } catch {
        return false;
      }
    });
    onPath.set(program, found);
  }
  return found;
}

const hasNativeZstd = (): boolean => typeof (zlib as ZlibWithZstd).createZstdDecompress === "function";

/**
 * The zstd decoder for a layer: the requested one when it is available, else the program when the
 * layer may spill, else native > program > js.
 */
export function zstdDecoder(env: NodeJS.ProcessEnv = process.env, spilling = false): ZstdDecoder {
  const wanted = env.STOWAWAY_ZSTD;
  if (wanted === "js") return "js";
  if (wanted === "program" && hasProgram("zstd")) return "program";
  if (spilling && wanted !== "native" && hasProgram("zstd")) return "program";
  if (hasNativeZstd()) return "native";
  return hasProgram("zstd") ? "program" : "js";
}

/**
 * The gzip decoder this run uses: pigz when installed (it decodes on its own threads), else Node's
 * zlib; the gzip program only when asked for (it is slower than zlib).
 */
export function gzipDecoder(env: NodeJS.ProcessEnv = process.env): GzipDecoder {
  const wanted = env.STOWAWAY_GUNZIP;
  if (wanted === "zlib") return "zlib";
  if (wanted === "gzip" && hasProgram("gzip")) return "gzip";
  return hasProgram("pigz") ? "pigz" : "zlib";
}

/**
 * Decompresses through an external program reading stdin and writing stdout. Its output is bounded
 * downstream like any other decompressor; destroying the stream kills it. The program's stdout
 * feeds this stream's readable side directly (one stream hop per 64 KiB pipe read, not three), and
 * is paused only when DECODE_LEAD_BYTES are waiting, so the program decodes ahead of the parser.
 */
class ProgramDecompressor extends ProgramDecoder {
  constructor(program: string, format: Compression) {
    super(spawn(program, ["-d", "-c"], { stdio: ["pipe", "pipe", "ignore"] }), program, format, {
      readableHighWaterMark: DECODE_LEAD_BYTES,
    });
    const stdout = this.child.stdout!;
    stdout.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) stdout.pause();
    });
    // 'close' comes after stdout has ended, so every byte was pushed by then.
    this.child.on("close", (code: number | null) => {
      if (this.destroyed) return;
      const error = this.exitError(code);
      if (error) this.destroy(error);
      else this.push(null);
    });
  }

  override _read(): void {
    this.child.stdout!.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.child.exitCode === null) this.child.kill();
    callback(error);
  }
}

function programDecompressor(program: string, format: Compression): Duplex {
  return new ProgramDecompressor(program, format);
}

/**
 * Blobs smaller than this are decoded in process even when they could spill: starting a program costs
 * more. Kept small: a zstd blob just under 1 MiB held 22 MB of tar in the issue-sized image.
 */
const SPILL_MIN_BLOB_BYTES = 64 * 1024;

/** How a decoder may spill: where, within which bound, for a blob of which size (undefined: unknown). */
export interface DecodeOptions {
  spill?: SpillOptions;
  blobBytes?: number;
}

/**
 * Free space a spill wants before it is used: the blob's size times this (layers seldom expand more
 * than 3-5x), and at least SPILL_MIN_FREE_BYTES. With less, the program's output goes through a pipe,
 * which needs no disk: a small or nearly full temp disk costs speed, never the scan.
 */
const SPILL_FREE_FACTOR = 16;
const SPILL_MIN_FREE_BYTES = 1024 ** 3;

function spillWith(options: DecodeOptions | undefined): SpillOptions | undefined {
  if (!options?.spill || process.env.STOWAWAY_SPILL === "0") return undefined;
  const blobBytes = options.blobBytes;
  if (blobBytes !== undefined && blobBytes < SPILL_MIN_BLOB_BYTES) return undefined;
  const wanted = Math.max(SPILL_MIN_FREE_BYTES, (blobBytes ?? 0) * SPILL_FREE_FACTOR);
  return (freeBytes(options.spill.dir ?? os.tmpdir()) ?? 0) >= wanted ? options.spill : undefined;
}

function createZstdDecompressor(options?: DecodeOptions): Transform | Duplex {
  const spill = spillWith(options);
  switch (zstdDecoder(process.env, spill !== undefined)) {
    case "program":
      return spill ? new SpillDecoder("zstd", "zstd", spill) : programDecompressor("zstd", "zstd");
    case "native":
      return (zlib as ZlibWithZstd).createZstdDecompress!({
        chunkSize: ZLIB_CHUNK,
        readableHighWaterMark: DECODE_LEAD_BYTES,
      } as zlib.ZlibOptions);
    case "js":
      return new FzstdTransform();
  }
}

function createGunzip(options?: DecodeOptions): Transform | Duplex {
  const spill = spillWith(options);
  const decoder = gzipDecoder(process.env);
  if (decoder === "zlib")
    return zlib.createGunzip({ chunkSize: ZLIB_CHUNK, readableHighWaterMark: DECODE_LEAD_BYTES } as zlib.ZlibOptions);
  return spill ? new SpillDecoder(decoder, "gzip", spill) : programDecompressor(decoder, "gzip");
}

class FzstdTransform extends Transform {
  private readonly decoder = new (fzstd().Decompress)((chunk) => {
    this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  });

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decoder.push(chunk);
      callback();
    } catch (error) {
      callback(new ImageError(`zstd stream is corrupt: ${(error as Error).message}`));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true);
      callback();
    } catch (error) {
      callback(new ImageError(`zstd stream is truncated or corrupt: ${(error as Error).message}`));
    }
  }
}

function createDecompressor(compression: Compression, options?: DecodeOptions): Transform | Duplex {
  switch (compression) {
    case "gzip":
      return createGunzip(options);
    case "zstd":
      return createZstdDecompressor(options);
    case "none":
      return new PassThrough();
  }
}

/** What a layer or archive that decompresses past `limit` bytes is refused with. */
export function layerBombError(what: string, limit: number): HostileInputError {
  return new HostileInputError(
    `${what} expands past the ${limit}-byte limit (a decompression bomb or an unusually large layer); raise --max-layer-bytes if the image is trusted`,
  );
}

/** Caps the bytes that flow through, so a decompression bomb stops at the limit instead of filling memory or disk. */
export class ByteLimit extends Transform {
  private total = 0;

  constructor(
    private readonly limit: number,
    private readonly what: string,
  ) {
    super();
  }

  get bytes(): number {
    return this.total;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.total += chunk.length;
    if (this.total > this.limit) {
      callback(layerBombError(this.what, this.limit));
      return;
    }
    callback(null, chunk);
  }
}

/**
 * Decompresses `source` according to its magic bytes. Peeks without consuming, so one pass over the
 * blob both verifies its digest (upstream) and decompresses it.
 */
export function decompressAuto(
  source: Readable,
  onDetected?: (compression: Compression) => void,
  options?: DecodeOptions,
): Readable {
  if (source instanceof FileBlob)
    return decompressFileBlob(source, onDetected, options && { ...options, blobBytes: source.range.size });
  const output = new PassThrough({ highWaterMark: DECODE_LEAD_BYTES });
  let decided = false;
  let head = Buffer.alloc(0);

  const decide = (): void => {
    decided = true;
    const compression = detectCompression(head);
    onDetected?.(compression);
    const decompressor = createDecompressor(compression, options);
    const fail = (error: Error): void => {
      output.destroy(
        error instanceof ImageError ? error : new ImageError(`${compression} layer data is corrupt: ${error.message}`),
      );
    };
    decompressor.on("error", fail);
    source.on("error", fail);
    decompressor.pipe(output);
    decompressor.write(head);
    source.pipe(decompressor);
  };

  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    if (head.length >= 4) {
      source.off("data", onData);
      source.off("end", onEnd);
      source.pause();
      decide();
    }
  };
  const onEnd = (): void => {
    if (!decided) {
      source.off("data", onData);
      const passthrough = createDecompressor(detectCompression(head));
      passthrough.on("error", (error) => output.destroy(error));
      passthrough.pipe(output);
      passthrough.end(head);
    }
  };
  source.on("data", onData);
  source.on("end", onEnd);
  source.once("error", (error) => {
    if (!decided) output.destroy(error);
  });
  return output;
}

/** Buffers a file blob is read into while it feeds a decoder: each is reused once the decoder has taken its bytes. */
const FEED_BUFFERS = 3;

/**
 * Decompresses a blob stored in a file. Its compression is known from its head before anything is
 * read, so the decoder's own stream is returned (no peeking stream in between) and is fed by
 * positioned reads into a few reused buffers, hashed as they are read (no hashing stream). The decoder's
 * input is ended only once the digest matched, so its output never ends for a tampered blob: the
 * mismatch destroys it with the blob's ImageError instead.
 */
function decompressFileBlob(
  blob: FileBlob,
  onDetected?: (compression: Compression) => void,
  options?: DecodeOptions,
): Readable {
  const compression = detectCompression(blob.head);
  onDetected?.(compression);
  if (compression === "none") return blob;
  const decoder = createDecompressor(compression, options);
  // zlib's own errors ("incorrect header check") become one line naming the format, as for streams.
  const destroy = decoder._destroy.bind(decoder);
  decoder._destroy = (error, callback) =>
    destroy(error, (reported) =>
      callback(
        reported && !(reported instanceof ImageError)
          ? new ImageError(`${compression} layer data is corrupt: ${reported.message}`)
          : reported,
      ),
    );
  feed(blob, decoder, decoder instanceof ProgramDecoder ? decoder.input : decoder);
  return decoder;
}

function feed(blob: FileBlob, decoder: Duplex, input: Writable): void {
  const free: Buffer[] = [];
  const bufferBytes = readBufferBytes(blob.range.size);
  let allocated = 0;
  let reading = false;
  let done = false;
  const stop = (error?: Error): void => {
    if (done) return;
    done = true;
    blob.destroy();
    if (error) decoder.destroy(error);
  };
  // The consumer gave up (or the decoder failed): stop reading and close the file.
  decoder.once("close", () => stop());
  const pump = (): void => {
    if (reading || done) return;
    let buffer = free.pop();
    if (!buffer && allocated < FEED_BUFFERS) {
      buffer = Buffer.allocUnsafeSlow(bufferBytes);
      allocated += 1;
    }
    if (!buffer) return;
    const own = buffer;
    reading = true;
    blob.next(own).then(
      (data) => {
        reading = false;
        if (done) return;
        if (data === null) {
          // Every byte was read and the digest matched: only now may the decoder finish.
          done = true;
          decoder.end();
          return;
        }
        // The write callback comes once the decoder has consumed (zlib) or the pipe has taken (a
        // program) these bytes; an error there is the decoder's to report, as it destroys itself.
        input.write(data, (error) => {
          if (error) return;
          free.push(own);
          pump();
        });
        pump();
      },
      (error: Error) => stop(error),
    );
  };
  pump();
}
