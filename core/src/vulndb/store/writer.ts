import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import type { OsvRecord } from "../osv.js";
import type { DatabaseMetadata, DatabaseSource, EpssScore, KevEntry } from "../types.js";
import type { CveMetrics } from "../sources/cve-metrics.js";
import { normalizeEcosystem, normalizePackageName } from "../normalize.js";
import {
  DB_SCHEMA_VERSION,
  EPSS_TABLE,
  KEV_TABLE,
  LAYOUT_FILE,
  METADATA_FILE,
  prefixLengthFor,
  shardFile,
  type Layout,
} from "./format.js";
import { recordCeiling } from "./ceiling.js";
import { recordChecksum, writeIntegrityManifest } from "./integrity.js";
import { TextSpill } from "./spill.js";
import { compareKeys, writeSortedRows, writeSortedTable } from "./table.js";

/** Provenance of what is being added; records are grouped per source name in the DB. */
export interface SourceInfo {
  name: string;
  origin: string;
  fetchedAt: string;
  url?: string;
  etag?: string;
  lastModified?: string;
  validators?: Record<string, { etag?: string; lastModified?: string }>;
}

/**
 * Every stored record's index entry, one column per field (a record is a row number): 600k entry
 * objects with their boxed numbers and `source\0id` keys were a third of a full-size build's live heap.
 */
class EntryTable {
  count = 0;
  source = new Uint16Array(1024);
  offset = new Float64Array(1024);
  length = new Uint32Array(1024);
  /** Checksum (recordChecksum) of the record's bytes (without the newline). */
  checksum = new Uint32Array(1024);
  modified = new Float64Array(1024);
  /**
   * `ecosystem \0 normalised name` of every affected package, joined by \u0001 and interned: most
   * records share their package key with others.
   */
  packages: string[] = [];
  /**
   * recordCeiling of each package key, in `packages` order, joined by \u0001 ("" for none); undefined
   * when no key has one, or when another source holds a record of the same key (the reader keeps the
   * newest copy, so skipping one copy could bring back an older one).
   */
  ceilings: Array<string | undefined> = [];

  /** A new row (its number), growing the columns as needed. */
  add(): number {
    if (this.count === this.source.length) {
      const grow = <T extends Uint16Array | Uint32Array | Float64Array>(column: T): T => {
        const bigger = new (column.constructor as new (length: number) => T)(column.length * 2);
        bigger.set(column);
        return bigger;
      };
      this.source = grow(this.source);
      this.offset = grow(this.offset);
      this.length = grow(this.length);
      this.checksum = grow(this.checksum);
      this.modified = grow(this.modified);
    }
    return this.count++;
  }
}

interface SourceState {
  info: SourceInfo;
  /** recordKey -> row in the EntryTable: one copy per source and id. */
  rows: Map<string, number>;
  origins: Set<string>;
  spill: string;
  out: TextSpill;
  size: number;
  kevOrEpss: number;
}

const FLUSH_AT = 1 << 20;
/**
 * Scratch files of the staging directory (removed before it is installed): per-ecosystem index
 * references between the records pass and the shard writing, and CVSS rows until they are sorted.
 */
const SPILL_DIR = "spill";

/**
 * One CVSS feed's rows (NVD: ~250k): CVE id -> row number; each row's `{"m","v"}` JSON is appended to
 * a spill file as it comes and read back in key order by finish(), so the heap holds ids, not rows.
 */
interface MetricsTable {
  rows: Map<string, number>;
  /** Each row's modified time, compared when another copy of its CVE comes. */
  modified: string[];
  offset: number[];
  length: number[];
  out: TextSpill;
}

interface IndexSpill {
  file: string;
  out: TextSpill;
  /** Records with at least one package in the ecosystem. */
  records: number;
}

/** Calls `each` with every line of a file of `\n`-terminated UTF-8 lines, reading a few MiB at a time. */
function forEachLine(file: string, each: (line: string) => void): void {
  const fd = openSync(file, "r");
  try {
    let buffer = Buffer.allocUnsafe(4 * FLUSH_AT);
    let kept = 0;
    for (;;) {
      if (kept === buffer.length) {
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, kept);
        buffer = bigger;
      }
      const read = readSync(fd, buffer, kept, buffer.length - kept, null);
      const filled = kept + read;
      if (read === 0) {
        if (filled > 0) each(buffer.toString("utf8", 0, filled));
        return;
      }
      const end = buffer.lastIndexOf(0x0a, filled - 1);
      if (end < 0) {
        kept = filled;
        continue;
      }
      for (const line of buffer.toString("utf8", 0, end).split("\n")) each(line);
      buffer.copy(buffer, 0, end + 1, filled);
      kept = filled - end - 1;
    }
  } finally {
    closeSync(fd);
  }
}
const METRICS_SPARSE_EVERY = 16;

/**
 * The identity a record is stored under: the OSV id, or `<source>:<id>` for records Stowaway derives
 * from distro feeds, whose CVE ids would otherwise collide with an OSV record of the same id.
 */
export function recordKey(record: OsvRecord): string {
  const source = (record.database_specific?.stowaway as { source?: unknown } | undefined)?.source;
  return typeof source === "string" && source !== "osv" ? `${source}:${record.id}` : record.id;
}

function packageKeys(record: OsvRecord): string {
  const keys = new Set<string>();
  for (const affected of record.affected ?? []) {
    const pkg = affected.package;
    if (!pkg?.ecosystem || !pkg.name) continue;
    const ecosystem = normalizeEcosystem(pkg.ecosystem);
    keys.add(`${ecosystem}\u0000${normalizePackageName(ecosystem, pkg.name)}`);
  }
  return [...keys].join("\u0001");
}

function ceilingsOf(record: OsvRecord, packages: string): string | undefined {
  if (packages === "") return undefined;
  let any = false;
  const ceilings = packages.split("\u0001").map((key) => {
    const [ecosystem, name] = key.split("\u0000") as [string, string];
    const ceiling = recordCeiling(record, ecosystem, name) ?? "";
    if (ceiling) any = true;
    return ceiling;
  });
  return any ? ceilings.join("\u0001") : undefined;
}

/**
 * Compiles records into a database directory. Records are appended to one JSON-lines file per source
 * as they arrive, so memory holds only a small entry per record; the per-package index is written at
 * the end. Records are stored once per source and id, however many packages they affect: a later
 * copy replaces an earlier one only when its `modified` is newer.
 */
export class DatabaseWriter {
  private readonly sources = new Map<string, SourceState>();
  private readonly sourceOrder: SourceState[] = [];
  private entries = new EntryTable();
  /** One copy of each distinct `packages` string. */
  private readonly packageKeys = new Map<string, string>();
  private readonly kev = new Map<string, { entry: KevEntry; released: string; source: number }>();
  private readonly epss = new Map<string, { score: EpssScore; source: number }>();
  /** Per source index: CVE id -> its CVSS vectors as that source publishes them. */
  private readonly metrics = new Map<number, MetricsTable>();

  constructor(private readonly dir: string) {
    mkdirSync(path.join(dir, "records"), { recursive: true });
  }

  private sourceFor(info: SourceInfo): { state: SourceState; index: number } {
    let state = this.sources.get(info.name);
    if (!state) {
      const index = this.sourceOrder.length;
      const spill = path.join(this.dir, "records", `${String(index).padStart(3, "0")}.jsonl`);
      state = {
        info: { ...info },
        origins: new Set(),
        rows: new Map(),
        spill,
        out: new TextSpill(spill),
        size: 0,
        kevOrEpss: 0,
      };
      this.sources.set(info.name, state);
      this.sourceOrder.push(state);
    } else {
      if (info.fetchedAt > state.info.fetchedAt) state.info.fetchedAt = info.fetchedAt;
      if (info.etag) state.info.etag = info.etag;
      if (info.lastModified) state.info.lastModified = info.lastModified;
      if (info.url) state.info.url = info.url;
    }
    if (info.validators) state.info.validators = { ...state.info.validators, ...info.validators };
    state.origins.add(info.origin);
    return { state, index: this.sourceOrder.indexOf(state) };
  }

  /**
   * Replaces the per-URL validators a source will be listed with: an incremental feed (CVE List V5)
   * keeps only those describing what the database now holds, not every URL it ever fetched.
   */
  replaceValidators(name: string, validators: Record<string, { etag?: string; lastModified?: string }>): void {
    const state = this.sources.get(name);
    if (state) state.info.validators = { ...validators };
  }

  /** Lists a source in the metadata even if it ends up contributing nothing (keeps its validators). */
  declareSource(source: SourceInfo): void {
    this.sourceFor(source);
  }

  addRecord(record: OsvRecord, source: SourceInfo): void {
    // Per source: an advisory published in two OSV feeds (a GHSA in both npm and PyPI) is kept by
    // both, so refreshing one feed can never drop what only the other still carries. Readers return
    // the newest copy once.
    const id = recordKey(record);
    const modified = Date.parse(record.modified) || 0;
    const { state, index } = this.sourceFor(source);
    const entries = this.entries;
    const previous = state.rows.get(id);
    if (previous !== undefined && entries.modified[previous]! >= modified) return;
    const json = JSON.stringify(record);
    const length = state.out.write(json);
    state.out.write("\n");
    const packages = this.intern(packageKeys(record));
    let ceilings = ceilingsOf(record, packages);
    // The same record key in another source: neither copy gets ceilings (see EntryTable.ceilings).
    for (const other of this.sourceOrder) {
      if (other === state) continue;
      const twin = other.rows.get(id);
      if (twin !== undefined) {
        entries.ceilings[twin] = undefined;
        ceilings = undefined;
      }
    }
    // A newer copy takes the older one's row, so the index keeps the order records first arrived in.
    const row = previous ?? entries.add();
    if (previous === undefined) state.rows.set(id, row);
    entries.source[row] = index;
    entries.offset[row] = state.size;
    entries.length[row] = length;
    entries.checksum[row] = recordChecksum(json);
    entries.modified[row] = modified;
    entries.packages[row] = packages;
    entries.ceilings[row] = ceilings;
    state.size += length + 1;
  }

  private intern(keys: string): string {
    const known = this.packageKeys.get(keys);
    if (known !== undefined) return known;
    this.packageKeys.set(keys, keys);
    return keys;
  }

  addKev(entry: KevEntry, released: string, source: SourceInfo): void {
    const { index, state } = this.sourceFor(source);
    const previous = this.kev.get(entry.cveId);
    if (!previous || released >= previous.released) {
      if (!previous) state.kevOrEpss++;
      this.kev.set(entry.cveId, { entry, released, source: index });
    }
  }

  addEpss(score: EpssScore, source: SourceInfo): void {
    const { index, state } = this.sourceFor(source);
    const previous = this.epss.get(score.cveId);
    if (!previous || (score.date ?? "") >= (previous.score.date ?? "")) {
      if (!previous) state.kevOrEpss++;
      this.epss.set(score.cveId, { score, source: index });
    }
  }

  /** One feed's CVSS vectors for one CVE (NVD, CVE List V5); a newer copy of the same CVE replaces the older. */
  addCveMetrics(entry: CveMetrics, source: SourceInfo): void {
    const { index, state } = this.sourceFor(source);
    let table = this.metrics.get(index);
    if (!table) {
      mkdirSync(path.join(this.dir, SPILL_DIR), { recursive: true });
      const file = path.join(this.dir, SPILL_DIR, `metrics-${index}.jsonl`);
      table = {
        rows: new Map(),
        modified: [],
        offset: [],
        length: [],
        out: new TextSpill(file),
      };
      this.metrics.set(index, table);
    }
    let row = table.rows.get(entry.cveId);
    if (row !== undefined && table.modified[row]! > entry.modified) return;
    if (row === undefined) {
      state.kevOrEpss++;
      row = table.modified.length;
      table.rows.set(entry.cveId, row);
    }
    const value = JSON.stringify({ m: entry.modified, v: entry.vectors });
    table.modified[row] = entry.modified;
    table.offset[row] = table.out.size;
    table.length[row] = table.out.write(value);
    table.out.write("\n");
  }

  /** Records added so far (finish() empties the writer as it writes the index). */
  get recordCount(): number {
    return this.entries.count;
  }

  get isEmpty(): boolean {
    return this.entries.count === 0 && this.kev.size === 0 && this.epss.size === 0 && this.metrics.size === 0;
  }

  /**
   * Rewrites a source's records file without superseded copies and with each package's records
   * next to each other (ordered by their first package), updating offsets: a lookup then reads one
   * contiguous range per package instead of one scattered record at a time.
   */
  private compact(state: SourceState, rows: number[]): void {
    const { entries } = this;
    // Most records name one package: the interned string itself, no copy.
    const first = rows.map((row) => {
      const packages = entries.packages[row]!;
      const end = packages.indexOf("\u0001");
      return end < 0 ? packages : packages.slice(0, end);
    });
    const order = rows.map((_, position) => position);
    order.sort((a, b) => {
      const pa = first[a]!;
      const pb = first[b]!;
      return pa < pb ? -1 : pa > pb ? 1 : entries.offset[rows[a]!]! - entries.offset[rows[b]!]!;
    });
    first.length = 0;
    const input = openSync(state.spill, "r");
    const target = `${state.spill}.compact`;
    const output = openSync(target, "w");
    let offset = 0;
    // Records are copied through one reused buffer: a Buffer object per record was ~600k heap
    // objects of garbage the collector left standing at the build's peak.
    let out = Buffer.allocUnsafe(FLUSH_AT);
    let used = 0;
    for (const position of order) {
      const row = rows[position]!;
      const length = entries.length[row]! + 1;
      if (used + length > out.length) {
        writeSync(output, out, 0, used);
        used = 0;
        if (length > out.length) out = Buffer.allocUnsafe(length);
      }
      readSync(input, out, used, length, entries.offset[row]!);
      used += length;
      entries.offset[row] = offset;
      offset += length;
    }
    if (used > 0) writeSync(output, out, 0, used);
    closeSync(input);
    closeSync(output);
    renameSync(target, state.spill);
    state.size = offset;
  }

  /**
   * Writes each record's index references to a spill file per ecosystem, in record order, and
   * returns them with how many records each ecosystem has. Holding every ecosystem's name -> refs map
   * at once (and the garbage of building it) was most of a full-size build's peak.
   */
  private spillIndex(spillDir: string, sourceRecords: number[]): Map<string, IndexSpill> {
    const { entries } = this;
    const spills = new Map<string, IndexSpill>();
    const seen = new Set<string>();
    try {
      for (let row = 0; row < entries.count; row++) {
        sourceRecords[entries.source[row]!]!++;
        const packages = entries.packages[row]!;
        if (packages === "") continue;
        seen.clear();
        const single = !packages.includes("\u0001");
        const keys = single ? [packages] : packages.split("\u0001");
        const ceilingList = entries.ceilings[row];
        const ceilings = single ? [ceilingList] : ceilingList?.split("\u0001");
        // A RecordRef as JSON: [source, offset, length, checksum(, ceiling)].
        const ref = `${entries.source[row]},${entries.offset[row]},${entries.length[row]},${entries.checksum[row]}`;
        for (let position = 0; position < keys.length; position++) {
          const key = keys[position]!;
          const cut = key.indexOf("\u0000");
          const ecosystem = key.slice(0, cut);
          let spill = spills.get(ecosystem);
          if (!spill) {
            const file = path.join(spillDir, `${spills.size}.tsv`);
            spill = { file, out: new TextSpill(file), records: 0 };
            spills.set(ecosystem, spill);
          }
          const ceiling = ceilings?.[position];
          // JSON-quoting keeps tabs and newlines out of the name, as in the shard line it becomes.
          spill.out.write(
            `${JSON.stringify(key.slice(cut + 1))}\t[${ref}${ceiling ? `,${JSON.stringify(ceiling)}` : ""}]\n`,
          );
          if (!seen.has(ecosystem)) {
            seen.add(ecosystem);
            spill.records++;
          }
        }
      }
    } finally {
      for (const spill of spills.values()) spill.out.close();
    }
    return spills;
  }

  /** Writes the index, lookup tables and metadata; the directory is complete when this resolves. */
  finish(builtAt = new Date()): DatabaseMetadata {
    for (const state of this.sourceOrder) {
      state.out.close();
      state.rows.clear();
    }
    const { entries } = this;
    const rowsBySource = this.sourceOrder.map(() => [] as number[]);
    for (let row = 0; row < entries.count; row++) rowsBySource[entries.source[row]!]!.push(row);
    this.sourceOrder.forEach((state, index) => this.compact(state, rowsBySource[index]!));
    rowsBySource.length = 0;
    this.packageKeys.clear();

    const sourceRecords = this.sourceOrder.map((state) => state.kevOrEpss);
    const recordCount = entries.count;
    // The spill lives in the staging directory, so a failed build's cleanup removes it too.
    const spillDir = path.join(this.dir, SPILL_DIR);
    mkdirSync(spillDir, { recursive: true });
    const spills = this.spillIndex(spillDir, sourceRecords);
    this.entries = new EntryTable();

    const ecosystems = [...spills.keys()].sort();
    const written: string[] = [];
    const layout: Layout = { schemaVersion: DB_SCHEMA_VERSION, recordFiles: [], ecosystems: {} };
    ecosystems.forEach((ecosystem, position) => {
      const spill = spills.get(ecosystem)!;
      const dir = String(position).padStart(3, "0");
      // Quoted name -> its refs as JSON, in the order records were added.
      const names = new Map<string, string[]>();
      forEachLine(spill.file, (line) => {
        const tab = line.indexOf("\t");
        const quoted = line.slice(0, tab);
        let refs = names.get(quoted);
        if (!refs) {
          refs = [];
          names.set(quoted, refs);
        }
        refs.push(line.slice(tab + 1));
      });
      unlinkSync(spill.file);
      const prefixLength = prefixLengthFor(names.size);
      // One line per name (shardLine): a lookup finds its line without parsing the rest of the shard.
      const shards = new Map<string, string[]>();
      for (const [quoted, refs] of names) {
        const file = shardFile(dir, prefixLength, JSON.parse(quoted) as string);
        let lines = shards.get(file);
        if (!lines) {
          lines = [];
          shards.set(file, lines);
        }
        lines.push(`${quoted}\t[${refs.join(",")}]\n`);
      }
      mkdirSync(path.join(this.dir, "index", dir), { recursive: true });
      for (const [file, lines] of shards) {
        writeFileSync(path.join(this.dir, file), lines.join(""));
        written.push(file);
      }
      layout.ecosystems[ecosystem] = { dir, prefixLength, names: names.size, records: spill.records };
    });

    if (this.kev.size > 0) {
      layout.kev = writeSortedTable(
        path.join(this.dir, KEV_TABLE),
        KEV_TABLE,
        [...this.kev.values()].map(({ entry }) => [entry.cveId, JSON.stringify(entry)]),
      );
    }
    if (this.epss.size > 0) {
      layout.epss = writeSortedTable(
        path.join(this.dir, EPSS_TABLE),
        EPSS_TABLE,
        [...this.epss.values()].map(({ score }) => [
          score.cveId,
          `${score.score},${score.percentile},${score.date ?? ""}`,
        ]),
      );
    }
    // Counted before each table is cleared (its memory goes as soon as it is written).
    let cveMetrics = 0;
    for (const [index, table] of this.metrics) {
      cveMetrics += table.rows.size;
      table.out.close();
      const name = this.sourceOrder[index]!.info.name;
      const file = `metrics-${String(index).padStart(3, "0")}.tsv`;
      const keys = [...table.rows.keys()].sort(compareKeys);
      // The spilled rows (~50 MB for NVD) are read back whole, once the record index is gone.
      const spilled = readFileSync(table.out.file);
      layout.metrics ??= {};
      layout.metrics[name] = writeSortedRows(
        path.join(this.dir, file),
        file,
        keys.length,
        (position) => {
          const key = keys[position]!;
          const row = table.rows.get(key)!;
          const start = table.offset[row]!;
          return [key, spilled.toString("utf8", start, start + table.length[row]!)];
        },
        // Matching asks for every finding's CVEs at random: small blocks keep each read a few KB.
        METRICS_SPARSE_EVERY,
      );
      unlinkSync(table.out.file);
      table.rows.clear();
      table.modified.length = table.offset.length = table.length.length = 0;
    }
    rmSync(path.join(this.dir, SPILL_DIR), { recursive: true, force: true });
    const sources: DatabaseSource[] = this.sourceOrder.map((state, index) => {
      const { info } = state;
      return {
        name: info.name,
        origin: [...state.origins].sort().join(", "),
        records: sourceRecords[index]!,
        fetchedAt: info.fetchedAt,
        ...(info.url ? { url: info.url } : {}),
        ...(info.etag ? { etag: info.etag } : {}),
        ...(info.lastModified ? { lastModified: info.lastModified } : {}),
        ...(info.validators && Object.keys(info.validators).length > 0 ? { validators: info.validators } : {}),
      };
    });
    layout.recordFiles = this.sourceOrder.map((state) =>
      path.relative(this.dir, state.spill).split(path.sep).join("/"),
    );
    const metadata: DatabaseMetadata = {
      schemaVersion: DB_SCHEMA_VERSION,
      builtAt: builtAt.toISOString(),
      sources,
      ecosystems,
      records: recordCount,
      recordsByEcosystem: Object.fromEntries(
        ecosystems.map((ecosystem) => [ecosystem, layout.ecosystems[ecosystem]!.records]),
      ),
      kevEntries: this.kev.size,
      epssScores: this.epss.size,
      cveMetrics,
    };
    writeFileSync(path.join(this.dir, LAYOUT_FILE), JSON.stringify(layout));
    // Written last: a directory without metadata.json is never mistaken for a database. The manifest
    // covers it too; the generation only goes live after this returns (installGeneration).
    writeFileSync(path.join(this.dir, METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`);
    written.push(LAYOUT_FILE, METADATA_FILE, ...layout.recordFiles);
    if (layout.kev) written.push(KEV_TABLE);
    if (layout.epss) written.push(EPSS_TABLE);
    for (const table of Object.values(layout.metrics ?? {})) written.push(table.file);
    writeIntegrityManifest(this.dir, written);
    return metadata;
  }

  /** Closes spill files after a failure; the caller removes the directory. */
  abort(): void {
    const spills = [
      ...this.sourceOrder.map((state) => state.out),
      ...[...this.metrics.values()].map((table) => table.out),
    ];
    for (const spill of spills) {
      try {
        spill.close();
      } catch {
        // the directory goes anyway
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
