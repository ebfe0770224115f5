import { randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, open, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { FileContent } from "../catalog/types.js";

/** Files up to this size stay in memory; larger ones go to a temp file so peak memory stays flat. */
export const IN_MEMORY_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Accumulates one file's bytes as a layer streams past, spilling to a temp file once it grows past
 * IN_MEMORY_FILE_BYTES. `content()` then gives random access either way; `dispose()` removes the spill.
 */
export class SpooledFile {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private spill?: { file: string; stream: WriteStream };

  constructor(
    private readonly tempDir: string = os.tmpdir(),
    private readonly memoryLimit: number = IN_MEMORY_FILE_BYTES,
  ) {}

  get size(): number {
    return this.bytes;
  }

  /** The bytes seen so far while still in memory (the head a sniff looks at). */
  head(): Buffer {
    return Buffer.concat(this.chunks);
  }

  async write(chunk: Buffer): Promise<void> {
    this.bytes += chunk.length;
    if (!this.spill && this.bytes <= this.memoryLimit) {
      this.chunks.push(chunk);
      return;
    }
    if (!this.spill) {
      await mkdir(this.tempDir, { recursive: true });
      const file = path.join(this.tempDir, `stowaway-spill-${process.pid}-${randomBytes(6).toString("hex")}`);
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

  /** Finishes writing and returns random access to the whole file. */
  async content(filePath: string, mode: number): Promise<FileContent> {
    if (!this.spill) {
      const buffer = Buffer.concat(this.chunks);
      return {
        path: filePath,
        size: buffer.length,
        mode,
        read: async (offset, length) => buffer.subarray(offset, Math.min(buffer.length, offset + length)),
        readAll: async () => buffer,
      };
    }
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
    if (this.spill) {
      this.spill.stream.destroy();
      await rm(this.spill.file, { force: true });
      this.spill = undefined;
    }
  }
}
