import { closeSync, openSync, writeSync } from "node:fs";

const BUFFER_BYTES = 64 * 1024;

/**
 * Appends text to a file through one fixed buffer. Text is copied out as it comes, so each string
 * dies young; collecting ~1 MiB of strings before a write kept them alive across collections, and the
 * promoted garbage grew the old generation (a full-size build's peak was mostly such garbage).
 */
export class TextSpill {
  private buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;
  private fd: number | undefined;
  /** Bytes appended so far. */
  size = 0;

  constructor(readonly file: string) {
    this.fd = openSync(file, "w");
  }

  /** Appends `text`; returns its length in bytes (UTF-8). */
  write(text: string): number {
    const length = Buffer.byteLength(text);
    if (this.used + length > this.buffer.length) this.flush();
    if (length > this.buffer.length) writeSync(this.fd!, text);
    else this.used += this.buffer.write(text, this.used);
    this.size += length;
    return length;
  }

  flush(): void {
    if (this.used > 0) writeSync(this.fd!, this.buffer, 0, this.used);
    this.used = 0;
  }

  /** Flushes and closes the file (again: a no-op, so a failure path may call it too). */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      if (this.used > 0) writeSync(fd, this.buffer, 0, this.used);
    } finally {
      this.used = 0;
      closeSync(fd);
    }
  }
}
