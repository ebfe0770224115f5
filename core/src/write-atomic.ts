import { mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * Writes a file (report, cache entry, store, DB pointer) so readers never see half of it: to a temp file beside the target, then rename.
 * A target that exists and is not a regular file (`-o /dev/null`, `/dev/stdout`, a named pipe) is
 * written in place: renaming over it would replace the device itself with a plain file, which as
 * root breaks every later `> /dev/null` on the machine.
 * `content` may be several byte runs (a report encoder's: report/lazy-render.ts), written one after
 * the other without joining them first.
 */
export async function writeFileAtomic(
  target: string,
  content: string | Uint8Array | readonly Uint8Array[],
): Promise<void> {
  const existing = await stat(target).catch(() => undefined);
  if (existing && !existing.isFile() && !existing.isDirectory()) {
    await writeWhole(target, content);
    return;
  }
  const directory = path.dirname(path.resolve(target));
  await mkdir(directory, { recursive: true });
  const temporary = path.join(directory, `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeWhole(temporary, content);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

async function writeWhole(file: string, content: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
  if (!Array.isArray(content)) return writeFile(file, content as string | Uint8Array);
  const handle = await open(file, "w");
  try {
    let runs = (content as readonly Uint8Array[]).filter((run) => run.byteLength > 0);
    while (runs.length > 0) {
      // One writev for all runs; a short write (a pipe, a signal) goes on where it stopped.
      let { bytesWritten } = await handle.writev(runs);
      while (runs.length > 0 && bytesWritten >= runs[0]!.byteLength) {
        bytesWritten -= runs[0]!.byteLength;
        runs = runs.slice(1);
      }
      if (bytesWritten > 0) runs = [runs[0]!.subarray(bytesWritten), ...runs.slice(1)];
    }
  } finally {
    await handle.close();
  }
}
