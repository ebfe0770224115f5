import { Readable } from "node:stream";
import { ImageError } from "../../errors.js";
import { StallError } from "./http.js";

/** A fresh response for the rest of a body: its stream and the offset its first byte has in the whole. */
export interface BodyContinuation {
  body: Readable;
  start: number;
}

export interface ResumableBodyOptions {
  /** The body of the first, complete (200) answer. */
  first: Readable;
  /** Bytes the whole body has (descriptor size or Content-Length); an earlier end counts as a break. */
  expectedBytes?: number;
  /**
   * Asks again for the bytes from `offset` on (a Range request); a registry that ignores Range
   * answers from 0 and the bytes already delivered are skipped.
   */
  reopen(offset: number): Promise<BodyContinuation>;
  /**
   * How long the body may go without progress, counting only time spent waiting for bytes (not
   * time the consumer spends on what it has): progress is MIN_PROGRESS_BYTES, so a trickle of a
   * few bytes (a slow-loris) stalls just like silence.
   */
  idleMs: number;
  /** The error a stall becomes, given the bytes that did arrive in the window. */
  stalled(bytesInWindow: number): StallError;
  /** Names the body in the message when it keeps breaking off. */
  what: string;
  /** Continuations allowed after breaks (resets, early ends) and after stalls. */
  maxResumes: number;
  maxStallResumes: number;
}

/** Bytes that count as progress within one idle window (1 KiB per 30 s by default: 34 B/s). */
export const MIN_PROGRESS_BYTES = 1024;

function isStall(error: unknown): error is StallError {
  return error instanceof StallError;
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && code !== "" ? code : "connection error";
}

/**
 * One seamless byte stream over as many responses as it takes: when the connection breaks off
 * or goes silent mid-body, it asks for the rest and continues exactly where it stopped, so a
 * consumer (a digest verifier, a decompressor) sees every byte once and in order. Bounded: after
 * maxResumes continuations (maxStallResumes of them after stalls) the last failure ends it.
 */
export class ResumableBody extends Readable {
  private current: Readable;
  private chunks: AsyncIterator<unknown>;
  /** Bytes delivered downstream so far. */
  private offset = 0;
  /** Bytes still to drop from the current response (it restarted before `offset`). */
  private skip = 0;
  private resumes = 0;
  private stallResumes = 0;
  private pumping = false;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Waiting time and bytes since progress was last made. */
  private waitedMs = 0;
  private windowBytes = 0;

  constructor(private readonly options: ResumableBodyOptions) {
    super();
    this.current = options.first;
    this.chunks = this.current[Symbol.asyncIterator]();
  }

  /** How many continuations this body needed (for tests and diagnostics). */
  get continuations(): number {
    return this.resumes;
  }

  override _read(): void {
    if (this.pumping) return;
    this.pumping = true;
    this.pump().catch((error: unknown) => {
      this.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.idleTimer);
    this.discard(this.current);
    callback(error);
  }

  /** Pushes chunks until the consumer has enough buffered, the body ends, or it fails for good. */
  private async pump(): Promise<void> {
    try {
      await this.pumpUntilFull();
    } finally {
      // Cleared synchronously as the loop stops, so the next _read always starts a new pump.
      this.pumping = false;
    }
  }

  private async pumpUntilFull(): Promise<void> {
    for (;;) {
      if (this.destroyed) return;
      let result: IteratorResult<unknown>;
      try {
        result = await this.nextChunk();
      } catch (error) {
        if (this.destroyed) return;
        await this.continueAfter(error);
        continue;
      }
      if (this.destroyed) return;
      if (result.done) {
        const expected = this.options.expectedBytes;
        if (expected !== undefined && this.offset < expected) {
          await this.continueAfter(Object.assign(new Error("ended early"), { code: "EARLY_END" }));
          continue;
        }
        this.push(null);
        return;
      }
      let chunk = Buffer.isBuffer(result.value) ? result.value : Buffer.from(result.value as string);
      if (this.skip > 0) {
        if (chunk.length <= this.skip) {
          this.skip -= chunk.length;
          continue;
        }
        chunk = chunk.subarray(this.skip);
        this.skip = 0;
      }
      this.offset += chunk.length;
      this.windowBytes += chunk.length;
      if (this.windowBytes >= MIN_PROGRESS_BYTES) {
        this.windowBytes = 0;
        this.waitedMs = 0;
      }
      if (!this.push(chunk)) return;
    }
  }

  /** The next chunk of the current response, or a StallError once the idle window runs out. */
  private nextChunk(): Promise<IteratorResult<unknown>> {
    const next = this.chunks.next();
    const started = Date.now();
    const settle = () => {
      clearTimeout(this.idleTimer);
      this.waitedMs += Date.now() - started;
    };
    return new Promise((resolve, reject) => {
      this.idleTimer = setTimeout(
        () => {
          next.catch(() => undefined);
          const bytes = this.windowBytes;
          this.waitedMs = 0;
          this.windowBytes = 0;
          reject(this.options.stalled(bytes));
        },
        Math.max(0, this.options.idleMs - this.waitedMs),
      );
      next.then(
        (value) => {
          settle();
          resolve(value);
        },
        (error: unknown) => {
          settle();
          reject(error);
        },
      );
    });
  }

  /** Replaces the failed response with one for the remaining bytes, or rethrows when out of tries. */
  private async continueAfter(failure: unknown): Promise<void> {
    this.discard(this.current);
    // Our own verdicts (size limits, wrong content) are final; only transport failures are retried.
    if (failure instanceof ImageError && !isStall(failure)) throw failure;
    const stall = isStall(failure);
    if (stall && this.stallResumes >= this.options.maxStallResumes) throw failure;
    if (this.resumes >= this.options.maxResumes) {
      if (stall) throw failure;
      const tries = this.resumes + 1;
      const where =
        this.options.expectedBytes !== undefined
          ? `${this.offset} of ${this.options.expectedBytes} bytes`
          : `${this.offset} bytes`;
      throw new ImageError(
        `${this.options.what}: the download broke off ${tries} time${tries === 1 ? "" : "s"} (last at ${where}, ${codeOf(failure)}); check the network or the registry and try again`,
      );
    }
    this.resumes++;
    if (stall) this.stallResumes++;
    const next = await this.options.reopen(this.offset);
    if (this.destroyed) {
      this.discard(next.body);
      return;
    }
    if (next.start > this.offset) {
      this.discard(next.body);
      throw new ImageError(
        `${this.options.what}: asked to continue at byte ${this.offset}, the registry answered from byte ${next.start}; try again`,
      );
    }
    this.current = next.body;
    this.chunks = this.current[Symbol.asyncIterator]();
    this.skip = this.offset - next.start;
  }

  private discard(stream: Readable): void {
    stream.on("error", () => undefined);
    stream.destroy();
  }
}
