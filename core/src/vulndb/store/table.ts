import { closeSync, fstatSync, openSync, readSync, writeFileSync } from "node:fs";
import type { TableLayout } from "./format.js";

const SPARSE_EVERY = 128;

/** Writes `rows` (any order) as sorted `key\tvalue` lines with a sparse index for block lookups. */
export function writeSortedTable(
  file: string,
  name: string,
  rows: Iterable<[string, string]>,
  every = SPARSE_EVERY,
): TableLayout {
  const sorted = [...rows].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const sparse: Array<[string, number]> = [];
  const parts: string[] = [];
  let offset = 0;
  sorted.forEach(([key, value], index) => {
    if (/[\t\n]/.test(key) || value.includes("\n")) throw new Error(`table ${name}: key or value holds a separator`);
    if (index % every === 0) sparse.push([key, offset]);
    const line = `${key}\t${value}\n`;
    parts.push(line);
    offset += Buffer.byteLength(line);
  });
  writeFileSync(file, parts.join(""));
  return { file: name, rows: sorted.length, sparse };
}

/** Bytes read per disk access: consecutive index blocks are read together and kept. */
const CHUNK_BYTES = 64 * 1024;
/** Chunks kept per table (at most ~8 MiB), least recently used dropped first. */
const CHUNKS_KEPT = 128;

/**
 * Reads one key from a sorted table by reading only the part the sparse index points at. Matching
 * asks for thousands of keys (KEV, EPSS and CVSS vectors of every finding's CVEs), and a disk access
 * costs far more than a few KB of parsing, so ~64 KiB chunks of consecutive blocks are read at once,
 * synchronously (a thread-pool round trip each would dominate), and a bounded number kept parsed.
 */
export class SortedTableReader {
  private fd: number | undefined;
  private size = 0;
  private group = 1;
  private readonly chunks = new Map<number, Map<string, string>>();

  constructor(
    private readonly path: string,
    private readonly layout: TableLayout,
    private readonly onRead: (file: string) => void,
  ) {}

  private open(): number {
    if (this.fd === undefined) {
      this.fd = openSync(this.path, "r");
      this.size = fstatSync(this.fd).size;
      const average = this.size / Math.max(1, this.layout.sparse.length);
      this.group = Math.max(1, Math.floor(CHUNK_BYTES / Math.max(1, average)));
    }
    return this.fd;
  }

  private chunk(index: number): Map<string, string> {
    const cached = this.chunks.get(index);
    if (cached) {
      this.chunks.delete(index);
      this.chunks.set(index, cached);
      return cached;
    }
    const fd = this.open();
    const { sparse } = this.layout;
    const first = index * this.group;
    const last = Math.min(first + this.group, sparse.length);
    const start = sparse[first]![1];
    const end = last < sparse.length ? sparse[last]![1] : this.size;
    const buffer = Buffer.allocUnsafe(end - start);
    const read = readSync(fd, buffer, 0, buffer.length, start);
    this.onRead(this.layout.file);
    const rows = new Map<string, string>();
    for (const line of buffer.toString("utf8", 0, read).split("\n")) {
      const tab = line.indexOf("\t");
      if (tab >= 0) rows.set(line.slice(0, tab), line.slice(tab + 1));
    }
    this.chunks.set(index, rows);
    if (this.chunks.size > CHUNKS_KEPT) this.chunks.delete(this.chunks.keys().next().value!);
    return rows;
  }

  async get(key: string): Promise<string | undefined> {
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
    if (block < 0) return undefined;
    this.open();
    return this.chunk(Math.floor(block / this.group)).get(key);
  }

  async close(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.chunks.clear();
  }
}
