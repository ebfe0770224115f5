import type { ChildProcess } from "node:child_process";
import { Duplex, type DuplexOptions, type Writable } from "node:stream";
import { ImageError } from "../errors.js";

/**
 * What the two ways of running an external decoder share (`program -d -c`: its output read through a
 * pipe, decompress.ts ProgramDecompressor, or from a temp file, spill-decoder.ts SpillDecoder): the
 * compressed bytes go to the program's stdin, written directly by a feeder (`input`) or through this
 * stream's writable side, and its exit status decides how the output ends.
 */
export abstract class ProgramDecoder extends Duplex {
  /** Whether this side's input was ended, which the feeder does only once the blob's digest matched. */
  protected inputEnded = false;

  protected constructor(
    protected readonly child: ChildProcess,
    protected readonly program: string,
    protected readonly format: string,
    options: DuplexOptions,
  ) {
    super(options);
    // Its diagnostics are never read (they can quote bytes of a hostile blob); a write after it
    // exited is reported by its exit status, not as an error of its stdin.
    child.stdin!.on("error", () => undefined);
  }

  /** The program's stdin, for a feeder that writes to it directly (one stream hop fewer); end() still ends it. */
  get input(): Writable {
    return this.child.stdin!;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.child.stdin!.write(chunk)) callback();
    else this.child.stdin!.once("drain", () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inputEnded = true;
    this.child.stdin!.end();
    callback();
  }

  /**
   * Why the output must not end, given the program's exit `code` (null: killed by a signal), or
   * undefined when it may: only an exit 0 after all its input is a complete stream, since a truncated
   * or corrupt blob also makes a decoder stop, and only its status tells that from the end of the data.
   */
  protected exitError(code: number | null): ImageError | undefined {
    if (code === 0 && this.inputEnded) return undefined;
    if (code === 0)
      return new ImageError(`${this.format} stream ended before its input (${this.program} exited early)`);
    const how = code === null ? "was killed" : `exited ${code}`;
    return new ImageError(`${this.format} stream is truncated or corrupt (${this.program} ${how})`);
  }
}
