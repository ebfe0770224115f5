import { open } from "node:fs/promises";
import path from "node:path";
import { VulnDbError } from "../errors.js";
import { LAYOUT_FILE, shardEntries, type Layout, type RecordRef } from "./format.js";
import {
  INTEGRITY_FILE,
  damagedDatabase,
  listGenerationFiles,
  readIntegrityManifest,
  readVerified,
  recordChecksum,
  verifyFiles,
} from "./integrity.js";

export interface VerifyReport {
  /** Files whose SHA-256 matched the manifest. */
  files: number;
  /** Record references whose checksum (CRC-32, or CRC-32C in schema 1) matched the bytes they point at. */
  records: number;
}

/**
 * Checks a whole generation (`stowaway db status --verify`): the manifest lists exactly the files
 * present, each file's SHA-256 matches, and every record reference of every shard points at bytes
 * with the checksum it names. Throws the one-line damaged-database error at the first problem.
 */
export async function verifyGeneration(generation: string): Promise<VerifyReport> {
  const manifest = readIntegrityManifest(generation);
  if (!manifest) {
    throw new VulnDbError(
      `${generation}: no ${INTEGRITY_FILE}, so the database cannot be verified (it was built by an older stowaway); run \`stowaway db update\` to rebuild it`,
    );
  }
  const present = (await listGenerationFiles(generation)).filter((file) => file !== INTEGRITY_FILE);
  const listed = Object.keys(manifest.files).sort();
  const missing = listed.filter((file) => !present.includes(file));
  if (missing.length > 0)
    throw damagedDatabase(path.join(generation, missing[0]!), "listed in the integrity manifest but missing");
  const extra = present.filter((file) => !Object.hasOwn(manifest.files, file));
  if (extra.length > 0) throw damagedDatabase(path.join(generation, extra[0]!), "not listed in the integrity manifest");
  await verifyFiles(generation, manifest, listed);

  const layout = JSON.parse((await readVerified(generation, manifest, LAYOUT_FILE)).toString("utf8")) as Layout;
  let records = 0;
  const handles = await Promise.all(layout.recordFiles.map((file) => open(path.join(generation, file), "r")));
  try {
    for (const shardFile of listed.filter((file) => file.startsWith("index/"))) {
      const version = typeof layout.schemaVersion === "number" ? layout.schemaVersion : 1;
      let entries: Array<[string, RecordRef[]]>;
      try {
        entries = shardEntries((await readVerified(generation, manifest, shardFile)).toString("utf8"), version);
      } catch (error) {
        if (error instanceof VulnDbError) throw error;
        throw damagedDatabase(path.join(generation, shardFile), "index shard does not parse", error);
      }
      for (const [, refs] of entries) {
        for (const [fileNumber, offset, length, checksum] of refs) {
          const handle = handles[fileNumber];
          const buffer = Buffer.alloc(length);
          const read = handle ? (await handle.read(buffer, 0, length, offset)).bytesRead : -1;
          if (read !== length || typeof checksum !== "number" || recordChecksum(buffer, version) !== checksum)
            throw damagedDatabase(
              path.join(generation, shardFile),
              `a reference to record file #${fileNumber} at byte ${offset} does not match its record`,
            );
          records++;
        }
      }
    }
  } finally {
    for (const handle of handles) await handle.close();
  }
  return { files: listed.length, records };
}
