import { spawn, spawnSync } from "node:child_process";
import zlib from "node:zlib";
import { Duplex, PassThrough, Transform, type Readable, type TransformCallback } from "node:stream";
import { Decompress as FzstdDecompress } from "fzstd";
import { HostileInputError, ImageError } from "../errors.js";

export type Compression = "gzip" | "zstd" | "none";

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Media types lie (zstd blobs labelled gzip, plain tars labelled gzip), so the first bytes decide. */
export function detectCompression(head: Buffer): Compression {
  if (head.subarray(0, 2).equals(GZIP_MAGIC)) return "gzip";
  if (head.subarray(0, 4).equals(ZSTD_MAGIC)) return "zstd";
  return "none";
}

type ZlibWithZstd = typeof zlib & { createZstdDecompress?: () => Transform };

let zstdCliAvailable: boolean | undefined;

/** True when a `zstd` executable is on PATH (checked once per process). */
function hasZstdCli(): boolean {
  zstdCliAvailable ??= spawnSync("zstd", ["--version"], { stdio: "ignore" }).status === 0;
  return zstdCliAvailable;
}

/**
 * Decompresses through the `zstd` program: native speed on runtimes whose node:zlib has no zstd.
 * Its output is bounded downstream like any other decompressor; destroying the stream kills it.
 */
function zstdCliDecompressor(): Duplex {
  const child = spawn("zstd", ["-d", "-c", "-q", "--no-progress"], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    if (stderr.length < 2000) stderr += chunk.toString();
  });
  const duplex = Duplex.from({ writable: child.stdin, readable: child.stdout });
  child.stdin.on("error", () => undefined);
  child.on("close", (code) => {
    if (code !== 0 && code !== null && !duplex.destroyed) {
      duplex.destroy(
        new ImageError(`zstd stream is truncated or corrupt: ${stderr.trim().split("\n")[0] || `zstd exited ${code}`}`),
      );
    }
  });
  duplex.on("close", () => {
    if (child.exitCode === null) child.kill();
  });
  return duplex;
}

/**
 * Node >= 22.15 decompresses zstd natively; older runtimes use the zstd program when installed,
 * and fzstd (pure JS, several times slower) otherwise.
 */
function createZstdDecompressor(): Transform | Duplex {
  const native = (zlib as ZlibWithZstd).createZstdDecompress;
  if (typeof native === "function") return native();
  if (process.env.STOWAWAY_ZSTD !== "js" && hasZstdCli()) return zstdCliDecompressor();
  return new FzstdTransform();
}

class FzstdTransform extends Transform {
  private readonly decoder = new FzstdDecompress((chunk) => {
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

function createDecompressor(compression: Compression): Transform | Duplex {
  switch (compression) {
    case "gzip":
      // Bigger chunks than the 16 KiB default mean far fewer thread-pool round trips per layer.
      return zlib.createGunzip({ chunkSize: 256 * 1024 });
    case "zstd":
      return createZstdDecompressor();
    case "none":
      return new PassThrough();
  }
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
      callback(
        new HostileInputError(
          `${this.what} expands past the ${this.limit}-byte limit (a decompression bomb or an unusually large layer); raise --max-layer-bytes if the image is trusted`,
        ),
      );
      return;
    }
    callback(null, chunk);
  }
}

/**
 * Decompresses `source` according to its magic bytes. Peeks without consuming, so one pass over the
 * blob both verifies its digest (upstream) and decompresses it.
 */
export function decompressAuto(source: Readable, onDetected?: (compression: Compression) => void): Readable {
  const output = new PassThrough();
  let decided = false;
  let head = Buffer.alloc(0);

  const decide = (): void => {
    decided = true;
    const compression = detectCompression(head);
    onDetected?.(compression);
    const decompressor = createDecompressor(compression);
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
