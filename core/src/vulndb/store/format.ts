import { createHash } from "node:crypto";

/**
 * Version of the on-disk layout. Readers refuse newer ones; bump it whenever a reader of the previous
 * version would misread the new files.
 */
export const DB_SCHEMA_VERSION = 1;

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
  /** Every Nth row's key and byte offset, so a lookup reads one block. */
  sparse: Array<[string, number]>;
}

/**
 * A shard maps a normalised package name to [record file number, byte offset, byte length, CRC-32C of
 * those bytes] references; databases built before integrity manifests have no checksum.
 */
export type RecordRef = [number, number, number, number?];
export type Shard = Record<string, RecordRef[]>;

export function nameHash(name: string): string {
  return createHash("sha1").update(name).digest("hex");
}

/** Shards hold ~256 names at most, so one lookup parses a few tens of KB whatever the DB size. */
export function prefixLengthFor(names: number): number {
  let length = 0;
  while (names / 16 ** length > 256 && length < 4) length++;
  return length;
}

export function shardFile(dir: string, prefixLength: number, name: string): string {
  const prefix = prefixLength === 0 ? "all" : nameHash(name).slice(0, prefixLength);
  return `index/${dir}/${prefix}.json`;
}
