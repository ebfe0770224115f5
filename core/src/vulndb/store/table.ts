import { open, type FileHandle } from "node:fs/promises";
import { writeFileSync } from "node:fs";
import type { TableLayout } from "./format.js";

const SPARSE_EVERY = 128;

/** Writes `rows` (any order) as sorted `key\tvalue` lines with a sparse index for block lookups. */
export function writeSortedTable(file: string, name: string, rows: Iterable<[string, string]>): TableLayout {
  const sorted = [...rows].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const sparse: Array<[string, number]> = [];
  const parts: string[] = [];
  let offset = 0;
  sorted.forEach(([key, value], index) => {
    if (/[\t\n]/.test(key) || value.includes("\n")) throw new Error(`table ${name}: key or value holds a separator`);
    if (index % SPARSE_EVERY === 0) sparse.push([key, offset]);
    const line = `${key}\t${value}\n`;
    parts.push(line);
    offset += Buffer.byteLength(line);
  });
  writeFileSync(file, parts.join(""));
  return { file: name, rows: sorted.length, sparse };
}

/** Reads one key from a sorted table by reading only the block the sparse index points at. */
export class SortedTableReader {
  private handle: FileHandle | undefined;

  constructor(
    private readonly path: string,
    private readonly layout: TableLayout,
    private readonly onRead: (file: string) => void,
  ) {}

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
    this.handle ??= await open(this.path, "r");
    const start = sparse[block]![1];
    const end = block + 1 < sparse.length ? sparse[block + 1]![1] : (await this.handle.stat()).size;
    const buffer = Buffer.alloc(end - start);
    await this.handle.read(buffer, 0, buffer.length, start);
    this.onRead(this.layout.file);
    for (const line of buffer.toString("utf8").split("\n")) {
      const tab = line.indexOf("\t");
      if (tab >= 0 && line.slice(0, tab) === key) return line.slice(tab + 1);
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}
