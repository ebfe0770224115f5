import type { ByteSource } from "../elf/index.js";
import { manifestFacts, pomFacts, type ArchiveFacts } from "./identity.js";
import { EntryCountError, openZip, type ZipEntry } from "./zip-reader.js";
import { LimitExceeded } from "../warnings.js";

/** Bounds on one top-level archive and everything nested in it (docs/matching-rules.md P20; zip bombs). */
export interface JavaLimits {
  /** Archive levels below the image file: 4 reaches `war!/WEB-INF/lib/x.jar!/lib/y.jar!/z.jar`. */
  maxDepth: number;
  /** Central-directory entries of one archive (the biggest real jars hold tens of thousands). */
  maxEntries: number;
  /** Nested archives opened under one image file. */
  maxNestedArchives: number;
  /** MANIFEST.MF and pom.properties are a few kilobytes. */
  maxMetadataBytes: number;
  /** One nested archive; larger ones are skipped with a warning. */
  maxNestedBytes: number;
  /** Nested archives up to this size are held in memory; larger ones go to a temp file. */
  maxInMemoryNestedBytes: number;
  /** Everything inflated while reading one image file. */
  maxTotalInflatedBytes: number;
  /** Uncompressed/compressed above this, for entries over 1 MiB, is a bomb, not a jar. */
  maxCompressionRatio: number;
}

export const DEFAULT_JAVA_LIMITS: JavaLimits = {
  maxDepth: 4,
  maxEntries: 200_000,
  maxNestedArchives: 5_000,
  maxMetadataBytes: 1024 * 1024,
  maxNestedBytes: 256 * 1024 * 1024,
  maxInMemoryNestedBytes: 16 * 1024 * 1024,
  maxTotalInflatedBytes: 2 * 1024 ** 3,
  maxCompressionRatio: 100,
};

const RATIO_FLOOR_BYTES = 1024 * 1024;
const POM_PROPERTIES = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;
export const JAVA_ARCHIVE = /\.(?:jar|war|ear|par|jpi|hpi|sar|nar|kar)$/i;

export interface ArchiveWalk {
  limits: JavaLimits;
  tempDir?: string;
  facts: ArchiveFacts[];
  /** Where (an image path, `!/` before nested entries) and what went wrong. */
  /** `incomplete`: a limit kept content from being read (a bomb, too deep, too many), so packages may be missing. */
  problems: { location: string; message: string; incomplete?: boolean }[];
  inflatedBytes: number;
  nestedArchives: number;
}

function baseName(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1);
}

/** Refuses entries whose size claims a bomb before a byte of them is inflated. */
function refusal(entry: ZipEntry, walk: ArchiveWalk, maxBytes: number): string | undefined {
  const { uncompressedSize, compressedSize } = entry;
  if (uncompressedSize > maxBytes) return `${uncompressedSize} bytes, over the ${maxBytes}-byte limit`;
  if (uncompressedSize > RATIO_FLOOR_BYTES && uncompressedSize > compressedSize * walk.limits.maxCompressionRatio)
    return `compression ratio ${Math.round(uncompressedSize / Math.max(1, compressedSize))}:1 looks like a zip bomb`;
  if (walk.inflatedBytes + uncompressedSize > walk.limits.maxTotalInflatedBytes)
    return `would inflate more than ${walk.limits.maxTotalInflatedBytes} bytes for one archive`;
  return undefined;
}

/**
 * Reads one archive's pom.properties files and manifest, then recurses into the archives inside it,
 * depth-first, within `walk.limits`. Problems go to `walk.problems`; nothing throws past here except
 * for the top-level archive not being a zip, which the caller reports.
 */
export async function walkArchive(
  source: ByteSource,
  location: string,
  walk: ArchiveWalk,
  depth: number,
): Promise<void> {
  const zip = await openZip(
    source,
    walk.limits.maxEntries,
    (entry) =>
      !entry.fileName.endsWith("/") &&
      (POM_PROPERTIES.test(entry.fileName) ||
        entry.fileName.toUpperCase() === "META-INF/MANIFEST.MF" ||
        JAVA_ARCHIVE.test(entry.fileName)),
  );
  try {
    const facts: ArchiveFacts = { location, fileName: baseName(location), poms: [] };
    const nested: ZipEntry[] = [];
    for (const entry of zip.entries) {
      if (JAVA_ARCHIVE.test(entry.fileName)) {
        nested.push(entry);
        continue;
      }
      const refused = refusal(entry, walk, walk.limits.maxMetadataBytes);
      if (refused) {
        walk.problems.push({
          location: `${location}!/${entry.fileName}`,
          message: `skipped, ${refused}`,
          incomplete: true,
        });
        continue;
      }
      try {
        const content = await zip.readEntry(entry, walk.limits.maxMetadataBytes);
        walk.inflatedBytes += content.length;
        if (POM_PROPERTIES.test(entry.fileName)) {
          const pom = pomFacts(entry.fileName, content);
          if (pom) facts.poms.push(pom);
        } else if (!facts.manifest) {
          facts.manifest = manifestFacts(content);
        }
      } catch (error) {
        walk.problems.push({
          location: `${location}!/${entry.fileName}`,
          message: `unreadable: ${(error as Error).message}`,
        });
      }
    }
    walk.facts.push(facts);
    for (const entry of nested) await walkNested(zip, entry, `${location}!/${entry.fileName}`, walk, depth + 1);
  } finally {
    zip.close();
  }
}

async function walkNested(
  zip: Awaited<ReturnType<typeof openZip>>,
  entry: ZipEntry,
  location: string,
  walk: ArchiveWalk,
  depth: number,
): Promise<void> {
  if (depth > walk.limits.maxDepth) {
    walk.problems.push({
      location,
      message: `not opened, nested deeper than ${walk.limits.maxDepth} archives`,
      incomplete: true,
    });
    return;
  }
  if (walk.nestedArchives >= walk.limits.maxNestedArchives) {
    if (walk.nestedArchives === walk.limits.maxNestedArchives)
      walk.problems.push({
        location,
        message: `more than ${walk.limits.maxNestedArchives} nested archives; the rest are skipped`,
        incomplete: true,
      });
    walk.nestedArchives += 1;
    return;
  }
  walk.nestedArchives += 1;
  const refused = refusal(entry, walk, walk.limits.maxNestedBytes);
  if (refused) {
    walk.problems.push({ location, message: `skipped, ${refused}`, incomplete: true });
    return;
  }
  walk.inflatedBytes += entry.uncompressedSize;
  try {
    if (entry.uncompressedSize <= walk.limits.maxInMemoryNestedBytes) {
      const content = await zip.readEntry(entry, walk.limits.maxInMemoryNestedBytes);
      await walkArchive(
        { size: content.length, read: async (offset, length) => content.subarray(offset, offset + length) },
        location,
        walk,
        depth,
      );
    } else {
      const spilled = await zip.spillEntry(entry, walk.limits.maxNestedBytes, walk.tempDir ?? "");
      try {
        await walkArchive(spilled, location, walk, depth);
      } finally {
        await spilled.dispose();
      }
    }
  } catch (error) {
    const message =
      error instanceof EntryCountError ? error.message : `not a readable archive: ${(error as Error).message}`;
    walk.problems.push({ location, message, incomplete: error instanceof LimitExceeded });
  }
}
