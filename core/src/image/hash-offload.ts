import { createHash, type Hash } from "node:crypto";
import os from "node:os";
import { Worker } from "node:worker_threads";

/**
 * SHA-256/512 of layer streams, computed on a worker thread so the main thread (which parses the tar
 * and runs the catalogers) does not spend ~0.2 s per 300 MiB hashing. The main thread only copies
 * each chunk into a shared ring buffer (a memcpy, ~20x cheaper than the hash); one worker drains the
 * ring for every stream of the process and posts each digest back when its stream ends. Streams that
 * end within INLINE_BYTES are hashed on the main thread: for them a worker costs more than it saves.
 *
 * A verdict still comes only after every byte was hashed: `digest()` resolves once the worker has
 * hashed the whole stream, and callers compare it before they trust or cache anything.
 */
export interface StreamHash {
  update(chunk: Buffer): void;
  /** Hex digest of everything passed to update(); call once. */
  digest(): Promise<string>;
}

export type HashAlgorithm = "sha256" | "sha512";

/** Below this many bytes a stream is hashed inline (its first bytes are copied until it is known to be bigger). */
const INLINE_BYTES = 1024 * 1024;
/** The ring: 16 MiB of lead before the main thread waits for the worker (which hashes ~1.5 GB/s). */
const RING_BYTES = 16 * 1024 * 1024;
/** Chunks are split into records of at most this size, so a record always fits the ring. */
const MAX_RECORD = RING_BYTES / 4;
const HEADER = 8;
/** Published bytes after which a sleeping worker is woken (and always at a stream's end). */
const WAKE_BYTES = 1024 * 1024;
const MASK = 0x7fffffff;
/** Record codes (second header word); a code >= 0 is a data record of that many bytes. */
const START_SHA256 = -1;
const START_SHA512 = -2;
const END = -3;
const WRAP = -4;
/** How long the main thread waits for ring space before it decides the worker is gone. */
const STALL_MS = 60_000;

// Runs on the worker: drains records in order, forever; the process ends it (the worker is unref'd).
const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const control = new Int32Array(workerData.control);
const bytes = new Uint8Array(workerData.ring);
const words = new Int32Array(workerData.ring);
const size = bytes.length;
const hashes = new Map();
let read = 0;
for (;;) {
  let write = Atomics.load(control, 0);
  while (write === read) {
    // Tell the main thread a wake-up is needed, then sleep unless it published meanwhile.
    Atomics.store(control, 2, 1);
    Atomics.wait(control, 0, read);
    Atomics.store(control, 2, 0);
    write = Atomics.load(control, 0);
  }
  while (read !== write) {
    const at = read & (size - 1);
    const id = words[at >> 2];
    const code = words[(at >> 2) + 1];
    let step = ${HEADER};
    if (code >= 0) {
      hashes.get(id).update(bytes.subarray(at + ${HEADER}, at + ${HEADER} + code));
      step += (code + 7) & ~7;
    } else if (code === ${START_SHA256} || code === ${START_SHA512}) {
      hashes.set(id, createHash(code === ${START_SHA256} ? "sha256" : "sha512"));
    } else if (code === ${END}) {
      parentPort.postMessage({ id, digest: hashes.get(id).digest("hex") });
      hashes.delete(id);
    } else step = size - at;
    read = (read + step) & ${MASK};
  }
  Atomics.store(control, 1, read);
  Atomics.notify(control, 1);
}
`;

class HashRing {
  /** [0] write position, [1] read position, [2] 1 while the worker sleeps waiting for records. */
  private readonly control = new Int32Array(new SharedArrayBuffer(12));
  private readonly ringBuffer = new SharedArrayBuffer(RING_BYTES);
  private readonly bytes = new Uint8Array(this.ringBuffer);
  private readonly words = new Int32Array(this.ringBuffer);
  private readonly worker: Worker;
  private write = 0;
  /** Bytes published since the worker was last woken. */
  private unannounced = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (hex: string) => void; reject: (error: Error) => void }>();
  private failure: Error | undefined;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { control: this.control.buffer, ring: this.ringBuffer },
    });
    this.worker.unref();
    this.worker.on("message", (message: { id: number; digest: string }) => {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (this.pending.size === 0) this.worker.unref();
      waiter?.resolve(message.digest);
    });
    const fail = (error: Error): void => {
      this.failure ??= error;
      for (const waiter of this.pending.values()) waiter.reject(this.failure);
      this.pending.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`the hashing worker exited (${code})`)));
  }

  get broken(): boolean {
    return this.failure !== undefined;
  }

  start(algorithm: HashAlgorithm): number {
    const id = this.nextId++;
    this.record(id, algorithm === "sha256" ? START_SHA256 : START_SHA512);
    return id;
  }

  update(id: number, chunk: Uint8Array): void {
    for (let at = 0; at < chunk.length; at += MAX_RECORD) {
      const part = chunk.subarray(at, Math.min(chunk.length, at + MAX_RECORD));
      this.record(id, part.length, part);
    }
  }

  end(id: number): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    const digest = new Promise<string>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    // Referenced while a digest is awaited, so the process does not exit under a pending verdict.
    this.worker.ref();
    this.record(id, END);
    return digest;
  }

  private record(id: number, code: number, data?: Uint8Array): void {
    if (this.failure) throw this.failure;
    const length = HEADER + (data ? (data.length + 7) & ~7 : 0);
    let at = this.write & (RING_BYTES - 1);
    const toEnd = RING_BYTES - at;
    if (length > toEnd) {
      this.waitForRoom(toEnd);
      this.words[at >> 2] = id;
      this.words[(at >> 2) + 1] = WRAP;
      this.publish(toEnd);
      at = 0;
    }
    this.waitForRoom(length);
    this.words[at >> 2] = id;
    this.words[(at >> 2) + 1] = code;
    if (data) this.bytes.set(data, at + HEADER);
    this.publish(length, code === END);
  }

  private publish(length: number, wake = false): void {
    this.write = (this.write + length) & MASK;
    Atomics.store(this.control, 0, this.write);
    this.unannounced += length;
    // A sleeping worker is woken once per WAKE_BYTES, not per record: every wake-up is a futex
    // call and, on a busy machine, a context switch.
    if (wake || this.unannounced >= WAKE_BYTES) this.wake();
  }

  private wake(): void {
    this.unannounced = 0;
    if (Atomics.load(this.control, 2) === 1) Atomics.notify(this.control, 0);
  }

  /** Blocks until the worker has drained enough of the ring: backpressure, as an inline hash would be. */
  private waitForRoom(length: number): void {
    const deadline = Date.now() + STALL_MS;
    for (;;) {
      const read = Atomics.load(this.control, 1);
      if (RING_BYTES - ((this.write - read) & MASK) >= length) return;
      this.wake();
      if (Date.now() > deadline) {
        this.failure ??= new Error("the hashing worker stopped draining its queue");
        throw this.failure;
      }
      Atomics.wait(this.control, 1, read, 50);
    }
  }
}

let ring: HashRing | undefined;

/**
 * Whether streams are hashed off the main thread: only with STOWAWAY_HASH_WORKER=1 and two or more
 * CPUs. Off by default: on the idle 2-core bench machine it changed a cold scan's wall time by 1%
 * (within noise, Node 20 and 24, 311 MiB of tar) while adding ~0.1 s of CPU, since the decoder
 * already keeps the second core busy.
 */
function offloading(): boolean {
  if (process.env.STOWAWAY_HASH_WORKER !== "1") return false;
  return (os.availableParallelism?.() ?? os.cpus().length) >= 2;
}

class InlineFirstHash implements StreamHash {
  private inline: Hash | undefined;
  private head: Buffer[] = [];
  private headBytes = 0;
  private id: number | undefined;

  constructor(private readonly algorithm: HashAlgorithm) {
    if (!offloading() || ring?.broken) this.inline = createHash(algorithm);
  }

  update(chunk: Buffer): void {
    if (this.inline) {
      this.inline.update(chunk);
      return;
    }
    if (this.id !== undefined) {
      ring!.update(this.id, chunk);
      return;
    }
    // Copied: the caller's chunk may be a view of a buffer its producer reuses.
    this.head.push(Buffer.from(chunk));
    this.headBytes += chunk.length;
    if (this.headBytes >= INLINE_BYTES) {
      ring ??= new HashRing();
      this.id = ring.start(this.algorithm);
      for (const part of this.head) ring.update(this.id, part);
      this.head = [];
    }
  }

  digest(): Promise<string> {
    if (this.id !== undefined) return ring!.end(this.id);
    const hash = this.inline ?? createHash(this.algorithm);
    for (const part of this.head) hash.update(part);
    this.head = [];
    return Promise.resolve(hash.digest("hex"));
  }
}

/** A stream hash that runs on the shared worker once the stream outgrows INLINE_BYTES. */
export function streamHash(algorithm: HashAlgorithm): StreamHash {
  return new InlineFirstHash(algorithm);
}
