import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { crc32 } from "node:zlib";
import type { TableLayout } from "./format.js";
import { damagedDatabase } from "./integrity.js";
import { TextSpill } from "./spill.js";

const SPARSE_EVERY = 128;

/** The order of a sorted table's keys (UTF-16 code units, as readers compare them). */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Writes `rows` (any order) as sorted `key\tvalue` lines with a sparse index for block lookups; each
 * sparse entry carries the CRC-32 of its block, so a reader verifies the few KB it reads instead of
 * hashing the whole table (50 MB for NVD) before its first lookup.
 */
export function writeSortedTable(
  file: string,
  name: string,
  rows: Iterable<[string, string]>,
  every = SPARSE_EVERY,
): TableLayout {
  const sorted = [...rows].sort((a, b) => compareKeys(a[0], b[0]));
  return writeSortedRows(file, name, sorted.length, (index) => sorted[index]!, every);
}

/**
 * writeSortedTable for `count` rows already in key order, each asked for when it is written: a
 * caller with the values on disk (CVSS rows) never holds them all as strings.
 */
export function writeSortedRows(
  file: string,
  name: string,
  count: number,
  row: (index: number) => [string, string],
  every = SPARSE_EVERY,
): TableLayout {
  const sparse: Array<[string, number, number]> = [];
  // Written through a small buffer: a whole NVD table joined into one string would double the build's peak.
  const out = new TextSpill(file);
  try {
    let offset = 0;
    for (let index = 0; index < count; index++) {
      const [key, value] = row(index);
      if (/[\t\n]/.test(key) || value.includes("\n")) throw new Error(`table ${name}: key or value holds a separator`);
      if (index % every === 0) sparse.push([key, offset, 0]);
      const line = `${key}\t${value}\n`;
      const block = sparse[sparse.length - 1]!;
      block[2] = crc32(line, block[2]);
      offset += out.write(line);
    }
  } finally {
    out.close();
  }
  return { file: name, rows: count, sparse };
}

/** Values (and misses) kept per table, least recently used dropped first. */
const VALUES_KEPT = 50_000;

/**
 * Reads one key from a sorted table by reading only the block the sparse index points at (16-128
 * rows, a few KB). Matching asks for thousands of keys at random (KEV, EPSS and CVSS vectors of every
 * finding's CVEs): one small synchronous read each (a thread-pool round trip would dominate), and
 * answers kept, so a rescan that meets the same CVEs in many images reads each once. Parsing whole
 * 64 KiB chunks per miss made the garbage collector the main cost of a full-size lookup.
 */
export class SortedTableReader {
  private fd: number | undefined;
  private size = 0;
  private readonly values = new Map<string, string | null>();

  /**
   * `checkBlocks`: verify each block read against the CRC-32 in its sparse entry (schema 2 databases
   * with an integrity manifest); otherwise the caller verifies the whole file before the first lookup.
   */
  constructor(
    private readonly path: string,
    private readonly layout: TableLayout,
    private readonly onRead: (file: string) => void,
    private readonly checkBlocks = false,
  ) {}

  private open(): number {
    if (this.fd === undefined) {
      try {
        this.fd = openSync(this.path, "r");
        this.size = fstatSync(this.fd).size;
      } catch (error) {
        throw damagedDatabase(this.path, "lookup table unreadable", error);
      }
    }
    return this.fd;
  }

  private readBlock(block: number, key: string): string | undefined {
    const fd = this.open();
    const { sparse } = this.layout;
    const start = sparse[block]![1];
    const end = block + 1 < sparse.length ? sparse[block + 1]![1] : this.size;
    const buffer = Buffer.allocUnsafe(Math.max(0, end - start));
    let read: number;
    try {
      read = readSync(fd, buffer, 0, buffer.length, start);
    } catch (error) {
      throw damagedDatabase(this.path, `block at byte ${start}: unreadable`, error);
    }
    this.onRead(this.layout.file);
    if (this.checkBlocks) {
      const expected = sparse[block]![2];
      if (typeof expected !== "number" || read !== buffer.length || crc32(buffer) !== expected)
        throw damagedDatabase(this.path, `block at byte ${start}: checksum mismatch`);
    }
    // Searched as bytes and only the value decoded: a slice of the block's text would keep the whole
    // block alive in the answers kept below (2 MB per 2,000-package match, copied by the GC).
    const bytes = buffer.subarray(0, read);
    const prefix = Buffer.from(`\n${key}\t`);
    let from: number;
    if (bytes.length >= prefix.length - 1 && prefix.compare(bytes, 0, prefix.length - 1, 1) === 0) {
      from = prefix.length - 1;
    } else {
      const at = bytes.indexOf(prefix);
      if (at < 0) return undefined;
      from = at + prefix.length;
    }
    const newline = bytes.indexOf(0x0a, from);
    return bytes.toString("utf8", from, newline < 0 ? bytes.length : newline);
  }

  async get(key: string): Promise<string | undefined> {
    const known = this.values.get(key);
    if (known !== undefined) {
      this.values.delete(key);
      this.values.set(key, known);
      return known ?? undefined;
    }
    const { sparse } = this.layout;
    let lo = 0;
    let hi = sparse.length - 1;
    let block = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (sparse[mid]![0] <= key) {
        block = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    const value = block < 0 ? undefined : this.readBlock(block, key);
    this.values.set(key, value ?? null);
    if (this.values.size > VALUES_KEPT) this.values.delete(this.values.keys().next().value!);
    return value;
  }

  async close(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.values.clear();
  }
}
