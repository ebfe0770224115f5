import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDatabase, exportDatabase, importDatabase, openDatabase } from "../../src/index.js";
import { osvRecord, tempDir, treeDigest } from "./helpers.js";

function generation(dbDir: string): string {
  return path.join(dbDir, readFileSync(path.join(dbDir, "CURRENT"), "utf8").trim());
}

describe("db export / db import", () => {
  let work: string;
  let source: string;

  beforeAll(async () => {
    work = tempDir();
    const inputs = path.join(work, "in.json");
    writeFileSync(inputs, JSON.stringify(osvRecord("GHSA-aaaa-bbbb-cccc", "PyPI", "Flask", "2.3.2")));
    writeFileSync(
      path.join(work, "kev.json"),
      JSON.stringify({
        dateReleased: "2025-01-01T00:00:00Z",
        vulnerabilities: [{ cveID: "CVE-2023-30861", dateAdded: "2025-01-01" }],
      }),
    );
    source = path.join(work, "source");
    await buildDatabase({ from: [inputs, path.join(work, "kev.json")], dbDir: source });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("round-trips: the imported database has exactly the exported files", async () => {
    const bundle = path.join(work, "db.tar.gz");
    const manifest = await exportDatabase(source, bundle);
    expect(manifest.files.map((f) => f.path)).toEqual(Object.keys(treeDigest(generation(source))));
    const target = path.join(work, "target");
    await importDatabase(bundle, target);
    expect(treeDigest(generation(target))).toEqual(treeDigest(generation(source)));
    const store = await openDatabase(target);
    expect((await store.advisoriesFor("PyPI", "flask")).map((r) => r.id)).toEqual(["GHSA-aaaa-bbbb-cccc"]);
    expect(await store.kev("CVE-2023-30861")).toMatchObject({ dateAdded: "2025-01-01" });
    await store.close();
  });

  it("refuses a tampered bundle and keeps the current database", async () => {
    const bundle = path.join(work, "tampered.tar.gz");
    await exportDatabase(source, bundle);
    const tar = gunzipSync(readFileSync(bundle));
    const at = tar.indexOf(Buffer.from("GHSA-aaaa-bbbb-cccc"), 1024);
    expect(at).toBeGreaterThan(0);
    tar.write("GHSA-zzzz", at);
    writeFileSync(bundle, gzipSync(tar));
    const target = path.join(work, "kept");
    await importDatabase(path.join(work, "db.tar.gz"), target);
    const before = treeDigest(target);
    await expect(importDatabase(bundle, target)).rejects.toThrow(
      /does not match its sha256 in manifest\.json; the bundle is damaged/,
    );
    expect(treeDigest(target)).toEqual(before);
  });

  it("refuses something that is not a bundle", async () => {
    const bogus = path.join(work, "bogus.tar.gz");
    writeFileSync(bogus, gzipSync(Buffer.from("hello")));
    await expect(importDatabase(bogus, path.join(work, "x"))).rejects.toThrow(
      /bogus\.tar\.gz: (empty or )?not a (readable )?db bundle/,
    );
  });
});
