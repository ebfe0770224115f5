import { closeSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync, writevSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * A run of a file's content that is not in memory: it writes itself to a file descriptor (a range of
 * another file, copied through a small buffer: a warm rescan's cached package list, stored-packages.ts),
 * or gives its bytes when they must be in memory (a pipe).
 */
export interface DeferredRun {
  readonly byteLength: number;
  writeTo(fd: number): void;
  bytes(): Uint8Array;
}

/** A byte run of a report: in memory, or deferred. */
export type ContentRun = Uint8Array | DeferredRun;

/** A run's bytes, in memory. */
export function runBytes(run: ContentRun): Uint8Array {
  return run instanceof Uint8Array ? run : run.bytes();
}

/**
 * Writes a file (report, cache entry, store, DB pointer) so readers never see half of it: to a temp file beside the target, then rename.
 * A target that exists and is not a regular file (`-o /dev/null`, `/dev/stdout`, a named pipe) is
 * written in place (a character device synchronously, a pipe asynchronously): renaming over it would
 * replace the device itself with a plain file, which as root breaks every later `> /dev/null` on the
 * machine.
 * `content` may be several byte runs (a report encoder's: report/lazy-render.ts), written one after
 * the other without joining them first; a deferred one writes itself.
 * The regular-file case makes synchronous calls: the file is written in one go (a few MB at most, a
 * millisecond or two), where each asynchronous call would be a thread-pool round trip.
 */
export async function writeFileAtomic(
  target: string,
  content: string | Uint8Array | readonly ContentRun[],
): Promise<void> {
  const existing = statSync(target, { throwIfNoEntry: false });
  if (existing?.isCharacterDevice()) {
    // /dev/null, a terminal: written in place, in one go as a regular file is (nothing to wait for),
    // without joining the runs into one buffer or a thread-pool round trip (and on Node 22 and 24
    // without loading fs/promises, which pulls in readline): what a benchmark's `-o /dev/null` costs.
    writeWhole(target, content);
    return;
  }
  if (existing && !existing.isFile() && !existing.isDirectory()) {
    // A pipe may wait for its reader: asynchronously.
    await writeFile(target, joined(content));
    return;
  }
  const directory = path.dirname(path.resolve(target));
  mkdirSync(directory, { recursive: true });
  const temporary = path.join(directory, `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeWhole(temporary, content);
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

function joined(content: string | Uint8Array | readonly ContentRun[]): string | Uint8Array {
  return Array.isArray(content)
    ? Buffer.concat((content as readonly ContentRun[]).map(runBytes))
    : (content as string | Uint8Array);
}

function writeWhole(file: string, content: string | Uint8Array | readonly ContentRun[]): void {
  if (!Array.isArray(content)) {
    writeFileSync(file, content as string | Uint8Array);
    return;
  }
  const fd = openSync(file, "w");
  try {
    let inMemory: Uint8Array[] = [];
    for (const run of content as readonly ContentRun[]) {
      if (run instanceof Uint8Array) {
        if (run.byteLength > 0) inMemory.push(run);
        continue;
      }
      writeRuns(fd, inMemory);
      inMemory = [];
      run.writeTo(fd);
    }
    writeRuns(fd, inMemory);
  } finally {
    closeSync(fd);
  }
}

/** One writev for all runs; a short write goes on where it stopped. */
function writeRuns(fd: number, runs: Uint8Array[]): void {
  while (runs.length > 0) {
    let written = writevSync(fd, runs);
    while (runs.length > 0 && written >= runs[0]!.byteLength) {
      written -= runs[0]!.byteLength;
      runs = runs.slice(1);
    }
    if (written > 0) runs = [runs[0]!.subarray(written), ...runs.slice(1)];
  }
}
