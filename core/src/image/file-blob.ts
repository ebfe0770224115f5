import { close, open, read } from "node:fs";
import { Readable } from "node:stream";
import { ImageError } from "../errors.js";
import { DigestCheck, truncatedBlobError } from "./digest.js";

/** Where a blob's bytes lie on disk: `size` bytes of `file` from byte `start`. */
export interface FileRange {
  file: string;
  start: number;
  size: number;
}

/** Reads of a blob on disk: 1 MiB, 16x fewer calls than the 64 KiB default. */
export const BLOB_READ_BYTES = 1024 * 1024;

/** A read buffer for `bytes` more bytes of a blob: BLOB_READ_BYTES, or less for a smaller rest (at least 1). */
export function readBufferBytes(bytes: number): number {
  return Math.max(1, Math.min(BLOB_READ_BYTES, bytes));
}

const openFile = (file: string): Promise<number> =>
  new Promise((resolve, reject) => open(file, "r", (error, fd) => (error ? reject(error) : resolve(fd))));

const readAt = (fd: number, buffer: Buffer, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) =>
    read(fd, buffer, 0, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))),
  );

/**
 * A layer blob stored in a file (an OCI layout's blob, or a member of an image archive), read with
 * its digest checked as the bytes are read: no separate hashing stream. Two ways to consume it:
 * - as a Readable (fresh buffers, for a consumer that keeps them, e.g. an uncompressed layer);
 * - with next(buffer), which fills a buffer the caller reuses once the bytes are consumed, so a
 *   decompressor is fed from a few recycled buffers instead of a new allocation (and its page
 *   faults) per read (see decompressAuto).
 * Either way the end (a Readable's 'end', next()'s null) comes only after the whole range was read
 * and matched `digest`; a mismatch or a short file is an ImageError instead, so nothing downstream
 * can act on a tampered blob as if it were complete.
 */
export class FileBlob extends Readable {
  private position = 0;
  private fd: number | undefined;

  private constructor(
    readonly range: FileRange,
    fd: number,
    /** The blob's first (up to 4) bytes, for detecting its compression before anything is read. */
    readonly head: Buffer,
    /** Undefined for a file no digest names: then only its size is checked. */
    private readonly check: DigestCheck | undefined,
    private readonly what: string,
  ) {
    super({ highWaterMark: BLOB_READ_BYTES });
    this.fd = fd;
  }

  /**
   * Opens `range` for reading as the blob `digest` (undefined for a file no digest names, such as a
   * compressed image archive: then only its size is checked). `declaredSize` is what the manifest
   * says; a range of another size is refused here, before any byte is read.
   */
  static async open(
    range: FileRange,
    digest: string | undefined,
    what: string,
    declaredSize?: number,
  ): Promise<FileBlob> {
    const check = digest === undefined ? undefined : new DigestCheck(digest, what);
    if (declaredSize !== undefined && declaredSize !== range.size)
      throw truncatedBlobError(what, range.size, declaredSize);
    let fd: number;
    try {
      fd = await openFile(range.file);
    } catch (error) {
      throw new ImageError(`${what}: cannot open ${range.file} (${(error as NodeJS.ErrnoException).code ?? error})`);
    }
    const head = Buffer.alloc(Math.min(4, range.size));
    try {
      const n = head.length ? await readAt(fd, head, head.length, range.start) : 0;
      return new FileBlob(range, fd, head.subarray(0, n), check, what);
    } catch (error) {
      close(fd, () => undefined);
      throw new ImageError(`${what}: cannot read ${range.file} (${(error as NodeJS.ErrnoException).code ?? error})`);
    }
  }

  /**
   * Reads the next bytes into `buffer` and returns the filled part (hashed), or null at the end once
   * the digest matched. Calls must not overlap.
   */
  async next(buffer: Buffer): Promise<Buffer | null> {
    const fd = this.fd;
    if (fd === undefined) throw new ImageError(`${this.what}: the blob was closed before it was read to the end`);
    const left = this.range.size - this.position;
    if (left === 0) {
      this.closeFile();
      this.check?.finish();
      return null;
    }
    let n: number;
    try {
      n = await readAt(fd, buffer, Math.min(buffer.length, left), this.range.start + this.position);
    } catch (error) {
      throw new ImageError(
        `${this.what}: cannot read ${this.range.file} (${(error as NodeJS.ErrnoException).code ?? error})`,
      );
    }
    if (n === 0) throw truncatedBlobError(this.what, this.position, this.range.size);
    this.position += n;
    const data = buffer.subarray(0, n);
    this.check?.update(data);
    return data;
  }

  override _read(): void {
    this.next(Buffer.allocUnsafe(readBufferBytes(this.range.size - this.position))).then(
      (data) => this.push(data),
      (error: Error) => this.destroy(error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.closeFile();
    callback(error);
  }

  private closeFile(): void {
    if (this.fd === undefined) return;
    close(this.fd, () => undefined);
    this.fd = undefined;
  }
}
