import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Crc32c } from "../../src/vulndb/crc32c.js";
import { VulnDbError } from "../../src/vulndb/errors.js";
import type { OsvRecord } from "../../src/vulndb/osv.js";
import { openDatabase } from "../../src/vulndb/store/reader.js";
import { verifyGeneration } from "../../src/vulndb/store/verify.js";
import { DatabaseWriter, type SourceInfo } from "../../src/vulndb/store/writer.js";
import { osvRecord, tempDir } from "./helpers.js";

/**
 * Schema 1 databases (CRC-32C per record, JSON-object shards, tables verified whole) stay readable
 * after schema 2 (CRC-32, line shards, a CRC-32 per table block). The schema 1 generation here is
 * written by hand from the format's description, not by the current writer.
 */

const sha256 = (content: Buffer | string): string => createHash("sha256").update(content).digest("hex");

let work = "";
beforeAll(() => {
  work = tempDir("stowaway-schema-");
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function writeSchema1(dbDir: string): string {
  const generation = path.join(dbDir, "gen-20260101T000000Z-00000001");
  mkdirSync(path.join(generation, "records"), { recursive: true });
  mkdirSync(path.join(generation, "index", "000"), { recursive: true });
  const records = [
    osvRecord("GHSA-aaaa-bbbb-cccc", "npm", "lodash", "4.17.21"),
    osvRecord("GHSA-dddd-eeee-ffff", "npm", "lodash", "4.17.12"),
  ];
  const lines = records.map((record) => Buffer.from(JSON.stringify(record)));
  writeFileSync(
    path.join(generation, "records/000.jsonl"),
    Buffer.concat(lines.flatMap((l) => [l, Buffer.from("\n")])),
  );
  let offset = 0;
  const refs = lines.map((line) => {
    const ref = [0, offset, line.length, new Crc32c().update(line).digest()];
    offset += line.length + 1;
    return ref;
  });
  writeFileSync(path.join(generation, "index/000/all.json"), JSON.stringify({ lodash: refs }));
  const kev = "CVE-2024-0001\t" + JSON.stringify({ cveId: "CVE-2024-0001", dateAdded: "2024-01-01" }) + "\n";
  writeFileSync(path.join(generation, "kev.tsv"), kev);
  const layout = {
    schemaVersion: 1,
    recordFiles: ["records/000.jsonl"],
    ecosystems: { npm: { dir: "000", prefixLength: 0, names: 1, records: 2 } },
    kev: { file: "kev.tsv", rows: 1, sparse: [["CVE-2024-0001", 0]] },
  };
  writeFileSync(path.join(generation, "layout.json"), JSON.stringify(layout));
  const metadata = {
    schemaVersion: 1,
    builtAt: "2026-01-01T00:00:00.000Z",
    sources: [{ name: "osv", origin: "test", records: 2, fetchedAt: "2026-01-01T00:00:00Z" }],
    ecosystems: ["npm"],
    records: 2,
    kevEntries: 1,
  };
  writeFileSync(path.join(generation, "metadata.json"), JSON.stringify(metadata));
  const files: Record<string, string> = {};
  for (const file of ["index/000/all.json", "kev.tsv", "layout.json", "metadata.json", "records/000.jsonl"])
    files[file] = sha256(readFileSync(path.join(generation, file)));
  writeFileSync(path.join(generation, "integrity.json"), JSON.stringify({ format: 1, algorithm: "sha256", files }));
  writeFileSync(path.join(dbDir, "CURRENT"), `${path.basename(generation)}\n`);
  return generation;
}

async function expectRefused(run: () => Promise<unknown>): Promise<void> {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VulnDbError);
  expect((error as Error).message).toMatch(/damaged: run `stowaway db update`/);
  expect((error as Error).message).not.toContain("\n");
}

describe("schema 1 databases (built before schema 2) are still read and checked", () => {
  it("CRC-32C is the Castagnoli checksum (RFC 3720 check value)", () => {
    expect(new Crc32c().update(Buffer.from("123456789")).digest()).toBe(0xe3069283);
  });

  it("answers lookups, KEV and db status --verify", async () => {
    const dbDir = path.join(work, "v1-intact");
    writeSchema1(dbDir);
    const store = await openDatabase(dbDir);
    const found = await store.advisoriesFor("npm", "lodash");
    expect(found.map((r) => r.id).sort()).toEqual(["GHSA-aaaa-bbbb-cccc", "GHSA-dddd-eeee-ffff"]);
    expect((await store.kev("CVE-2024-0001"))?.dateAdded).toBe("2024-01-01");
    await store.close();
    const generation = writeSchema1(path.join(work, "v1-verify"));
    expect(await verifyGeneration(generation)).toEqual({ files: 5, records: 2 });
  });

  it("a flipped record byte (CRC-32C) and a flipped table byte (whole-file SHA-256) are refused", async () => {
    const dbDir = path.join(work, "v1-damaged");
    const generation = writeSchema1(dbDir);
    const recordsFile = path.join(generation, "records/000.jsonl");
    const original = readFileSync(recordsFile);
    const damaged = Buffer.from(original);
    damaged[20] = damaged[20]! ^ 0x04;
    writeFileSync(recordsFile, damaged);
    let store = await openDatabase(dbDir);
    await expectRefused(() => store.advisoriesFor("npm", "lodash"));
    await store.close();
    writeFileSync(recordsFile, original);

    const kevFile = path.join(generation, "kev.tsv");
    const kev = readFileSync(kevFile);
    kev[kev.length - 5] = kev[kev.length - 5]! ^ 0x01;
    writeFileSync(kevFile, kev);
    store = await openDatabase(dbDir);
    await expectRefused(() => store.kev("CVE-2024-0001"));
    await store.close();
  });
});

describe("schema 2 tables are checked per block as read", () => {
  const source: SourceInfo = { name: "cisa-kev", origin: "test", fetchedAt: "2026-01-01T00:00:00Z" };
  const cve = (n: number) => `CVE-2024-${String(n).padStart(5, "0")}`;
  let dir = "";
  beforeAll(() => {
    dir = path.join(work, "v2-tables");
    const writer = new DatabaseWriter(dir);
    writer.addRecord(osvRecord("GHSA-aaaa-bbbb-cccc", "npm", "lodash", "4.17.21") as OsvRecord, {
      name: "osv",
      origin: "test",
      fetchedAt: "2026-01-01T00:00:00Z",
    });
    // 1,000 rows: 8 blocks of 128.
    for (let n = 0; n < 1000; n++) writer.addKev({ cveId: cve(n), dateAdded: "2024-01-01" }, "2026-01-01", source);
    writer.finish(new Date("2026-01-02T00:00:00Z"));
  });

  it("the layout carries a CRC-32 per block and a lookup reads only its block", async () => {
    const layout = JSON.parse(readFileSync(path.join(dir, "layout.json"), "utf8")) as {
      schemaVersion: number;
      kev: { sparse: Array<[string, number, number]> };
    };
    expect(layout.schemaVersion).toBe(2);
    expect(layout.kev.sparse).toHaveLength(8);
    expect(layout.kev.sparse.every((entry) => entry.length === 3 && Number.isInteger(entry[2]))).toBe(true);
    expect(readFileSync(path.join(dir, "index/000/all.tsv"), "utf8")).toMatch(
      /^"lodash"\t\[\[0,0,\d+,\d+,"4\.17\.21"\]\]\n$/,
    );
  });

  it("a flipped byte in one block refuses lookups in that block only, and db status --verify", async () => {
    const file = path.join(dir, "kev.tsv");
    const original = readFileSync(file);
    const layout = JSON.parse(readFileSync(path.join(dir, "layout.json"), "utf8")) as {
      kev: { sparse: Array<[string, number, number]> };
    };
    const damaged = Buffer.from(original);
    const at = layout.kev.sparse[5]![1] + 40;
    damaged[at] = damaged[at]! ^ 0x10;
    writeFileSync(file, damaged);
    try {
      const store = await openDatabase(dir);
      expect((await store.kev(cve(0)))?.cveId).toBe(cve(0));
      expect((await store.kev(cve(999)))?.cveId).toBe(cve(999));
      await expectRefused(() => store.kev(cve(5 * 128 + 3)));
      await store.close();
      await expectRefused(() => verifyGeneration(dir));
    } finally {
      writeFileSync(file, original);
    }
  });
});
