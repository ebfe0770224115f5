import { spawn } from "node:child_process";
import { close, fstat, fstatSync, openSync, readSync, statfsSync, unlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ImageError } from "../errors.js";
import { BLOB_READ_BYTES } from "./file-blob.js";
import { ProgramDecoder } from "./program-decoder.js";
/**
 * How long the reader waits before looking again when it has caught up with the program: the time
 * the program took to write the bytes still missing, at the rate it wrote since the last look,
 * within these bounds. A fixed 1 ms cost ~500 looks (a read and a stat each) per 311 MiB.
 */
const MIN_WAIT_MS = 1;
const MAX_WAIT_MS = 20;
/** How often the file's size is checked against the limit while the reader may be paused. */
const WATCH_MS = 100;

export interface SpillOptions {
  /** Where the decoded file is created (and at once unlinked); the OS temp directory by default. */
  dir?: string;
  /** Decoded bytes allowed before the program is stopped; past it, `tooBig()` is the error. */
  maxBytes: number;
  tooBig: () => Error;
}

let sequence = 0;

/**
 * Decodes with an external program (`program -d -c`) whose output goes to an unlinked temp file
 * instead of a pipe; the readable side reads that file by position as it grows.
 *
 * Why not a pipe: Node reads a pipe 64 KiB at a time into a fresh buffer, and the pipe's small
 * buffer stops the program whenever the main thread is busy parsing, so decoding and parsing take
 * turns (issue 13's profiles: the main thread spent ~0.5 s per 311 MiB reading the pipe and the
 * program sat blocked). Writing to a file the program never blocks, each layer's program decodes on
 * whatever core is free, and the main thread reads 1 MiB per call from the page cache.
 *
 * The file is unlinked as soon as it is open, so it never outlives this process, even a killed
 * one; its space is freed when the program and this reader have closed it. Output ends only once
 * the program exited 0 after all its input (which the feeder ends only after the blob's digest
 * matched), exactly as a pipe-fed ProgramDecompressor ends; anything else destroys it with an
 * ImageError. The decoded size is bounded like any decoder's output: the reader checks each read,
 * and a watchdog checks the file while the reader is paused, so a decompression bomb stops at the
 * limit rather than filling the disk.
 */
export class SpillDecoder extends ProgramDecoder {
  private fd: number | undefined;
  private position = 0;
  /** The program's exit code once it has exited (null when killed by a signal). */
  private exitCode: number | null | undefined;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly watchdog: NodeJS.Timeout;
  private readonly dir: string;
  /** The file's size at the reader's last look while waiting, and when. */
  private lastLook: { size: number; at: number } | undefined;

  constructor(
    program: string,
    format: string,
    private readonly options: SpillOptions,
  ) {
    const dir = options.dir ?? os.tmpdir();
    const file = path.join(dir, `.decode-${process.pid}-${sequence++}-${Date.now()}`);
    let fd: number;
    try {
      fd = openSync(file, "wx+", 0o600);
    } catch (error) {
      throw new ImageError(
        `cannot create a file to decode into in ${dir} (${(error as NodeJS.ErrnoException).code ?? error}); free space there or point TMPDIR elsewhere`,
      );
    }
    try {
      unlinkSync(file);
    } catch {
      // Left behind only if unlinking a file we just created fails; it holds nothing yet.
    }
    super(spawn(program, ["-d", "-c"], { stdio: ["pipe", fd, "ignore"] }), program, format, {
      readableHighWaterMark: 2 * BLOB_READ_BYTES,
    });
    this.dir = dir;
    this.fd = fd;
    this.child.on("error", (error) =>
      this.destroy(new ImageError(`${format}: cannot run ${program} (${error.message})`)),
    );
    this.child.on("exit", (code) => {
      this.exitCode = code;
    });
    this.watchdog = setInterval(() => this.checkSize(), WATCH_MS);
    this.watchdog.unref();
  }

  override _read(): void {
    this.next(Buffer.allocUnsafeSlow(BLOB_READ_BYTES)).then(
      (chunk) => this.push(chunk),
      (error: Error) => this.destroy(error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.failure ??= error ?? new ImageError(`${this.format}: the decoder was closed before its output was read`);
    clearInterval(this.watchdog);
    this.wake?.();
    if (this.exitCode === undefined) this.child.kill();
    this.closeFile();
    callback(error);
  }

  /**
   * Reads the next decoded bytes into `buffer` (which the caller reuses once it has consumed them)
   * and returns the filled part, or null at the end: once the program exited 0 after all its input
   * and every byte it wrote was read. While the program runs, a read waits until the whole buffer is
   * filled, so the parser gets big chunks, not each of the program's small writes. Calls must not
   * overlap.
   *
   * Reads are synchronous: the bytes were just written, so each is a copy out of the page cache
   * (~0.1 ms per MiB), and a read through the thread pool cost more main-thread time than the copy
   * (a wake-up of a pool thread per read, and a stat per read to learn how far the file had grown,
   * each contending with the program for the other core). Where the output ends is learnt from short
   * reads instead: what the file holds is complete up to its size, and a read returns up to there.
   */
  async next(buffer: Buffer): Promise<Buffer | null> {
    let filled = 0;
    for (;;) {
      const fd = this.openFile();
      // Closed only by the end (already returned) or a failure (thrown by openFile).
      if (fd === undefined) return null;
      // Exited before this read: then the file is complete, and a short read is its end.
      const exited = this.exitCode !== undefined;
      filled += this.readAt(fd, buffer, filled, this.position + filled);
      if (this.position + filled > this.options.maxBytes) this.fail(this.options.tooBig());
      if (filled === buffer.length || (exited && filled > 0)) {
        this.position += filled;
        return buffer.subarray(0, filled);
      }
      if (exited) return this.finished(fd);
      await this.waitUntil(fd, this.position + buffer.length);
    }
  }

  /**
   * Reads `length` bytes of output from `position` into a buffer of their own, waiting for the program
   * to write them: random access for a file cataloger to what the reader steps over (next() and
   * skip() are unaffected). Output that ends before them is refused as truncated.
   */
  async readRange(position: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    for (;;) {
      const fd = this.openFile();
      if (fd === undefined) throw new ImageError(`${this.format}: the decoded layer was closed before it was read`);
      const exited = this.exitCode !== undefined;
      filled += this.readAt(fd, buffer, filled, position + filled);
      if (filled === length) return buffer;
      if (exited) this.fail(new Error(`unexpected end of data at offset ${position + filled}`));
      await this.waitUntil(fd, position + length);
    }
  }

  /** The decoded file's descriptor (undefined once closed at the end); throws the failure that closed it. */
  private openFile(): number | undefined {
    if (this.failure) throw this.failure;
    return this.fd;
  }

  /**
   * Reads into `buffer` from `from` to its end what the file holds at `position`: one read, which
   * returns everything up to the file's current size (written bytes are complete up to there).
   */
  private readAt(fd: number, buffer: Buffer, from: number, position: number): number {
    try {
      return readSync(fd, buffer, from, buffer.length - from, position);
    } catch (error) {
      throw this.readFailed(error as NodeJS.ErrnoException);
    }
  }

  /**
   * Caught up with the program (or skipped ahead of it): waits for it to write up to `end`, at its
   * pace. A stat here, where reads come up short, tells how far it is.
   */
  private async waitUntil(fd: number, end: number): Promise<void> {
    const size = this.sizeOf(fd);
    await this.waitForBytes(this.waitFor(size, end - size));
  }

  private sizeOf(fd: number): number {
    try {
      return fstatSync(fd).size;
    } catch (error) {
      throw this.readFailed(error as NodeJS.ErrnoException);
    }
  }

  /**
   * Steps over the next `bytes` of output without reading them (data no one wants). They may not be
   * written yet: the next read waits for what follows them, and an output that ends inside them is
   * refused as truncated at the end.
   */
  skip(bytes: number): void {
    this.position += bytes;
    if (this.position > this.options.maxBytes) this.fail(this.options.tooBig());
  }

  /** See MIN_WAIT_MS: the wait for `missing` more bytes, given that the file holds `size` now. */
  private waitFor(size: number, missing: number): number {
    const now = performance.now();
    const last = this.lastLook;
    this.lastLook = { size, at: now };
    if (!last || size <= last.size || now <= last.at) return MIN_WAIT_MS;
    const perMs = (size - last.size) / (now - last.at);
    return Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, missing / perMs));
  }

  /** Resolves after `ms`, or at once when the program exits or the decoder is destroyed. */
  private waitForBytes(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.child.off("exit", done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
      this.child.once("exit", done);
    });
  }

  private finished(fd: number): null {
    // Told before the file is closed: closing it frees what it held.
    const full = this.exitCode !== 0 && freeBytes(this.dir) === 0;
    // Skipped bytes were never read: the output must reach past them.
    const size = this.position > 0 ? this.sizeOf(fd) : 0;
    this.closeFile();
    clearInterval(this.watchdog);
    const error = this.exitError(this.exitCode ?? null);
    if (!error && size < this.position) this.fail(new Error(`unexpected end of data at offset ${size}`));
    if (!error) return null;
    // The program also fails when it cannot write: say so when the disk it writes to is full.
    if (full)
      this.fail(
        new ImageError(
          `${this.format}: ${this.program} failed: no space left in ${this.dir} to decode the layer into; free space there or point TMPDIR or --cache-dir elsewhere`,
        ),
      );
    this.fail(error);
  }

  private fail(error: Error): never {
    this.destroy(error);
    throw error;
  }

  private readFailed(error: NodeJS.ErrnoException): Error {
    const failure = new ImageError(`${this.format}: cannot read the decoded layer back (${error.code ?? error})`);
    this.destroy(failure);
    return failure;
  }

  private closeFile(): void {
    if (this.fd === undefined) return;
    close(this.fd, () => undefined);
    this.fd = undefined;
  }

  private checkSize(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    fstat(fd, (error, stats) => {
      if (!error && stats.size > this.options.maxBytes && !this.destroyed) this.destroy(this.options.tooBig());
    });
  }
}

/** Bytes free for us on the file system holding `dir`; undefined when that cannot be told. */
export function freeBytes(dir: string): number | undefined {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}
