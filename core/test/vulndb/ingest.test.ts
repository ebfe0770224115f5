import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildDatabase, HostileVulnDataError, openDatabase, VulnDbError } from "../../src/index.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { osvRecord, tempDir, writeZip } from "./helpers.js";

const cleanup: string[] = [];
afterEach(() => {
  for (const dir of cleanup.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function scratch(): string {
  const dir = tempDir();
  cleanup.push(dir);
  return dir;
}

describeWithShared("ingesting damaged inputs", () => {
  it("skips a malformed record in a copy of real data with one warning naming it, and keeps the rest", async () => {
    const work = scratch();
    const input = path.join(work, "in");
    cpSync(sharedPath("vulns/osv-rustsec"), input, { recursive: true });
    writeFileSync(path.join(input, "RUSTSEC-2099-0001.json"), '{"id": "RUSTSEC-2099-0001", "modified": ');
    const broken = JSON.parse(readFileSync(path.join(input, "RUSTSEC-2016-0001.json"), "utf8"));
    delete broken.affected[0].package.ecosystem;
    writeFileSync(path.join(input, "RUSTSEC-2016-0001.json"), JSON.stringify(broken));
    const warnings: string[] = [];
    const metadata = await buildDatabase({
      from: [input],
      dbDir: path.join(work, "db"),
      warn: (w) => warnings.push(w),
    });
    const truncated = warnings.filter((w) => w.includes("RUSTSEC-2099-0001.json"));
    expect(truncated).toHaveLength(1);
    expect(truncated[0]).toMatch(/not valid JSON/);
    const invalid = warnings.filter((w) => w.includes("RUSTSEC-2016-0001"));
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toMatch(/record RUSTSEC-2016-0001 is not a valid OSV record \(\/affected\/0\/package/);
    const valid = JSON.parse(readFileSync(sharedPath("vulns/osv-rustsec/RUSTSEC-2016-0002.json"), "utf8"));
    const store = await openDatabase(path.join(work, "db"));
    const found = await store.advisoriesFor("crates.io", valid.affected[0].package.name);
    expect(found.map((r) => r.id)).toContain("RUSTSEC-2016-0002");
    await store.close();
    expect(metadata.records).toBeGreaterThan(150);
  });

  it("reads an OSV all.zip written by an independent zip writer", async () => {
    const work = scratch();
    const dir = sharedPath("vulns/osv-go");
    const members = ["GO-2022-0956.json", "GO-2022-0515.json", "GO-2025-4108.json"].map((name) => ({
      name,
      data: readFileSync(path.join(dir, name)),
    }));
    const zip = path.join(work, "all.zip");
    await writeZip(zip, [...members, { name: "README.txt", data: Buffer.from("not a record") }]);
    const metadata = await buildDatabase({ from: [zip], dbDir: path.join(work, "db") });
    expect(metadata.records).toBe(3);
    expect(metadata.sources.map((s) => s.name)).toEqual(["osv:Go"]);
  });
});

describe("zip limits", () => {
  it("refuses a zip bomb before inflating past the per-entry limit", async () => {
    const work = scratch();
    const zip = path.join(work, "all.zip");
    // 64 MiB of zeros compresses to ~64 KiB.
    await writeZip(zip, [{ name: "BOMB-1.json", data: Buffer.alloc(64 * 1024 * 1024) }]);
    const attempt = buildDatabase({
      from: [zip],
      dbDir: path.join(work, "db"),
      zipLimits: { maxEntries: 100, maxEntryBytes: 1024 * 1024, maxTotalBytes: 8 * 1024 * 1024 },
    });
    await expect(attempt).rejects.toThrow(HostileVulnDataError);
    await expect(attempt).rejects.toThrow(/BOMB-1\.json inflates to 67108864 bytes/);
  });

  it("refuses archives whose total or entry count exceeds the limits", async () => {
    const work = scratch();
    const zip = path.join(work, "all.zip");
    const members = Array.from({ length: 20 }, (_, i) => ({
      name: `PYSEC-2024-${i}.json`,
      data: Buffer.from(JSON.stringify(osvRecord(`PYSEC-2024-${i}`, "PyPI", `pkg${i}`)).padEnd(100_000, " ")),
    }));
    await writeZip(zip, members);
    await expect(
      buildDatabase({
        from: [zip],
        dbDir: path.join(work, "a"),
        zipLimits: { maxEntries: 10, maxEntryBytes: 1 << 20, maxTotalBytes: 1 << 30 },
      }),
    ).rejects.toThrow(/20 zip entries exceed the limit of 10/);
    await expect(
      buildDatabase({
        from: [zip],
        dbDir: path.join(work, "b"),
        zipLimits: { maxEntries: 100, maxEntryBytes: 1 << 20, maxTotalBytes: 500_000 },
      }),
    ).rejects.toThrow(/zip bomb/);
  });

  it("fails on a truncated zip instead of building from part of it", async () => {
    const work = scratch();
    const zip = path.join(work, "all.zip");
    await writeZip(
      zip,
      Array.from({ length: 5 }, (_, i) => ({
        name: `GHSA-${i}.json`,
        data: Buffer.from(JSON.stringify(osvRecord(`GHSA-aaaa-bbbb-cc${i}c`, "npm", `p${i}`))),
      })),
    );
    const bytes = readFileSync(zip);
    writeFileSync(zip, bytes.subarray(0, bytes.length - 30));
    await expect(buildDatabase({ from: [zip], dbDir: path.join(work, "db") })).rejects.toThrow(VulnDbError);
  });
});

describe("database build basics", () => {
  it("keeps the newer copy of a record seen twice and stores it once", async () => {
    const work = scratch();
    mkdirSync(path.join(work, "a"));
    mkdirSync(path.join(work, "b"));
    writeFileSync(
      path.join(work, "a/x.json"),
      JSON.stringify(osvRecord("GHSA-1111-2222-3333", "npm", "left-pad", "1.0.0", "2024-01-01T00:00:00Z")),
    );
    writeFileSync(
      path.join(work, "b/x.json"),
      JSON.stringify(osvRecord("GHSA-1111-2222-3333", "npm", "left-pad", "1.3.0", "2024-06-01T00:00:00Z")),
    );
    writeFileSync(
      path.join(work, "b/y.json"),
      JSON.stringify(osvRecord("GHSA-1111-2222-3333", "npm", "left-pad", "0.1.0", "2023-01-01T00:00:00Z")),
    );
    const metadata = await buildDatabase({
      from: [path.join(work, "a"), path.join(work, "b")],
      dbDir: path.join(work, "db"),
    });
    expect(metadata.records).toBe(1);
    const store = await openDatabase(path.join(work, "db"));
    const records = await store.advisoriesFor("npm", "left-pad");
    expect(records).toHaveLength(1);
    expect(records[0]!.affected![0]!.ranges![0]!.events).toEqual([{ introduced: "0" }, { fixed: "1.3.0" }]);
    await store.close();
  });

  it("keeps an advisory published in two OSV feeds with each feed, and returns it once", async () => {
    const work = scratch();
    const both = {
      ...osvRecord("GHSA-4444-5555-6666", "npm", "shared-lib"),
      affected: [osvRecord("x", "npm", "shared-lib").affected[0]!, osvRecord("x", "PyPI", "shared-lib").affected[0]!],
    };
    await writeZip(path.join(work, "npm.zip"), [{ name: "a.json", data: Buffer.from(JSON.stringify(both)) }]);
    const pypiCopy = { ...both, affected: [...both.affected].reverse() };
    await writeZip(path.join(work, "pypi.zip"), [{ name: "a.json", data: Buffer.from(JSON.stringify(pypiCopy)) }]);
    const metadata = await buildDatabase({
      from: [path.join(work, "npm.zip"), path.join(work, "pypi.zip")],
      dbDir: path.join(work, "db"),
    });
    expect(metadata.sources.map((s) => [s.name, s.records])).toEqual([
      ["osv:npm", 1],
      ["osv:PyPI", 1],
    ]);
    const store = await openDatabase(path.join(work, "db"));
    expect((await store.advisoriesFor("npm", "shared-lib")).map((r) => r.id)).toEqual(["GHSA-4444-5555-6666"]);
    expect((await store.advisoriesFor("PyPI", "Shared_Lib")).map((r) => r.id)).toEqual(["GHSA-4444-5555-6666"]);
    await store.close();
  });

  it("finds packages whose names are Object.prototype keys only when they exist", async () => {
    const work = scratch();
    writeFileSync(path.join(work, "r.json"), JSON.stringify(osvRecord("GHSA-2222-3333-4444", "npm", "__proto__")));
    await buildDatabase({ from: [path.join(work, "r.json")], dbDir: path.join(work, "db") });
    const store = await openDatabase(path.join(work, "db"));
    expect((await store.advisoriesFor("npm", "__proto__")).map((r) => r.id)).toEqual(["GHSA-2222-3333-4444"]);
    expect(await store.advisoriesFor("npm", "constructor")).toEqual([]);
    expect(await store.advisoriesFor("npm", "hasOwnProperty")).toEqual([]);
    await store.close();
  });

  it("refuses a database whose schemaVersion is newer than the code, and a missing one", async () => {
    const work = scratch();
    writeFileSync(path.join(work, "r.json"), JSON.stringify(osvRecord("GHSA-2222-3333-5555", "npm", "a")));
    const dbDir = path.join(work, "db");
    await buildDatabase({ from: [path.join(work, "r.json")], dbDir });
    const generation = path.join(dbDir, readFileSync(path.join(dbDir, "CURRENT"), "utf8").trim());
    const metadataFile = path.join(generation, "metadata.json");
    const metadata = JSON.parse(readFileSync(metadataFile, "utf8"));
    writeFileSync(metadataFile, JSON.stringify({ ...metadata, schemaVersion: 99 }));
    // As a newer stowaway would write it: with its integrity manifest matching the new metadata.
    const integrityFile = path.join(generation, "integrity.json");
    const integrity = JSON.parse(readFileSync(integrityFile, "utf8"));
    integrity.files["metadata.json"] = createHash("sha256").update(readFileSync(metadataFile)).digest("hex");
    writeFileSync(integrityFile, JSON.stringify(integrity));
    await expect(openDatabase(dbDir)).rejects.toThrow(
      /schemaVersion 99 is newer than this stowaway understands \(2\); upgrade stowaway/,
    );
    await expect(openDatabase(path.join(work, "nothing-here"))).rejects.toThrow(
      /no vulnerability database at .*nothing-here; run `stowaway db update`/,
    );
  });

  it("says clearly when the inputs hold nothing usable", async () => {
    const work = scratch();
    writeFileSync(path.join(work, "notes.txt"), "hello");
    await expect(buildDatabase({ from: [work], dbDir: path.join(work, "db") })).rejects.toThrow(
      /no usable vulnerability data in/,
    );
    await expect(buildDatabase({ from: [path.join(work, "missing")], dbDir: path.join(work, "db") })).rejects.toThrow(
      /missing: cannot read this --from input \(ENOENT\)/,
    );
  });
});
