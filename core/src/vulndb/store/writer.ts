import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
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
  shardLine,
  type Layout,
  type RecordRef,
} from "./format.js";
import { recordCeiling } from "./ceiling.js";
import { recordChecksum, writeIntegrityManifest } from "./integrity.js";
import { writeSortedTable } from "./table.js";

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

interface Entry {
  source: number;
  offset: number;
  length: number;
  /** Checksum (recordChecksum) of the record's bytes (without the newline). */
  checksum: number;
  modified: number;
  /**
   * `ecosystem \0 normalised name` of every affected package, joined by \u0001 and interned: a
   * full-size build holds ~600k entries, and most records share their package key with others.
   */
  packages: string;
  /**
   * recordCeiling of each package key, in `packages` order, joined by \u0001 ("" for none); undefined
   * when no key has one, or when another source holds a record of the same key (the reader keeps the
   * newest copy, so skipping one copy could bring back an older one).
   */
  ceilings: string | undefined;
}

interface SourceState {
  info: SourceInfo;
  origins: Set<string>;
  spill: string;
  fd: number;
  size: number;
  /** Lines not yet written, as text: a Buffer per record was external memory freed only by a full GC. */
  buffer: string[];
  buffered: number;
  kevOrEpss: number;
}

const FLUSH_AT = 1 << 20;
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
  private readonly entries = new Map<string, Entry>();
  /** One copy of each distinct `packages` string. */
  private readonly packageKeys = new Map<string, string>();
  private readonly kev = new Map<string, { entry: KevEntry; released: string; source: number }>();
  private readonly epss = new Map<string, { score: EpssScore; source: number }>();
  /** Per source index: CVE id -> its CVSS vectors as that source publishes them. */
  private readonly metrics = new Map<number, Map<string, string>>();

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
        spill,
        fd: openSync(spill, "w"),
        size: 0,
        buffer: [],
        buffered: 0,
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

  private flush(state: SourceState): void {
    if (state.buffered === 0) return;
    writeSync(state.fd, state.buffer.join(""));
    state.buffer = [];
    state.buffered = 0;
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
    const key = `${source.name}\u0000${recordKey(record)}`;
    const modified = Date.parse(record.modified) || 0;
    const previous = this.entries.get(key);
    if (previous && previous.modified >= modified) {
      this.sourceFor(source);
      return;
    }
    const { state, index } = this.sourceFor(source);
    const json = JSON.stringify(record);
    const length = Buffer.byteLength(json);
    state.buffer.push(json, "\n");
    state.buffered += length + 1;
    const packages = this.intern(packageKeys(record));
    let ceilings = ceilingsOf(record, packages);
    // The same record key in another source: neither copy gets ceilings (see Entry.ceilings).
    for (const other of this.sourceOrder) {
      if (other === state) continue;
      const twin = this.entries.get(`${other.info.name}\u0000${recordKey(record)}`);
      if (twin) {
        twin.ceilings = undefined;
        ceilings = undefined;
      }
    }
    this.entries.set(key, {
      source: index,
      offset: state.size,
      length,
      checksum: recordChecksum(json),
      modified,
      packages,
      ceilings,
    });
    state.size += length + 1;
    if (state.buffered >= FLUSH_AT) this.flush(state);
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
      table = new Map();
      this.metrics.set(index, table);
    }
    const previous = table.get(entry.cveId);
    // Only the row is kept (~250k of them for NVD); its `m` is the modified time compared here.
    if (previous !== undefined && (JSON.parse(previous) as { m: string }).m > entry.modified) return;
    if (previous === undefined) state.kevOrEpss++;
    table.set(entry.cveId, JSON.stringify({ m: entry.modified, v: entry.vectors }));
  }

  /** Records added so far (finish() empties the writer as it writes the index). */
  get recordCount(): number {
    return this.entries.size;
  }

  get isEmpty(): boolean {
    return this.entries.size === 0 && this.kev.size === 0 && this.epss.size === 0 && this.metrics.size === 0;
  }

  /**
   * Rewrites a source's records file without superseded copies and with each package's records
   * next to each other (ordered by their first package), updating offsets: a lookup then reads one
   * contiguous range per package instead of one scattered record at a time.
   */
  private compact(state: SourceState, live: Entry[]): void {
    // Most records name one package: the interned string itself, no copy.
    const firstKey = (packages: string) => {
      const end = packages.indexOf("\u0001");
      return end < 0 ? packages : packages.slice(0, end);
    };
    const first = new Map<Entry, string>(live.map((entry) => [entry, firstKey(entry.packages)]));
    live.sort((a, b) => {
      const pa = first.get(a)!;
      const pb = first.get(b)!;
      return pa < pb ? -1 : pa > pb ? 1 : a.offset - b.offset;
    });
    first.clear();
    const input = openSync(state.spill, "r");
    const target = `${state.spill}.compact`;
    const output = openSync(target, "w");
    let offset = 0;
    // Records are copied through one reused buffer: a Buffer object per record was ~600k heap
    // objects of garbage the collector left standing at the build's peak.
    let out = Buffer.allocUnsafe(FLUSH_AT);
    let used = 0;
    for (const entry of live) {
      const length = entry.length + 1;
      if (used + length > out.length) {
        writeSync(output, out, 0, used);
        used = 0;
        if (length > out.length) out = Buffer.allocUnsafe(length);
      }
      readSync(input, out, used, length, entry.offset);
      used += length;
      entry.offset = offset;
      offset += length;
    }
    if (used > 0) writeSync(output, out, 0, used);
    closeSync(input);
    closeSync(output);
    renameSync(target, state.spill);
    state.size = offset;
  }

  /** Writes the index, lookup tables and metadata; the directory is complete when this resolves. */
  finish(builtAt = new Date()): DatabaseMetadata {
    for (const state of this.sourceOrder) {
      this.flush(state);
      closeSync(state.fd);
    }
    const liveBySource = this.sourceOrder.map(() => [] as Entry[]);
    for (const entry of this.entries.values()) liveBySource[entry.source]!.push(entry);
    this.sourceOrder.forEach((state, index) => this.compact(state, liveBySource[index]!));
    liveBySource.length = 0;
    this.packageKeys.clear();

    // Entries become references here and are dropped as they go, so the build's peak holds one form
    // of the 600k records' index, not both.
    const sourceRecords = this.sourceOrder.map((state) => state.kevOrEpss);
    const recordCount = this.entries.size;
    const byEcosystem = new Map<string, Map<string, RecordRef[]>>();
    const recordsByEcosystem = new Map<string, number>();
    const seen = new Set<string>();
    for (const [entryKey, entry] of this.entries) {
      this.entries.delete(entryKey);
      sourceRecords[entry.source]!++;
      seen.clear();
      if (entry.packages === "") continue;
      const single = !entry.packages.includes("\u0001");
      const keys = single ? [entry.packages] : entry.packages.split("\u0001");
      const ceilings = single ? [entry.ceilings] : entry.ceilings?.split("\u0001");
      for (let position = 0; position < keys.length; position++) {
        const key = keys[position]!;
        const cut = key.indexOf("\u0000");
        const ecosystem = key.slice(0, cut);
        const name = key.slice(cut + 1);
        let names = byEcosystem.get(ecosystem);
        if (!names) {
          names = new Map();
          byEcosystem.set(ecosystem, names);
        }
        let refs = names.get(name);
        if (!refs) {
          refs = [];
          names.set(name, refs);
        }
        const ceiling = ceilings?.[position];
        refs.push(
          ceiling
            ? [entry.source, entry.offset, entry.length, entry.checksum, ceiling]
            : [entry.source, entry.offset, entry.length, entry.checksum],
        );
        if (!seen.has(ecosystem)) {
          seen.add(ecosystem);
          recordsByEcosystem.set(ecosystem, (recordsByEcosystem.get(ecosystem) ?? 0) + 1);
        }
      }
    }

    const ecosystems = [...byEcosystem.keys()].sort();
    const written: string[] = [];
    const layout: Layout = { schemaVersion: DB_SCHEMA_VERSION, recordFiles: [], ecosystems: {} };
    ecosystems.forEach((ecosystem, position) => {
      const names = byEcosystem.get(ecosystem)!;
      const dir = String(position).padStart(3, "0");
      const prefixLength = prefixLengthFor(names.size);
      // One line per name: a lookup finds its line without parsing the rest of the shard.
      const shards = new Map<string, string[]>();
      for (const [name, refs] of names) {
        const file = shardFile(dir, prefixLength, name);
        let lines = shards.get(file);
        if (!lines) {
          lines = [];
          shards.set(file, lines);
        }
        lines.push(shardLine(name, refs));
      }
      mkdirSync(path.join(this.dir, "index", dir), { recursive: true });
      for (const [file, lines] of shards) {
        writeFileSync(path.join(this.dir, file), lines.join(""));
        written.push(file);
      }
      byEcosystem.delete(ecosystem);
      layout.ecosystems[ecosystem] = {
        dir,
        prefixLength,
        names: names.size,
        records: recordsByEcosystem.get(ecosystem)!,
      };
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
      cveMetrics += table.size;
      const name = this.sourceOrder[index]!.info.name;
      const file = `metrics-${String(index).padStart(3, "0")}.tsv`;
      layout.metrics ??= {};
      layout.metrics[name] = writeSortedTable(
        path.join(this.dir, file),
        file,
        table,
        // Matching asks for every finding's CVEs at random: small blocks keep each read a few KB.
        METRICS_SPARSE_EVERY,
      );
      table.clear();
    }
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
        ecosystems.map((ecosystem) => [ecosystem, recordsByEcosystem.get(ecosystem)!]),
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
    for (const state of this.sourceOrder) {
      try {
        closeSync(state.fd);
      } catch {
        // already closed by finish()
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
