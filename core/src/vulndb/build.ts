import { existsSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { DatabaseMetadata } from "./types.js";
import { VulnDbError, type WarningSink } from "./errors.js";
import { Ingestor } from "./ingest/index.js";
import { DEFAULT_ZIP_LIMITS, type ZipLimits } from "./ingest/zip.js";
import { LAYOUT_FILE, type Layout } from "./store/format.js";
import { createStagingDir, installGeneration, removeStaleStaging, resolveGeneration } from "./store/location.js";
import { readMetadataFile } from "./store/reader.js";
import { DatabaseWriter } from "./store/writer.js";

export interface BuildDatabaseOptions {
  /** Files and directories: OSV JSON/YAML/zip, Debian tracker JSON, Alpine secdb, Red Hat CSAF/VEX and Security Data API JSON, CISA KEV JSON, EPSS CSV(.gz). */
  from: string[];
  dbDir: string;
  warn?: WarningSink;
  zipLimits?: ZipLimits;
  now?: Date;
}

/**
 * Fills a fresh staging directory through `fill`, then installs it as the live generation. Any failure
 * removes the staging directory and leaves the existing database as it was.
 */
export async function withStagedDatabase(
  dbDir: string,
  fill: (writer: DatabaseWriter, staging: string) => Promise<void>,
  now = new Date(),
): Promise<DatabaseMetadata> {
  removeStaleStaging(dbDir);
  const created = !existsSync(dbDir);
  const staging = createStagingDir(dbDir);
  const writer = new DatabaseWriter(staging);
  try {
    await fill(writer, staging);
    const metadata = writer.finish(now);
    await installGeneration(dbDir, staging, now);
    return metadata;
  } catch (error) {
    writer.abort();
    // A directory this run created holds nothing usable: leaving it would make the next scan take
    // it for a database.
    if (created) rmSync(dbDir, { recursive: true, force: true });
    throw error;
  }
}

/** `stowaway db build`: compiles local inputs into the database at `dbDir`, replacing it atomically. */
export async function buildDatabase(options: BuildDatabaseOptions): Promise<DatabaseMetadata> {
  if (options.from.length === 0) throw new VulnDbError("db build needs at least one --from FILE|DIR|ZIP");
  const warn = options.warn ?? (() => undefined);
  return withStagedDatabase(
    options.dbDir,
    async (writer) => {
      const ingestor = new Ingestor(writer, warn, options.zipLimits ?? DEFAULT_ZIP_LIMITS);
      for (const input of options.from) await ingestor.addPath(input);
      ingestor.finish();
      if (writer.isEmpty) {
        throw new VulnDbError(
          `no usable vulnerability data in ${options.from.join(", ")}; give OSV, Debian tracker, Alpine secdb, Red Hat CSAF, KEV or EPSS files`,
        );
      }
    },
    options.now,
  );
}

/** The live generation's metadata and layout, or undefined when there is no database yet. */
export async function readExistingDatabase(
  dbDir: string,
): Promise<{ generation: string; metadata: DatabaseMetadata; layout: Layout } | undefined> {
  const generation = resolveGeneration(dbDir);
  if (!generation) return undefined;
  const metadata = await readMetadataFile(generation);
  const layout = JSON.parse(await readFile(path.join(generation, LAYOUT_FILE), "utf8")) as Layout;
  return { generation, metadata, layout };
}
