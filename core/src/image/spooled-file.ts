import { randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, open, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { FileContent } from "../catalog/types.js";

/** Files up to this size stay in memory; larger ones go to a temp file so peak memory stays flat. */
export const IN_MEMORY_FILE_BYTES = 16 * 1024 * 1024;

/**
 * A file whose size is known up front and at most this is copied into one buffer of its size as it
 * arrives: one allocation and one copy, and readAll() hands that buffer back as it is. That suits the
 * small text files catalogers read whole (package lists, METADATA, status). Bigger files (binaries,
 * archives read through random access) keep views of the chunks they arrived in, so a cataloger
 * reading a few headers of a large binary never copies the rest.
 */
export const CONTIGUOUS_FILE_BYTES = 64 * 1024;

/**
 * Accumulates one file's bytes as a layer streams past, spilling to a temp file once it grows past
 * IN_MEMORY_FILE_BYTES. `content()` then gives random access either way; `dispose()` removes the spill.
 */
export class SpooledFile {
  private chunks: Buffer[] = [];
  /** The whole file when its size was known and small (CONTIGUOUS_FILE_BYTES); then `chunks` stays empty. */
  private whole: Buffer | undefined;
  private bytes = 0;
  private spill?: { file: string; stream: WriteStream };

  /** `expectedSize`: the file's size when known in advance (a tar header's), which lets a small file be one buffer. */
  constructor(
    /** Where a spill goes; the OS temp dir when absent, looked up only when a file does spill. */
    private readonly tempDir?: string,
    private readonly memoryLimit: number = IN_MEMORY_FILE_BYTES,
    expectedSize?: number,
    /**
     * True when nothing keeps the content past its analysis (a file only file catalogers read, not
     * one kept for view catalogers): then no size is copied into a buffer of its own, and readAll()
     * of a file that arrived in one chunk is a view of it. The writer's chunks must stay untouched
     * until dispose(), as they must for any file kept as chunks.
     */
    private readonly transient = false,
  ) {
    if (!transient && expectedSize !== undefined && expectedSize <= Math.min(CONTIGUOUS_FILE_BYTES, memoryLimit)) {
      this.whole = Buffer.allocUnsafe(expectedSize);
    }
  }

  get size(): number {
    return this.bytes;
  }

  /**
   * Up to `limit` of the first bytes while still in memory (the head a sniff looks at); copies only
   * when the head spans chunks.
   */
  head(limit = Infinity): Buffer {
    if (this.whole) return this.whole.subarray(0, Math.min(limit, this.bytes));
    const first = this.chunks[0];
    if (first && first.length >= Math.min(limit, this.bytes)) return first.subarray(0, limit);
    let wanted = Math.min(limit, this.bytes);
    const parts: Buffer[] = [];
    for (const chunk of this.chunks) {
      if (wanted <= 0) break;
      parts.push(chunk.length > wanted ? chunk.subarray(0, wanted) : chunk);
      wanted -= chunk.length;
    }
    return Buffer.concat(parts);
  }

  /**
   * Adds a chunk. Returns undefined (no await needed) while the file stays in memory, which is
   * nearly always: only a spill to disk is asynchronous. The chunk is held, not copied, so the
   * caller must not reuse its memory.
   */
  write(chunk: Buffer): Promise<void> | undefined {
    const whole = this.whole;
    if (whole) {
      if (this.bytes + chunk.length <= whole.length) {
        chunk.copy(whole, this.bytes);
        this.bytes += chunk.length;
        return undefined;
      }
      // More than the size given up front: keep what came so far as a chunk and go on without it.
      this.whole = undefined;
      this.chunks = [whole.subarray(0, this.bytes)];
    }
    this.bytes += chunk.length;
    if (!this.spill && this.bytes <= this.memoryLimit) {
      this.chunks.push(chunk);
      return undefined;
    }
    return this.writeToDisk(chunk);
  }

  private async writeToDisk(chunk: Buffer): Promise<void> {
    if (!this.spill) {
      const dir = this.tempDir ?? os.tmpdir();
      await mkdir(dir, { recursive: true });
      const file = path.join(dir, `stowaway-spill-${process.pid}-${randomBytes(6).toString("hex")}`);
      const stream = createWriteStream(file, { mode: 0o600 });
      this.spill = { file, stream };
      for (const earlier of this.chunks) stream.write(earlier);
      this.chunks = [];
    }
    if (!this.spill.stream.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        this.spill!.stream.once("drain", resolve);
        this.spill!.stream.once("error", reject);
      });
    }
  }

  /**
   * True while the file may hold views of chunks written to it: kept as chunks, or on their way to a
   * temp file. False for a small file copied into a buffer of its own, and once disposed.
   */
  get holdsChunks(): boolean {
    return this.chunks.length > 0 || this.spill !== undefined;
  }

  /** True once the file went to a temp file: then only `content()` reads it. */
  get spilled(): boolean {
    return this.spill !== undefined;
  }

  /** Random access to a file still in memory (not `spilled`), without a promise. */
  contentNow(filePath: string, mode: number): FileContent {
    if (this.spill) throw new Error("a spilled file is read through content()");
    if (this.whole) return wholeContent(filePath, mode, this.whole.subarray(0, this.bytes));
    return inMemoryContent(filePath, mode, this.chunks, this.bytes, this.transient);
  }

  /** The whole file while in memory (not `spilled`): what `readAll()` of its content gives. */
  readAllNow(): Buffer {
    if (this.spill) throw new Error("a spilled file is read through content()");
    if (this.whole) return this.whole.subarray(0, this.bytes);
    return joined(this.chunks, this.bytes, this.transient);
  }

  /** Finishes writing and returns random access to the whole file. */
  async content(filePath: string, mode: number): Promise<FileContent> {
    if (!this.spill) return this.contentNow(filePath, mode);
    const { file, stream } = this.spill;
    await new Promise<void>((resolve, reject) =>
      stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    const size = this.bytes;
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const handle = await open(file, "r");
      try {
        const wanted = Math.max(0, Math.min(length, size - offset));
        const buffer = Buffer.alloc(wanted);
        const { bytesRead } = await handle.read(buffer, 0, wanted, offset);
        return buffer.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    };
    return { path: filePath, size, mode, read, readAll: () => read(0, size) };
  }

  async dispose(): Promise<void> {
    this.chunks = [];
    this.whole = undefined;
    if (this.spill) {
      this.spill.stream.destroy();
      await rm(this.spill.file, { force: true });
      this.spill = undefined;
    }
  }
}

/** Random access to a file held in one buffer of its own: reads are views, readAll() the buffer itself. */
function wholeContent(filePath: string, mode: number, whole: Buffer): FileContent {
  const size = whole.length;
  return {
    path: filePath,
    size,
    mode,
    read: async (offset, length) => {
      const from = Math.max(0, Math.min(offset, size));
      return whole.subarray(from, Math.max(from, Math.min(size, from + Math.max(0, length))));
    },
    readAll: async () => whole,
  };
}

/**
 * Random access over the chunks a file arrived in, without joining them: a cataloger reading a few
 * headers of a 30 MB binary copies those bytes, not the binary. readAll() joins them once (a copy,
 * so what it returns never pins the walker's larger decompression buffers), except for `transient`
 * content in one chunk, which no one keeps: that is handed over as the view it is.
 */
function inMemoryContent(
  filePath: string,
  mode: number,
  chunks: Buffer[],
  size: number,
  transient: boolean,
): FileContent {
  const starts: number[] = [];
  let at = 0;
  for (const chunk of chunks) {
    starts.push(at);
    at += chunk.length;
  }
  let whole: Buffer | undefined;
  const slice = (offset: number, length: number): Buffer => {
    const from = Math.max(0, Math.min(offset, size));
    const to = Math.max(from, Math.min(size, from + Math.max(0, length)));
    if (whole) return whole.subarray(from, to);
    if (from === to) return Buffer.alloc(0);
    // The last chunk starting at or before `from`.
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= from) lo = mid;
      else hi = mid - 1;
    }
    const first = chunks[lo]!;
    const start = from - starts[lo]!;
    if (start + (to - from) <= first.length) return first.subarray(start, start + (to - from));
    const parts: Buffer[] = [];
    for (let i = lo, position = from; position < to; i++) {
      const chunk = chunks[i]!;
      const begin = position - starts[i]!;
      const end = Math.min(chunk.length, to - starts[i]!);
      parts.push(chunk.subarray(begin, end));
      position += end - begin;
    }
    return Buffer.concat(parts, to - from);
  };
  return {
    path: filePath,
    size,
    mode,
    read: async (offset, length) => slice(offset, length),
    readAll: async () => {
      whole ??= joined(chunks, size, transient);
      return whole;
    },
  };
}

/** A file kept as chunks, whole: one copy, except `transient` content in one chunk, handed over as that view. */
function joined(chunks: Buffer[], size: number, transient: boolean): Buffer {
  return transient && chunks.length === 1 && chunks[0]!.length === size ? chunks[0]! : Buffer.concat(chunks, size);
}
