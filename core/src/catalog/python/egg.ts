import type { ByteSource } from "../elf/index.js";
import { openZip } from "../java/zip-reader.js";
import type { ManifestParse } from "../lang/manifest-cataloger.js";
import { LimitExceeded } from "../warnings.js";

/**
 * A zipped egg (`<name>-<version>-pyX.Y.egg` as a file, the form easy_install and `setup.py
 * bdist_egg` leave in site-packages): a zip whose `EGG-INFO/PKG-INFO` is the distribution's core
 * metadata, next to its modules.
 */
const ZIPPED_EGG = /(?:^|\/)[^/]+\.egg$/;
const EGG_METADATA = "EGG-INFO/PKG-INFO";
/** Eggs hold a project's modules; a few thousand entries is a big one. */
const MAX_EGG_ENTRIES = 100_000;

export function isZippedEgg(path: string): boolean {
  return path.endsWith(".egg") && ZIPPED_EGG.test(path);
}

/**
 * Reads the PKG-INFO of a zipped egg through random access (the rest of the archive is never
 * inflated) and hands it to `parse`, which reads it like any installed metadata file.
 */
export async function readZippedEgg(
  source: ByteSource,
  path: string,
  maxMetadataBytes: number,
  parse: (content: Buffer, path: string) => ManifestParse,
): Promise<ManifestParse> {
  let zip;
  try {
    zip = await openZip(source, MAX_EGG_ENTRIES, (entry) => entry.fileName === EGG_METADATA);
  } catch (error) {
    if (error instanceof LimitExceeded) throw error;
    return { packages: [], problems: [`not a readable egg archive: ${(error as Error).message}`] };
  }
  try {
    const entry = zip.entries[0];
    if (!entry) return { packages: [], problems: [`no ${EGG_METADATA} in the egg`] };
    let content: Buffer;
    try {
      content = await zip.readEntry(entry, maxMetadataBytes);
    } catch (error) {
      if (error instanceof LimitExceeded) throw new LimitExceeded(`${EGG_METADATA}: ${error.message}`);
      return { packages: [], problems: [`${EGG_METADATA}: unreadable: ${(error as Error).message}`] };
    }
    return parse(content, path);
  } finally {
    zip.close();
  }
}
