import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { OsvRecord } from "../osv.js";
import type { AdvisoryQuery, CveMetrics, DatabaseMetadata, EpssScore, KevEntry, VulnerabilityStore } from "../types.js";
import { VulnDbError } from "../errors.js";
import { normalizeEcosystem, normalizePackageName } from "../normalize.js";
import {
  DB_SCHEMA_VERSION,
  EPSS_TABLE,
  KEV_TABLE,
  LAYOUT_FILE,
  METADATA_FILE,
  findInShardBytes,
  shardFile,
  type Layout,
  type RecordRef,
  type Shard,
} from "./format.js";
import {
  damagedDatabase,
  readIntegrityManifest,
  readVerified,
  recordChecksum,
  verifyContent,
  verifyFiles,
  type IntegrityManifest,
} from "./integrity.js";
import { resolveGeneration } from "./location.js";
import { recordKey } from "./writer.js";
import { SortedTableReader } from "./table.js";

export interface OpenDatabaseOptions {
  /** Called with the DB-relative path of every file read after opening (tests assert on what is touched). */
  onFileRead?: (file: string) => void;
  /** Parsed shards kept in memory; bounds memory for scans of images with many packages. */
  shardCacheSize?: number;
  /**
   * Decoded records kept for repeated lookups (a service or rescan matching the same packages again),
   * bounded by the bytes of their stored JSON (their decoded form takes a few times that). 0 disables.
   */
  recordCacheBytes?: number;
}

/** Default bound of the decoded-record cache: a 2,000-package match decodes ~6 MB of records. */
export const RECORD_CACHE_BYTES = 16 * 1024 * 1024;

/** Records of one package closer than this in the records file are read together. */
const MAX_READ_GAP = 16 * 1024;
/** But never more than this in one read. */
const MAX_READ_SPAN = 4 * 1024 * 1024;

/** Reads and checks metadata.json of a generation directory. */
export async function readMetadataFile(generation: string): Promise<DatabaseMetadata> {
  const file = path.join(generation, METADATA_FILE);
  let metadata: DatabaseMetadata;
  try {
    metadata = JSON.parse(await readFile(file, "utf8")) as DatabaseMetadata;
  } catch (error) {
    throw new VulnDbError(`${file}: unreadable database metadata (${(error as Error).message}); rebuild the database`, {
      cause: error,
    });
  }
  if (typeof metadata.schemaVersion !== "number" || !Number.isInteger(metadata.schemaVersion)) {
    throw new VulnDbError(`${file}: field schemaVersion is missing or not an integer; rebuild the database`);
  }
  if (metadata.schemaVersion > DB_SCHEMA_VERSION) {
    throw new VulnDbError(
      `${file}: database schemaVersion ${metadata.schemaVersion} is newer than this stowaway understands (${DB_SCHEMA_VERSION}); upgrade stowaway or rebuild the database with it`,
    );
  }
  return metadata;
}

export function missingDatabase(dbDir: string): VulnDbError {
  return new VulnDbError(
    `no vulnerability database at ${dbDir}; run \`stowaway db update\` or \`stowaway db build --from DIR\` (or pass --db)`,
  );
}

class ShardedStore implements VulnerabilityStore {
  /** Schema 1: parsed shards; schema 2: shard bytes, searched for one line per lookup. */
  private readonly shards = new Map<string, Shard | Buffer>();
  private readonly fds = new Map<number, number>();
  /** Decoded records by reference (file, offset, length, checksum), least recently used first. */
  private readonly records = new Map<string, { record: OsvRecord; bytes: number }>();
  private recordBytes = 0;
  private kevTable: SortedTableReader | undefined;
  private epssTable: SortedTableReader | undefined;
  /** Schema of the files: which checksum records carry, how shards and tables are checked. */
  private readonly version: number;
  /**
   * Schema 2 tables carry a CRC-32 per block, checked as each block is read; older ones are read in
   * blocks too, so each is verified whole once, before its first lookup.
   */
  private readonly checkBlocks: boolean;
  private readonly tablesVerified = new Map<string, Promise<void>>();
  private readonly metricTables: Array<{ file: string; reader: SortedTableReader }> = [];
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly meta: DatabaseMetadata,
    private readonly layout: Layout,
    private readonly onRead: (file: string) => void,
    private readonly cacheSize: number,
    private readonly integrity: IntegrityManifest | undefined,
    private readonly recordCacheBytes: number,
  ) {
    this.version = typeof layout.schemaVersion === "number" ? layout.schemaVersion : 1;
    this.checkBlocks = integrity !== undefined && this.version >= 2;
    const check = this.checkBlocks;
    if (layout.kev) this.kevTable = new SortedTableReader(path.join(dir, KEV_TABLE), layout.kev, onRead, check);
    if (layout.epss) this.epssTable = new SortedTableReader(path.join(dir, EPSS_TABLE), layout.epss, onRead, check);
    for (const table of Object.values(layout.metrics ?? {})) {
      this.metricTables.push({
        file: table.file,
        reader: new SortedTableReader(path.join(dir, table.file), table, onRead, check),
      });
    }
  }

  metadata(): DatabaseMetadata {
    return this.meta;
  }

  private shard(file: string): Shard | Buffer {
    const cached = this.shards.get(file);
    if (cached) {
      // Re-insert to keep Map order as least-recently-used first.
      this.shards.delete(file);
      this.shards.set(file, cached);
      return cached;
    }
    let shard: Shard | Buffer;
    let content: Buffer | undefined;
    try {
      // Synchronous: one small file per lookup, where a thread-pool round trip costs more than the read.
      content = readFileSync(path.join(this.dir, file));
    } catch (error) {
      // No shard means no package of this ecosystem hashes here, unless the manifest says one was written.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || Object.hasOwn(this.integrity?.files ?? {}, file))
        throw damagedDatabase(path.join(this.dir, file), "index shard unreadable", error);
    }
    if (content === undefined) {
      shard = this.version < 2 ? {} : Buffer.alloc(0);
    } else if (this.version >= 2) {
      verifyContent(this.dir, this.integrity, file, content);
      shard = content;
    } else {
      verifyContent(this.dir, this.integrity, file, content);
      try {
        shard = JSON.parse(content.toString("utf8")) as Shard;
      } catch (error) {
        throw damagedDatabase(path.join(this.dir, file), "index shard does not parse", error);
      }
    }
    this.onRead(file);
    this.shards.set(file, shard);
    if (this.shards.size > this.cacheSize) this.shards.delete(this.shards.keys().next().value!);
    return shard;
  }

  private fd(fileNumber: number): number {
    let fd = this.fds.get(fileNumber);
    if (fd === undefined) {
      const relative = this.layout.recordFiles[fileNumber];
      if (relative === undefined) {
        throw new VulnDbError(
          `${this.dir}: index names record file #${fileNumber}, which does not exist; rebuild the database`,
        );
      }
      try {
        fd = openSync(path.join(this.dir, relative), "r");
      } catch (error) {
        throw damagedDatabase(path.join(this.dir, relative), "records file unreadable", error);
      }
      this.fds.set(fileNumber, fd);
    }
    return fd;
  }

  /**
   * Records the index lists for the package, less those whose ceiling `options.above` accepts. The
   * ceiling is checked first, on the index alone; only then are the remaining references looked up in
   * the decoded-record cache, so the cache never changes what is returned. Records are shared with
   * the cache: callers must not modify them.
   */
  async advisoriesFor(ecosystem: string, packageName: string, options?: AdvisoryQuery): Promise<OsvRecord[]> {
    if (this.closed) throw new VulnDbError(`${this.dir}: the database was closed`);
    const key = normalizeEcosystem(ecosystem);
    const info = this.layout.ecosystems[key];
    if (!info) return [];
    const name = normalizePackageName(key, packageName);
    const file = shardFile(info.dir, info.prefixLength, name, this.version);
    const shard = this.shard(file);
    let refs: RecordRef[] | undefined;
    if (Buffer.isBuffer(shard)) {
      try {
        refs = findInShardBytes(shard, name);
      } catch (error) {
        throw damagedDatabase(path.join(this.dir, file), "index shard line does not parse", error);
      }
    } else {
      // Own properties only: a package called "constructor" must not find Object.prototype.constructor.
      refs = Object.hasOwn(shard, name) ? shard[name] : undefined;
    }
    if (!Array.isArray(refs)) return [];
    const above = options?.above;
    // One pass and few intermediate arrays: a 2,000-package match makes ~10,000 of these lookups, and
    // on Node 20 the garbage collector was the largest single cost. A copy even without a ceiling, as
    // schema 1 refs belong to the shard cache and are not to be reordered.
    const sorted: RecordRef[] = [];
    for (const ref of refs) if (!above || typeof ref[4] !== "string" || !above(ref[4])) sorted.push(ref);
    if (sorted.length === 0) return [];
    // In file order, as they are read, so the newest-copy choice below sees them in one order.
    sorted.sort(byPlace);
    const caching = this.recordCacheBytes > 0;
    const found = new Array<OsvRecord>(sorted.length);
    const missing: RecordRef[] = [];
    const missingAt: number[] = [];
    const missingKeys: string[] = [];
    for (let index = 0; index < sorted.length; index++) {
      const ref = sorted[index]!;
      if (caching) {
        const key = refKey(ref);
        const cached = this.cachedRecord(key);
        if (cached !== undefined) {
          found[index] = cached;
          continue;
        }
        missingKeys.push(key);
      }
      missing.push(ref);
      missingAt.push(index);
    }
    if (missing.length > 0) {
      const records = this.readRecords(missing);
      for (let k = 0; k < missing.length; k++) {
        const record = records[k]!;
        // The stored length, which the read checked the bytes against.
        if (caching) this.keepRecord(missingKeys[k]!, record, missing[k]![2]);
        found[missingAt[k]!] = record;
      }
    }
    return newestCopies(found);
  }

  private cachedRecord(key: string): OsvRecord | undefined {
    const entry = this.records.get(key);
    if (!entry) return undefined;
    this.records.delete(key);
    this.records.set(key, entry);
    return entry.record;
  }

  private keepRecord(key: string, record: OsvRecord, bytes: number): void {
    // A reference listed twice is kept (and counted) once.
    if (bytes > this.recordCacheBytes || this.records.has(key)) return;
    this.records.set(key, { record, bytes });
    this.recordBytes += bytes;
    while (this.recordBytes > this.recordCacheBytes) {
      const [oldest, entry] = this.records.entries().next().value!;
      this.records.delete(oldest);
      this.recordBytes -= entry.bytes;
    }
  }

  /** Decoded records kept and the bytes of JSON they were decoded from (tests check the bound). */
  recordCacheStats(): { records: number; bytes: number } {
    return { records: this.records.size, bytes: this.recordBytes };
  }

  /**
   * Reads, checks and decodes the records `sorted` (in file order) point at. The writer stores a package's
   * records next to each other, so refs are read in file order and neighbours come in one read (a
   * thread-pool round trip or a syscall per record would dominate a scan of thousands of packages).
   * Each record is decoded from the read buffer directly and the place named in errors is built only
   * when one is thrown.
   */
  private readRecords(sorted: RecordRef[]): OsvRecord[] {
    const records: OsvRecord[] = [];
    let i = 0;
    while (i < sorted.length) {
      const [fileNumber, first] = sorted[i]!;
      let end = first + sorted[i]![2];
      let j = i + 1;
      while (j < sorted.length) {
        const [nextFile, offset, length] = sorted[j]!;
        if (nextFile !== fileNumber || offset - end > MAX_READ_GAP || offset + length - first > MAX_READ_SPAN) break;
        end = Math.max(end, offset + length);
        j++;
      }
      const fd = this.fd(fileNumber);
      const relative = this.layout.recordFiles[fileNumber]!;
      const buffer = Buffer.allocUnsafe(end - first);
      let bytesRead: number;
      try {
        bytesRead = readSync(fd, buffer, 0, buffer.length, first);
      } catch (error) {
        throw damagedDatabase(path.join(this.dir, relative), `record at byte ${first}: unreadable`, error);
      }
      this.onRead(relative);
      for (let k = i; k < j; k++) {
        const [, offset, length, checksum] = sorted[k]!;
        const start = offset - first;
        if (start + length > bytesRead) throw damagedDatabase(this.recordPlace(relative, offset), "short read");
        if (
          this.integrity &&
          (typeof checksum !== "number" ||
            recordChecksum(buffer.subarray(start, start + length), this.version) !== checksum)
        )
          throw damagedDatabase(this.recordPlace(relative, offset), "checksum mismatch");
        let record: unknown;
        try {
          record = JSON.parse(buffer.toString("utf8", start, start + length));
        } catch (error) {
          // Checksums passed, so the writer stored bytes that do not parse: damage all the same.
          throw damagedDatabase(this.recordPlace(relative, offset), "record does not parse", error);
        }
        if (typeof record !== "object" || record === null)
          throw damagedDatabase(this.recordPlace(relative, offset), "record does not parse");
        records.push(record as OsvRecord);
      }
      i = j;
    }
    return records;
  }

  private recordPlace(relative: string, offset: number): string {
    return `${path.join(this.dir, relative)}: record at byte ${offset}`;
  }

  private verifyTable(file: string): Promise<void> {
    let verified = this.tablesVerified.get(file);
    if (!verified) {
      verified = verifyFiles(this.dir, this.integrity, [file]);
      this.tablesVerified.set(file, verified);
    }
    return verified;
  }

  async kev(cveId: string): Promise<KevEntry | undefined> {
    if (this.kevTable && !this.checkBlocks) await this.verifyTable(KEV_TABLE);
    const value = await this.kevTable?.get(cveId.trim().toUpperCase());
    return value === undefined ? undefined : (JSON.parse(value) as KevEntry);
  }

  async epss(cveId: string): Promise<EpssScore | undefined> {
    const id = cveId.trim().toUpperCase();
    if (this.epssTable && !this.checkBlocks) await this.verifyTable(EPSS_TABLE);
    const value = await this.epssTable?.get(id);
    if (value === undefined) return undefined;
    const [score, percentile, date] = value.split(",");
    return { cveId: id, score: Number(score), percentile: Number(percentile), ...(date ? { date } : {}) };
  }

  async cveMetrics(cveId: string): Promise<CveMetrics[]> {
    const id = cveId.trim().toUpperCase();
    const out: CveMetrics[] = [];
    for (const { file, reader } of this.metricTables) {
      // Like KEV and EPSS, a CVSS table is read in blocks: each checked as read, or (schema 1) the
      // whole table verified once, before its first lookup.
      if (!this.checkBlocks) await this.verifyTable(file);
      const value = await reader.get(id);
      if (value === undefined) continue;
      try {
        const { m, v } = JSON.parse(value) as { m: string; v: CveMetrics["vectors"] };
        out.push({ cveId: id, modified: m, vectors: v });
      } catch (error) {
        throw new VulnDbError(`${this.dir}: damaged CVSS table row for ${id}; rebuild the database`, { cause: error });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const { reader } of this.metricTables) await reader.close();
    this.shards.clear();
    this.records.clear();
    this.recordBytes = 0;
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    await this.kevTable?.close();
    await this.epssTable?.close();
  }
}

/**
 * Opens a compiled database for lookups. Only metadata.json and layout.json are read here; each
 * lookup reads one index shard (cached) and the records it points at, so memory and I/O follow the
 * packages scanned, not the size of the database.
 */
export async function openDatabase(dbDir: string, options: OpenDatabaseOptions = {}): Promise<VulnerabilityStore> {
  const generation = resolveGeneration(dbDir);
  if (!generation) throw missingDatabase(dbDir);
  // Verified before either is trusted: a flipped bit in the layout would point lookups elsewhere.
  const integrity = readIntegrityManifest(generation);
  await readVerified(generation, integrity, METADATA_FILE);
  const metadata = await readMetadataFile(generation);
  let layout: Layout;
  try {
    layout = JSON.parse((await readVerified(generation, integrity, LAYOUT_FILE)).toString("utf8")) as Layout;
  } catch (error) {
    if (error instanceof VulnDbError) throw error;
    throw damagedDatabase(path.join(generation, LAYOUT_FILE), "unreadable database layout", error);
  }
  return new ShardedStore(
    generation,
    metadata,
    layout,
    options.onFileRead ?? (() => undefined),
    options.shardCacheSize ?? 256,
    integrity,
    options.recordCacheBytes ?? RECORD_CACHE_BYTES,
  );
}

function byPlace(a: RecordRef, b: RecordRef): number {
  return a[0] - b[0] || a[1] - b[1];
}

function refKey(ref: RecordRef): string {
  return `${ref[0]}:${ref[1]}:${ref[2]}:${ref[3] ?? ""}`;
}

/** One record per record key (the newest copy when feeds share an advisory), in the order first met. */
function newestCopies(found: OsvRecord[]): OsvRecord[] {
  const records = new Map<string, OsvRecord>();
  for (const record of found) {
    const key = recordKey(record);
    const previous = records.get(key);
    if (!previous || Date.parse(record.modified) > Date.parse(previous.modified)) records.set(key, record);
  }
  return [...records.values()];
}
