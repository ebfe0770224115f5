import * as crypto from "node:crypto";

/**
 * Version of the on-disk layout. Readers refuse newer ones; bump it whenever a reader of the previous
 * version would misread the new files. This reader still reads every older version.
 * - 1: index shards are one JSON object per shard (`<prefix>.json`); record references carry CRC-32C
 *   (computed in JavaScript); lookup tables are verified whole (SHA-256) before their first lookup.
 * - 2: index shards are lines `"<name>"\t[refs]` (`<prefix>.tsv`), so a lookup finds its one line
 *   without parsing the shard; record references carry CRC-32 (node:zlib, native) and the record's
 *   ceiling for the package (store/ceiling.ts), so matching skips advisories fixed below the installed
 *   version unread; each lookup-table block has a CRC-32 in the layout's sparse index, so a lookup
 *   verifies the block it reads.
 */
export const DB_SCHEMA_VERSION = 2;

export const METADATA_FILE = "metadata.json";
export const LAYOUT_FILE = "layout.json";
export const CURRENT_FILE = "CURRENT";
export const RECENT_ECOSYSTEMS_FILE = "recent-ecosystems.json";
export const KEV_TABLE = "kev.tsv";
export const EPSS_TABLE = "epss.tsv";

/** Where each ecosystem's shards live and how names are spread over them (internal, not the public metadata). */
export interface Layout {
  schemaVersion: number;
  /** Per source, in metadata.sources order: its JSON-lines records file. */
  recordFiles: string[];
  ecosystems: Record<string, { dir: string; prefixLength: number; names: number; records: number }>;
  kev?: TableLayout;
  epss?: TableLayout;
  /** Per source name (NVD, CVE List V5): CVE id -> `{"m": modified, "v": [CVSS vectors]}`. */
  metrics?: Record<string, TableLayout>;
}

export interface TableLayout {
  file: string;
  rows: number;
  /**
   * Every Nth row's key and byte offset, so a lookup reads one block; from schema 2 also the CRC-32
   * of the block's bytes (up to the next entry's offset, or the end of the file).
   */
  sparse: Array<[string, number] | [string, number, number]>;
}

/**
 * A shard maps a normalised package name to [record file number, byte offset, byte length, checksum of
 * those bytes (CRC-32C in schema 1, CRC-32 from 2), ceiling (schema 2, store/ceiling.ts)] references;
 * databases built before integrity manifests have no checksum.
 */
export type RecordRef = [number, number, number, number?, string?];
export type Shard = Record<string, RecordRef[]>;

/** One line of a schema-2 shard. JSON-quoting the name keeps tabs and newlines out of the key. */
export function shardLine(name: string, refs: RecordRef[]): string {
  return `${JSON.stringify(name)}\t${JSON.stringify(refs)}\n`;
}

/**
 * The refs of `name` in a schema-2 shard, or undefined when the shard does not list it: the one line
 * starting with the quoted name (every line starts with one), searched in the shard's bytes as read
 * and verified, so the shard stays outside the JavaScript heap (a full-size lookup reads ~10 MB of
 * shards, which as strings the garbage collector copied around) and only the one line found is decoded. UTF-8 bytes of the quoted name match where its
 * text would, as the writer stores shards as UTF-8.
 */
export function findInShardBytes(bytes: Buffer, name: string): RecordRef[] | undefined {
  const prefix = Buffer.from(`\n${JSON.stringify(name)}\t`);
  let start: number;
  // The first line has no newline before it.
  if (bytes.length >= prefix.length - 1 && prefix.compare(bytes, 0, prefix.length - 1, 1) === 0) {
    start = prefix.length - 1;
  } else {
    const at = bytes.indexOf(prefix);
    if (at < 0) return undefined;
    start = at + prefix.length;
  }
  const end = bytes.indexOf(0x0a, start);
  return JSON.parse(bytes.toString("utf8", start, end < 0 ? bytes.length : end)) as RecordRef[];
}

/** Every (name, refs) of a shard's text in either schema (for `db status --verify`). */
export function shardEntries(text: string, schemaVersion: number): Array<[string, RecordRef[]]> {
  if (schemaVersion < 2) return Object.entries(JSON.parse(text) as Shard);
  const out: Array<[string, RecordRef[]]> = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const tab = line.indexOf("\t");
    if (tab < 0) throw new Error("a shard line has no tab");
    out.push([JSON.parse(line.slice(0, tab)) as string, JSON.parse(line.slice(tab + 1)) as RecordRef[]]);
  }
  return out;
}

/** One-shot `crypto.hash` (Node 20.12+/21.7+) where present: a Hash object per lookup costs more than the hashing. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Uint8Array) => string }).hash;

export function nameHash(name: string): string {
  return oneShot ? oneShot("sha1", name) : crypto.createHash("sha1").update(name).digest("hex");
}

/** Shards hold ~256 names at most, so one lookup parses a few tens of KB whatever the DB size. */
export function prefixLengthFor(names: number): number {
  let length = 0;
  while (names / 16 ** length > 256 && length < 4) length++;
  return length;
}

export function shardFile(dir: string, prefixLength: number, name: string, schemaVersion = DB_SCHEMA_VERSION): string {
  const prefix = prefixLength === 0 ? "all" : nameHash(name).slice(0, prefixLength);
  return `index/${dir}/${prefix}.${schemaVersion < 2 ? "json" : "tsv"}`;
}
