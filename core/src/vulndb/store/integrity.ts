import * as crypto from "node:crypto";
import { createHash } from "node:crypto";
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, writeFileSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { crc32 } from "node:zlib";
import { Crc32c } from "../crc32c.js";
import { VulnDbError } from "../errors.js";
import { DB_SCHEMA_VERSION } from "./format.js";

/**
 * The generation's integrity manifest: the SHA-256 of every file in it (metadata, layout, lookup
 * tables, index shards, records files). Each index shard also carries a CRC per record it points at,
 * and (schema 2) the layout a CRC per lookup-table block, so a lookup checks exactly the bytes it reads. A flipped bit anywhere is refused, never read as a
 * different advisory. The writer adds it once every other file of the generation is complete.
 */
export const INTEGRITY_FILE = "integrity.json";
const FORMAT = 1;

export interface IntegrityManifest {
  format: typeof FORMAT;
  algorithm: "sha256";
  /** DB-relative path (forward slashes) -> lower-case hex SHA-256. */
  files: Record<string, string>;
}

export const REPLACE_ADVICE = "run `stowaway db update` (or `stowaway db import BUNDLE`) to replace it";

/** The one line a damaged database gets: which file, what is wrong, what to do. */
export function damagedDatabase(file: string, what: string, cause?: unknown): VulnDbError {
  return new VulnDbError(
    `${file}: ${what}; the vulnerability database is damaged: ${REPLACE_ADVICE}`,
    cause === undefined ? undefined : { cause },
  );
}

/** One-shot `crypto.hash` (Node 20.12+/21.7+) where present: cheaper than a Hash object for the ~1,000 small shards a scan verifies. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array) => string }).hash;

export function sha256Hex(content: Buffer): string {
  return oneShot ? oneShot("sha256", content) : createHash("sha256").update(content).digest("hex");
}

/**
 * Checksum of one stored record's bytes (kept beside its offset and length in the index shard) or of
 * one lookup-table block (in the layout): CRC-32 by node:zlib's native code from schema 2, CRC-32C in
 * JavaScript for schema 1 databases, which was most of the cost of reading records.
 */
export function recordChecksum(content: Uint8Array | string, schemaVersion = DB_SCHEMA_VERSION): number {
  // A string is checksummed as its UTF-8 bytes, as it is written.
  if (schemaVersion >= 2) return crc32(content);
  return new Crc32c().update(typeof content === "string" ? Buffer.from(content) : content).digest();
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** SHA-256 of a file read in 4 MiB pieces: records files of a full-size DB are hundreds of MB. */
function sha256OfFileSync(file: string): string {
  const hash = createHash("sha256");
  const fd = openSync(file, "r");
  try {
    const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** Writes the manifest for `files` (DB-relative paths) of the generation in `dir`. */
export function writeIntegrityManifest(dir: string, files: string[]): void {
  const manifest: IntegrityManifest = { format: FORMAT, algorithm: "sha256", files: {} };
  for (const file of [...files].sort()) manifest.files[file] = sha256OfFileSync(path.join(dir, file));
  writeFileSync(path.join(dir, INTEGRITY_FILE), JSON.stringify(manifest));
}

/**
 * The manifest of a generation; undefined for a database built before manifests existed (it can be
 * read but not verified). A manifest that does not parse or has the wrong shape is damage.
 */
export function readIntegrityManifest(generation: string): IntegrityManifest | undefined {
  const file = path.join(generation, INTEGRITY_FILE);
  if (!existsSync(file)) return undefined;
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw damagedDatabase(file, "the integrity manifest does not parse", error);
  }
  const value = manifest as Partial<IntegrityManifest>;
  if (typeof value.format === "number" && value.format > FORMAT) {
    throw new VulnDbError(
      `${file}: integrity manifest format ${value.format} is newer than this stowaway understands (${FORMAT}); upgrade stowaway, or run \`stowaway db update\` to rebuild it with this one`,
    );
  }
  const files = value.files as Record<string, unknown> | undefined;
  if (
    value.format !== FORMAT ||
    value.algorithm !== "sha256" ||
    typeof files !== "object" ||
    files === null ||
    !Object.values(files).every((hash) => typeof hash === "string" && /^[0-9a-f]{64}$/.test(hash))
  ) {
    throw damagedDatabase(file, "the integrity manifest is malformed");
  }
  return value as IntegrityManifest;
}

/** Checks bytes read from `relative` against the manifest; a file the manifest does not list is damage too. */
export function verifyContent(
  generation: string,
  manifest: IntegrityManifest | undefined,
  relative: string,
  content: Buffer,
): void {
  if (!manifest) return;
  const expected = Object.hasOwn(manifest.files, relative) ? manifest.files[relative] : undefined;
  if (expected === undefined)
    throw damagedDatabase(path.join(generation, relative), "not listed in the integrity manifest");
  if (sha256Hex(content) !== expected) throw damagedDatabase(path.join(generation, relative), "checksum mismatch");
}

/** Reads a whole generation file and verifies it. */
export async function readVerified(
  generation: string,
  manifest: IntegrityManifest | undefined,
  relative: string,
): Promise<Buffer> {
  const content = await readFile(path.join(generation, relative));
  verifyContent(generation, manifest, relative, content);
  return content;
}

/** Streams files of a generation through SHA-256 and compares (records files are too big to buffer). */
export async function verifyFiles(
  generation: string,
  manifest: IntegrityManifest | undefined,
  relatives: string[],
): Promise<void> {
  if (!manifest) return;
  for (const relative of relatives) {
    const expected = Object.hasOwn(manifest.files, relative) ? manifest.files[relative] : undefined;
    const file = path.join(generation, relative);
    if (expected === undefined) throw damagedDatabase(file, "not listed in the integrity manifest");
    let actual: string;
    try {
      actual = await sha256OfFile(file);
    } catch (error) {
      throw damagedDatabase(file, "unreadable", error);
    }
    if (actual !== expected) throw damagedDatabase(file, "checksum mismatch");
  }
}

/** Every file under `root`, DB-relative with forward slashes. */
export async function listGenerationFiles(root: string, dir = ""): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(path.join(root, dir), { withFileTypes: true })) {
    const relative = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listGenerationFiles(root, relative)));
    else files.push(relative);
  }
  return files.sort();
}
