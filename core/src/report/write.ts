import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

/** Writes a report so readers never see half of it: to a temp file beside the target, then rename. */
export async function writeFileAtomic(target: string, content: string | Buffer): Promise<void> {
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
