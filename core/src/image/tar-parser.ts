import { HostileInputError } from "../errors.js";
import { checksumMatches, HeaderSums, parseNumeric, parsePax, plainOctal, readString, ustarName } from "./tar-index.js";

/** A layer tar entry's header, after PAX and GNU long-name records are applied. */
export interface TarEntryHeader {
  /** As written in the archive (not yet normalised). */
  name: string;
  type: TarEntryType;
  size: number;
  mode: number;
  linkname: string;
  /** Where the entry's data begins in the tar (after its header and any PAX or long-name records). */
  offset: number;
}

export type TarEntryType =
  | "file"
  | "contiguous-file"
  | "link"
  | "symlink"
  | "directory"
  | "character-device"
  | "block-device"
  | "fifo"
  | "other";

/**
 * Where an entry's data goes. The parser hands over subarrays of the chunks it is given, without
 * copying; a sink that keeps bytes past the entry must copy them. A returned promise holds the
 * parser (and, through the caller, the decompressor) until it settles.
 */
export interface TarEntrySink {
  write(data: Buffer): Promise<void> | undefined;
  end(): Promise<void> | undefined;
  /** The archive failed mid-entry: release what the sink holds (spilled files). */
  abort?(): void;
  /**
   * True once the sink needs no more of the entry's data (it looked at the head and decided): the
   * rest may be stepped over unread (TarParser.skippable); end() is still called at its end.
   */
  readonly satisfied?: boolean;
  /**
   * False while the sink holds no view of the chunks it was written (it copied what it keeps, or
   * keeps nothing): their memory may then be reused before the entry ends. Absent means it may.
   */
  readonly holdsChunks?: boolean;
}

const BLOCK = 512;

interface PendingFields {
  path?: string;
  linkpath?: string;
  size?: number;
}
const NO_PENDING: Readonly<PendingFields> = Object.freeze({});
/** PAX and GNU long-name records are tiny in practice; anything bigger is an attack on our memory. */
const MAX_META_RECORD = 1 << 20;

/**
 * A push parser for layer tars: feed it the decompressed bytes chunk by chunk and it calls
 * `onEntry` for each entry's header, streams the data of the entries it returns a sink for, and
 * steps over every other entry's data without touching it. Unlike a stream per entry, skipping a
 * member costs nothing but arithmetic, which is what most of a layer is to the catalogers.
 * Reading stops at the first end-of-archive block, as Go's archive/tar (what runtimes extract
 * layers with) does.
 */
export class TarParser {
  private readonly header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** Data bytes of the current entry still to come. */
  private remaining = 0;
  /** Padding to the next 512-byte boundary after the current entry's data. */
  private padding = 0;
  private sink: TarEntrySink | undefined;
  private meta: { typeflag: string; parts: Buffer[]; size: number } | undefined;
  /** What PAX and GNU long-name records said about the next entry; NO_PENDING (shared, never mutated) when nothing. */
  private pending: PendingFields = NO_PENDING;
  /** Offset in the tar of the next byte, for messages. */
  private position = 0;
  private finished = false;
  private readonly sums = new HeaderSums();

  constructor(
    private readonly what: string,
    private readonly onEntry: (header: TarEntryHeader) => TarEntrySink | undefined,
  ) {}

  /**
   * True while an entry's sink (or a PAX/long-name record) is open and may hold views of the chunks
   * written so far, so their memory must not be reused until it ends.
   */
  get holdsChunks(): boolean {
    return this.meta !== undefined || (this.sink !== undefined && this.sink.holdsChunks !== false);
  }

  /**
   * How many of the next bytes no one will look at: the rest of an entry's data that no sink reads
   * (or whose sink is satisfied) and its padding. A caller reading a file by position may step over
   * them with skip() instead of reading them.
   */
  get skippable(): number {
    if (this.finished || this.meta) return 0;
    if (this.remaining > 0) return this.sink && !this.sink.satisfied ? 0 : this.remaining + this.padding;
    return this.padding;
  }

  /**
   * Steps over `bytes` (at most `skippable`) as if they had been written; like write(), returns a
   * promise when the entry's sink asks to be waited for at its end.
   */
  skip(bytes: number): Promise<void> | undefined {
    if (bytes > this.skippable) throw new RangeError(`cannot skip ${bytes} bytes at offset ${this.position}`);
    this.position += bytes;
    if (this.remaining === 0) {
      this.padding -= bytes;
      return undefined;
    }
    const data = Math.min(bytes, this.remaining);
    this.remaining -= data;
    this.padding -= bytes - data;
    return this.remaining === 0 ? this.endData() : undefined;
  }

  /** True once the end-of-archive block was read; later bytes are ignored. */
  get ended(): boolean {
    return this.finished;
  }

  /**
   * Parses `chunk`. Runs synchronously and returns undefined unless a sink asks to be waited for
   * (a spill to disk, a file cataloger); then it returns a promise for the rest of the chunk, and
   * the caller must not write again before it settles. Most chunks hold nothing anyone waits on,
   * so the caller keeps its stream flowing instead of pausing and resuming it for every chunk.
   */
  write(chunk: Buffer): Promise<void> | undefined {
    return this.parseFrom(chunk, 0);
  }

  private parseFrom(chunk: Buffer, from: number): Promise<void> | undefined {
    let at = from;
    while (at < chunk.length && !this.finished) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - at);
        // The data of an entry no one wants is stepped over without even a view of it.
        let waiting: Promise<void> | undefined;
        if (this.meta) this.meta.parts.push(chunk.subarray(at, at + n));
        else if (this.sink) waiting = this.sink.write(chunk.subarray(at, at + n));
        at += n;
        this.position += n;
        this.remaining -= n;
        if (waiting) return this.resumeAfter(waiting, chunk, at, this.remaining === 0);
        if (this.remaining === 0) {
          const ending = this.endData();
          if (ending) return this.resumeAfter(ending, chunk, at, false);
        }
        continue;
      }
      if (this.padding > 0) {
        const n = Math.min(this.padding, chunk.length - at);
        at += n;
        this.position += n;
        this.padding -= n;
        continue;
      }
      // A header read in place in the chunk (no view of it made), or gathered across chunks.
      let block: Buffer;
      let blockAt: number;
      if (this.headerFill === 0 && chunk.length - at >= BLOCK) {
        block = chunk;
        blockAt = at;
        at += BLOCK;
      } else {
        const n = Math.min(BLOCK - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + n);
        this.headerFill += n;
        at += n;
        if (this.headerFill < BLOCK) continue;
        this.headerFill = 0;
        block = this.header;
        blockAt = 0;
      }
      const position = this.position;
      this.position += BLOCK;
      const ending = this.startEntry(block, blockAt, position);
      if (ending) return this.resumeAfter(ending, chunk, at, false);
    }
    return undefined;
  }

  /** Waits for a sink, then (ending the entry first when its data was complete) parses on from `at`. */
  private async resumeAfter(waiting: Promise<void>, chunk: Buffer, at: number, endEntry: boolean): Promise<void> {
    await waiting;
    if (endEntry) {
      const ending = this.endData();
      if (ending) await ending;
    }
    const rest = this.parseFrom(chunk, at);
    if (rest) await rest;
  }

  /** Call once the input has ended: an archive cut inside a header or an entry's data is an error. */
  end(): void {
    this.sums.release();
    if (this.finished) return;
    if (this.remaining > 0 || this.headerFill > 0 || this.meta) {
      throw new Error(`unexpected end of data at offset ${this.position}`);
    }
  }

  /** The input failed: lets the open sink release what it holds. */
  abort(): void {
    this.sums.release();
    const sink = this.sink;
    this.sink = undefined;
    sink?.abort?.();
  }

  /** The header is the 512 bytes at `at` in `block`. */
  private startEntry(block: Buffer, at: number, position: number): Promise<void> | undefined {
    // One pass over the block both tells the end-of-archive block (all zeros) and checks the sum.
    const sum = this.sums.sum(block, at);
    if (sum === 0) {
      this.finished = true;
      this.sums.release();
      return undefined;
    }
    if (!checksumMatches(block, at, sum)) throw new Error(`corrupt tar header at offset ${position}`);
    const typeflag = String.fromCharCode(block[at + 156]!);
    let size = parseNumeric(block, at + 124, 12, this.what, position);
    const pending = this.pending;
    if (pending.size !== undefined && typeflag !== "x" && typeflag !== "L" && typeflag !== "K") size = pending.size;
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (typeflag === "x" || typeflag === "L" || typeflag === "K") {
      if (size > MAX_META_RECORD) {
        throw new HostileInputError(
          `${this.what}: a ${size}-byte tar metadata record at offset ${position} is implausibly large; refusing the layer`,
        );
      }
      this.meta = { typeflag, parts: [], size };
      return size === 0 ? this.endData() : undefined;
    }
    if (typeflag === "g") return undefined; // global PAX records: nothing a scanner needs; data skipped
    let type = entryType(typeflag);
    const name = pending.path ?? ustarName(block, readString(block, at, 100), at);
    // Old (pre-POSIX) tars mark directories only by the trailing slash.
    if (type === "file" && typeflag !== "7" && name.endsWith("/")) type = "directory";
    const header: TarEntryHeader = {
      name,
      type,
      size,
      mode: parseMode(block, at),
      linkname: pending.linkpath ?? readString(block, at + 157, 100),
      offset: this.position,
    };
    this.pending = NO_PENDING;
    this.sink = this.onEntry(header);
    return size === 0 ? this.endData() : undefined;
  }

  private endData(): Promise<void> | undefined {
    const meta = this.meta;
    if (meta) {
      this.meta = undefined;
      const data = Buffer.concat(meta.parts, meta.size);
      if (meta.typeflag === "x") this.pending = { ...this.pending, ...parsePax(data, this.what, this.position) };
      else if (meta.typeflag === "L") this.pending = { ...this.pending, path: readString(data, 0, data.length) };
      else this.pending = { ...this.pending, linkpath: readString(data, 0, data.length) };
      return undefined;
    }
    const sink = this.sink;
    this.sink = undefined;
    return sink?.end();
  }
}

function parseMode(block: Buffer, at: number): number {
  const plain = plainOctal(block, at + 100, 8);
  if (plain >= 0) return plain;
  const text = readString(block, at + 100, 8).trim();
  const mode = Number.parseInt(text, 8);
  return Number.isFinite(mode) ? mode : 0;
}

function entryType(typeflag: string): TarEntryType {
  switch (typeflag) {
    case "0":
    case "\0":
      return "file";
    case "7":
      return "contiguous-file";
    case "1":
      return "link";
    case "2":
      return "symlink";
    case "3":
      return "character-device";
    case "4":
      return "block-device";
    case "5":
      return "directory";
    case "6":
      return "fifo";
    default:
      return "other";
  }
}
