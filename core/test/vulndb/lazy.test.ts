import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDatabase, openDatabase } from "../../src/index.js";
import type { VulnerabilityStore } from "../../src/vulndb/types.js";
import { osvRecord, tempDir, walk } from "./helpers.js";

const PER_ECOSYSTEM = 5000;

describe("lazy, sharded lookups", () => {
  let work: string;
  let dbDir: string;

  beforeAll(async () => {
    work = tempDir();
    for (const ecosystem of ["PyPI", "npm"]) {
      const dir = path.join(work, ecosystem);
      mkdirSync(dir);
      for (let i = 0; i < PER_ECOSYSTEM; i++) {
        const id = ecosystem === "PyPI" ? `PYSEC-2024-${i}` : `GHSA-${i}-x-x`;
        writeFileSync(path.join(dir, `${id}.json`), JSON.stringify(osvRecord(id, ecosystem, `pkg-${ecosystem}-${i}`)));
      }
    }
    dbDir = path.join(work, "db");
    await buildDatabase({ from: [path.join(work, "PyPI"), path.join(work, "npm")], dbDir });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("opening reads no shard or record file", async () => {
    const read: string[] = [];
    const store = await openDatabase(dbDir, { onFileRead: (f) => read.push(f) });
    expect(read).toEqual([]);
    expect(store.metadata().records).toBe(2 * PER_ECOSYSTEM);
    await store.close();
  });

  it("looking up 2,000 npm packages never touches PyPI's shards or records", async () => {
    const read = new Set<string>();
    const store = await openDatabase(dbDir, { onFileRead: (f) => read.add(f) });
    for (let i = 0; i < 2000; i++) {
      const records = await store.advisoriesFor("npm", `pkg-npm-${i}`);
      expect(records.map((r) => r.id)).toEqual([`GHSA-${i}-x-x`]);
    }
    await store.close();
    const generation = readdirSync(dbDir).find((name) => name.startsWith("gen-"))!;
    const layout = (await import(path.join(dbDir, generation, "layout.json"), { with: { type: "json" } })).default as {
      ecosystems: Record<string, { dir: string }>;
      recordFiles: string[];
    };
    const npmDir = `index/${layout.ecosystems.npm!.dir}/`;
    const pypiDir = `index/${layout.ecosystems.PyPI!.dir}/`;
    const shardsRead = [...read].filter((f) => f.startsWith("index/"));
    expect(shardsRead.length).toBeGreaterThan(0);
    expect(shardsRead.every((f) => f.startsWith(npmDir))).toBe(true);
    expect([...read].some((f) => f.startsWith(pypiDir))).toBe(false);
    const pypiShards = walk(path.join(dbDir, generation)).filter((f) => f.startsWith(pypiDir));
    expect(pypiShards.length).toBeGreaterThan(1);
    const recordFilesRead = [...read].filter((f) => f.startsWith("records/"));
    expect(recordFilesRead).toHaveLength(1);
  });

  it("one lookup reads one shard and the record file it points at", async () => {
    const read: string[] = [];
    const store = await openDatabase(dbDir, { onFileRead: (f) => read.push(f) });
    await store.advisoriesFor("PyPI", "pkg-PyPI-42");
    await store.close();
    expect(read.filter((f) => f.startsWith("index/"))).toHaveLength(1);
    expect(read.filter((f) => f.startsWith("records/"))).toHaveLength(1);
  });

  const cacheStats = (store: VulnerabilityStore) =>
    (store as unknown as { recordCacheStats(): { records: number; bytes: number } }).recordCacheStats();

  it("repeated lookups are answered from decoded records, which stay within the cache's byte bound", async () => {
    const reads: string[] = [];
    // Each stored test record is ~200 bytes of JSON: room for about 50 of them.
    const bound = 10_000;
    const store = await openDatabase(dbDir, { onFileRead: (f) => reads.push(f), recordCacheBytes: bound });
    const uncached = await openDatabase(dbDir, { recordCacheBytes: 0 });
    const peaks: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2000; i++) {
        const records = await store.advisoriesFor("npm", `pkg-npm-${i}`);
        expect(records).toEqual(await uncached.advisoriesFor("npm", `pkg-npm-${i}`));
        const { bytes, records: kept } = cacheStats(store);
        expect(bytes).toBeLessThanOrEqual(bound);
        peaks.push(kept);
      }
    }
    // Bounded: no more records kept after 6,000 lookups than the bytes allow (~50).
    expect(Math.max(...peaks)).toBeLessThan(60);
    expect(peaks.at(-1)).toBeGreaterThan(30);
    // The packages looked up last are still decoded: asking again reads no record file.
    reads.length = 0;
    for (let i = 1990; i < 2000; i++) await store.advisoriesFor("npm", `pkg-npm-${i}`);
    expect(reads.filter((f) => f.startsWith("records/"))).toEqual([]);
    await store.close();
    await uncached.close();
    expect(cacheStats(store)).toEqual({ records: 0, bytes: 0 });
  });

  it("a decoded record is never returned when its ceiling rules it out", async () => {
    const store = await openDatabase(dbDir);
    expect((await store.advisoriesFor("PyPI", "pkg-PyPI-7")).map((r) => r.id)).toEqual(["PYSEC-2024-7"]);
    expect(cacheStats(store).records).toBe(1);
    // The record's ceiling is its fix, 2.0.0: an installed version above it skips the record, cached or not.
    const above = (ceiling: string) => ceiling === "2.0.0";
    expect(await store.advisoriesFor("PyPI", "pkg-PyPI-7", { above })).toEqual([]);
    expect((await store.advisoriesFor("PyPI", "pkg-PyPI-7", { above: () => false })).map((r) => r.id)).toEqual([
      "PYSEC-2024-7",
    ]);
    await store.close();
  });
});
