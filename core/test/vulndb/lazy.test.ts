import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDatabase, openDatabase } from "../../src/index.js";
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
});
