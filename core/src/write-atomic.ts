import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * Writes a file (report, cache entry, store, DB pointer) so readers never see half of it: to a temp file beside the target, then rename.
 * A target that exists and is not a regular file (`-o /dev/null`, `/dev/stdout`, a named pipe) is
 * written in place: renaming over it would replace the device itself with a plain file, which as
 * root breaks every later `> /dev/null` on the machine.
 */
export async function writeFileAtomic(target: string, content: string | Uint8Array): Promise<void> {
  const existing = await stat(target).catch(() => undefined);
  if (existing && !existing.isFile() && !existing.isDirectory()) {
    await writeFile(target, content);
    return;
  }
  const directory = path.dirname(path.resolve(target));
  await mkdir(directory, { recursive: true });
  const temporary = path.join(directory, `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(temporary, content);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
