import type { StreamCondenser } from "../types.js";
import { SKIP_MARKER } from "./control.js";

/** The fields toDpkgEntry reads; every other field (Description, Conffiles, padding ...) is dropped. */
const KEPT_FIELDS = new Set([
  "package",
  "version",
  "status",
  "source",
  "architecture",
  "maintainer",
  "installed-size",
  "multi-arch",
]);
/** Bytes kept of one line; a longer line is kept truncated (no real field comes near). */
const MAX_LINE_BYTES = 4096;
/** Bytes kept of one field with its continuation lines; the rest of an overlong field is dropped. */
const MAX_FIELD_BYTES = 64 * 1024;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const HASH = 0x23;
const COLON = 0x3a;

function isBlank(line: Buffer, length: number): boolean {
  if (length > MAX_LINE_BYTES) return false;
  for (const byte of line) {
    if (byte === SPACE || byte === TAB || byte === 0x0b || byte === 0x0c) continue;
    // Non-ASCII may be Unicode whitespace: decide as the parser does.
    return byte >= 0x80 ? line.toString("utf8").trim() === "" : false;
  }
  return true;
}

/**
 * Streams a dpkg status database (or a status.d entry) into the equivalent control text the dpkg
 * cataloger needs: the fields it reads, stanza separators and the lines the parser reports as
 * damaged, with skipped lines counted by SKIP_MARKER lines so problems keep their line numbers. A
 * status padded to hundreds of MiB (docs/matching-rules.md P20) thus costs a few KiB per installed
 * package instead of the whole file in memory. Only one line's first MAX_LINE_BYTES are held at a time.
 */
export class DpkgStatusCondenser implements StreamCondenser {
  size = 0;
  private readonly out: Buffer[] = [];
  private head: Buffer[] = [];
  private headBytes = 0;
  private lineBytes = 0;
  private afterCr = false;
  private started = false;
  private skipped = 0;
  private lastField: "kept" | "dropped" | undefined;
  private fieldBytes = 0;
  private readonly names = new Set<string>();

  write(chunk: Buffer): void {
    let start = 0;
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3;
    }
    if (this.afterCr && start < chunk.length) {
      this.afterCr = false;
      if (chunk[start] === LF) start += 1;
    }
    let nextLf = chunk.indexOf(LF, start);
    let nextCr = chunk.indexOf(CR, start);
    while (start < chunk.length) {
      if (nextLf !== -1 && nextLf < start) nextLf = chunk.indexOf(LF, start);
      if (nextCr !== -1 && nextCr < start) nextCr = chunk.indexOf(CR, start);
      const end = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
      if (end === -1) {
        this.append(chunk.subarray(start));
        return;
      }
      this.append(chunk.subarray(start, end));
      this.finishLine();
      start = end + 1;
      if (chunk[end] === CR) {
        if (start === chunk.length) this.afterCr = true;
        else if (chunk[start] === LF) start += 1;
      }
    }
  }

  end(): Buffer {
    if (this.lineBytes > 0) this.finishLine();
    return Buffer.concat(this.out);
  }

  private append(part: Buffer): void {
    this.lineBytes += part.length;
    if (this.headBytes >= MAX_LINE_BYTES || part.length === 0) return;
    const taken = part.subarray(0, MAX_LINE_BYTES - this.headBytes);
    this.head.push(taken);
    this.headBytes += taken.length;
  }

  private finishLine(): void {
    const line = this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head, this.headBytes);
    const length = this.lineBytes;
    this.head = [];
    this.headBytes = 0;
    this.lineBytes = 0;
    this.classify(line, length);
  }

  /** Mirrors parseControlFile's decisions line by line, keeping what changes its result. */
  private classify(line: Buffer, length: number): void {
    if (length === 0 || isBlank(line, length)) {
      this.emit(Buffer.alloc(0));
      this.lastField = undefined;
      this.names.clear();
      return;
    }
    const first = line[0];
    if (first === SPACE || first === TAB) {
      if (this.lastField === "kept" && this.fieldBytes + length <= MAX_FIELD_BYTES) {
        this.fieldBytes += length;
        this.emit(line);
      } else if (this.lastField === undefined) {
        // The parser reports a continuation line outside a field: keep one that says the same.
        this.emit(Buffer.from(" ."));
      } else {
        this.skipped += 1;
      }
      return;
    }
    if (first === HASH) {
      this.skipped += 1;
      return;
    }
    const colon = line.indexOf(COLON);
    const name = colon > 0 ? line.toString("utf8", 0, colon).trim() : "";
    if (!name || /\s/.test(name)) {
      // Neither a field nor a continuation, as the parser will report.
      this.emit(Buffer.from("!"));
      this.lastField = undefined;
      return;
    }
    const key = name.toLowerCase();
    if (!KEPT_FIELDS.has(key)) {
      this.skipped += 1;
      this.lastField = "dropped";
      return;
    }
    if (this.names.has(key)) {
      // A duplicate the parser reports (and ignores, with its continuation lines).
      this.emit(Buffer.from(`${name}:`));
      this.lastField = undefined;
      return;
    }
    this.names.add(key);
    this.lastField = "kept";
    this.fieldBytes = length;
    this.emit(line);
  }

  private emit(line: Buffer): void {
    if (this.skipped > 0) {
      this.push(Buffer.from(`${SKIP_MARKER}${this.skipped - 1}`));
      this.skipped = 0;
    }
    this.push(line);
  }

  private push(line: Buffer): void {
    // A copy: the line may be a view into the walker's chunk, which must not be kept alive.
    this.out.push(Buffer.from(line), NEWLINE);
    this.size += line.length + 1;
  }
}

const NEWLINE = Buffer.from("\n");
