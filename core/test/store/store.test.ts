import { existsSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Finding, ScanResult } from "../../src/result.js";
import { MIGRATIONS, openStore } from "../../src/store/index.js";
import type { SqlStore } from "../../src/store/sql-store.js";
import type { InventoryStore } from "../../src/store/types.js";
import { describeWithPostgres, startPostgres, type PostgresServer } from "../helpers/postgres-server.js";

function finding(id: string, fixedVersion?: string): Finding {
  return {
    findingId: `pkg:apk/alpine/openssl@3.1.4-r0/${id}`,
    id,
    aliases: [],
    packageId: "pkg:apk/alpine/openssl@3.1.4-r0",
    packageName: "openssl",
    installedVersion: "3.1.4-r0",
    ...(fixedVersion ? { fixedVersion } : {}),
    status: fixedVersion ? "fixed" : "affected",
    severity: "high",
    severitySource: "test",
    severities: [],
    cvss: [],
    kev: false,
    layerIndex: 0,
    match: {
      type: "direct",
      ecosystem: "Alpine:v3.19",
      name: "openssl",
      version: "3.1.4-r0",
      constraint: "<3.1.4-r1",
      recordId: id,
      dataSource: "test",
    },
  } as Finding;
}

function result(digest: string, findings?: Finding[]): ScanResult {
  return {
    schemaVersion: 1,
    scanner: { name: "stowaway", version: "test" },
    artifact: {
      reference: `127.0.0.1:5000/app@${digest}`,
      manifestDigest: digest,
      configDigest: "sha256:" + "c".repeat(64),
      platform: { os: "linux", architecture: "amd64" },
      os: { family: "alpine", version: "3.19.1", ecosystem: "Alpine:v3.19" },
      layers: [],
    },
    packages: [],
    ...(findings ? { findings } : {}),
    warnings: ["a warning with \u001b[31m escape bytes"],
  };
}

const A = "sha256:" + "a".repeat(64);
const B = "sha256:" + "b".repeat(64);

/** The one store suite, run against every backend: same schema, same answers. */
function storeSuite(open: () => Promise<InventoryStore>, reopen: () => Promise<InventoryStore>): void {
  let store: InventoryStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => {
    await store?.close();
  });

  it("keeps a result by digest, byte for byte, and replaces it on the next match", async () => {
    const first = result(A, [finding("CVE-2099-0001")]);
    await store.putImage({
      digest: A,
      result: first,
      imageConfig: { user: "app", labels: { team: "x" } },
      dbBuiltAt: "2026-01-01T00:00:00Z",
      firstScanned: "2026-01-02T00:00:00Z",
      lastMatched: "2026-01-02T00:00:00Z",
    });
    expect(await store.getImage(A)).toEqual({
      digest: A,
      result: first,
      imageConfig: { user: "app", labels: { team: "x" } },
      dbBuiltAt: "2026-01-01T00:00:00Z",
      firstScanned: "2026-01-02T00:00:00Z",
      lastMatched: "2026-01-02T00:00:00Z",
    });
    const second = result(A, [finding("CVE-2099-0001"), finding("CVE-2099-0002", "3.1.4-r2")]);
    await store.putImage({
      digest: A,
      result: second,
      firstScanned: "2026-01-03T00:00:00Z",
      lastMatched: "2026-01-03T00:00:00Z",
    });
    const stored = await store.getImage(A);
    expect(stored?.result.findings).toHaveLength(2);
    // first_scanned is set once; a later put does not move it.
    expect(stored?.firstScanned).toBe("2026-01-02T00:00:00Z");
    expect(stored?.lastMatched).toBe("2026-01-03T00:00:00Z");
    expect(await store.getImage(B)).toBeUndefined();
    expect(await store.digests()).toEqual([A]);
  });

  it("tracks where a digest is tagged; a moved tag leaves its old digest not current", async () => {
    const where = { registry: "r.example", repository: "team/app", tag: "latest" };
    await store.recordSighting({ ...where, digest: A }, "2026-01-02T00:00:00Z");
    await store.recordSighting({ ...where, digest: A }, "2026-01-03T00:00:00Z");
    await store.recordSighting({ ...where, digest: B, indexDigest: A }, "2026-01-04T00:00:00Z");
    const rows = (await store.sightings()).filter((row) => row.tag === "latest");
    expect(rows).toEqual([
      { ...where, digest: A, firstSeen: "2026-01-02T00:00:00Z", lastSeen: "2026-01-03T00:00:00Z", current: false },
      {
        ...where,
        digest: B,
        indexDigest: A,
        firstSeen: "2026-01-04T00:00:00Z",
        lastSeen: "2026-01-04T00:00:00Z",
        current: true,
      },
    ]);
  });

  it("records runs newest first with their changes", async () => {
    await store.startRun({ id: "run-1", kind: "scan", target: "r.example/team", startedAt: "2026-01-02T00:00:00Z" });
    await store.startRun({
      id: "run-2",
      kind: "rescan",
      target: "",
      startedAt: "2026-01-03T00:00:00Z",
      dbBuiltAt: "2026-01-03T00:00:00Z",
    });
    const summary = { images: 1, failed: 0, newFindings: 1, fixedFindings: 0, newlyFixable: 1 };
    await store.finishRun("run-2", "2026-01-03T00:01:00Z", summary);
    const change = {
      runId: "run-2",
      digest: A,
      findingId: "pkg:apk/alpine/openssl@3.1.4-r0/CVE-2099-0002",
      vulnerabilityId: "CVE-2099-0002",
      severity: "high",
      packageName: "openssl",
      installedVersion: "3.1.4-r0",
    };
    await store.recordChanges([
      { ...change, kind: "new", fixedVersion: "3.1.4-r2" },
      { ...change, kind: "newly-fixable", fixedVersion: "3.1.4-r2" },
    ]);
    // Recording the same change twice (a retried run) keeps one row.
    await store.recordChanges([{ ...change, kind: "new", fixedVersion: "3.1.4-r2" }]);
    const runs = await store.runs();
    expect(runs.map((run) => run.id)).toEqual(["run-2", "run-1"]);
    expect(runs[0]).toEqual({
      id: "run-2",
      kind: "rescan",
      target: "",
      startedAt: "2026-01-03T00:00:00Z",
      finishedAt: "2026-01-03T00:01:00Z",
      dbBuiltAt: "2026-01-03T00:00:00Z",
      summary,
    });
    expect((await store.changes("run-2")).map((row) => row.kind)).toEqual(["new", "newly-fixable"]);
    expect(await store.changes("run-1")).toEqual([]);
  });

  it("survives a reopen: migrations are applied once and the data is still there", async () => {
    await store.flush();
    const again = await reopen();
    try {
      expect((await again.getImage(A))?.result.findings).toHaveLength(2);
      expect((await again.runs()).length).toBe(2);
    } finally {
      await again.close();
    }
  });

  it("stores a finding's details once for every image holding it, and reads each image back as written", async () => {
    const C = "sha256:" + "c".repeat(64);
    const D = "sha256:" + "d".repeat(64);
    const shared = finding("CVE-2099-0100", "3.1.4-r9");
    // Same advisory and package in two images, at another layer in the second; a finding id of another shape.
    const inC = [shared, { ...finding("CVE-2099-0101"), findingId: "custom-id" }];
    const inD = [{ ...shared, layerIndex: 3 }];
    const now = "2026-02-01T00:00:00Z";
    await store.putImage({ digest: C, result: result(C, inC), firstScanned: now, lastMatched: now });
    await store.putImage({ digest: D, result: result(D, inD), firstScanned: now, lastMatched: now });
    const driver = (store as SqlStore).driver;
    const ids = (await driver.all("SELECT findings FROM images WHERE digest IN (?, ?) ORDER BY digest", [C, D])).map(
      (row) => (JSON.parse(String(row["findings"])) as string[][]).map((ref) => ref[0]),
    );
    // One detail row serves both images' CVE-2099-0100.
    expect(ids[0]![0]).toBe(ids[1]![0]);
    const rows = await driver.all(
      `SELECT count(*) AS n FROM finding_details WHERE id IN (${[...new Set(ids.flat())].map(() => "?").join(", ")})`,
      [...new Set(ids.flat())],
    );
    expect(Number(rows[0]!["n"])).toBe(2);
    // Read back through a fresh connection (no cache): equal, key order included.
    await store.flush();
    const again = await reopen();
    try {
      for (const [digest, findings] of [
        [C, inC],
        [D, inD],
      ] as const) {
        const stored = await again.getImage(digest);
        expect(JSON.stringify(stored?.result)).toBe(JSON.stringify(result(digest, [...findings])));
      }
      expect((await again.listImages()).find((image) => image.digest === D)?.result.findings).toEqual(inD);
    } finally {
      await again.close();
    }
  });

  it("deletes finding details no image references any more, a grace period after a run left them so", async () => {
    const E = "sha256:" + "e".repeat(64);
    const F = "sha256:" + "f".repeat(64);
    const driver = (store as SqlStore).driver;
    /** The advisory ids of the stored details of this test's findings. */
    const detailsOf = async () =>
      (await driver.all("SELECT body FROM finding_details"))
        .map((row) => String((JSON.parse(String(row["body"])) as { id: string }).id))
        .filter((id) => id.startsWith("CVE-2099-03"))
        .sort();
    const day1 = "2026-03-01T06:00:00.000Z";
    const kept = finding("CVE-2099-0300", "3.1.4-r5");
    const dropped = finding("CVE-2099-0301");
    const readded = finding("CVE-2099-0302");
    await store.putImage({
      digest: E,
      result: result(E, [kept, dropped, readded]),
      firstScanned: day1,
      lastMatched: day1,
    });
    // The next day's rescan: the new database no longer lists two of the advisories.
    await store.startRun({ id: "gc-run-1", kind: "rescan", startedAt: day1, target: "" });
    await store.getImage(E);
    await store.putImage({ digest: E, result: result(E, [kept]), firstScanned: day1, lastMatched: day1 });
    await store.finishRun("gc-run-1", day1, {
      images: 1,
      failed: 0,
      newFindings: 0,
      fixedFindings: 2,
      newlyFixable: 0,
    });
    // Marked, not yet deleted: a writer may have stored them a moment ago for an image not written yet.
    expect(await detailsOf()).toEqual(["CVE-2099-0300", "CVE-2099-0301", "CVE-2099-0302"]);
    // Another image takes one of them up again before the grace period ends.
    await store.putImage({ digest: F, result: result(F, [readded]), firstScanned: day1, lastMatched: day1 });
    const day2 = new Date(Date.parse(day1) + 25 * 60 * 60 * 1000);
    await (store as SqlStore).collectFindingDetails(day2);
    expect(await detailsOf()).toEqual(["CVE-2099-0300", "CVE-2099-0302"]);
    await store.flush();
    const again = await reopen();
    try {
      expect((await again.getImage(E))?.result.findings).toEqual([kept]);
      expect((await again.getImage(F))?.result.findings).toEqual([readded]);
    } finally {
      await again.close();
    }
  });

  it("knows every migration", () => {
    expect(MIGRATIONS.map((migration) => migration.version)).toEqual(MIGRATIONS.map((_, index) => index + 1));
  });
}

describe(`store: SQLite file (${process.env.STOWAWAY_SQLITE === "wasm" || !process.getBuiltinModule?.("node:sqlite") ? "node-sqlite3-wasm" : "node:sqlite"})`, () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "stowaway-store-"));
    file = path.join(dir, "nested", "inventory.sqlite");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  storeSuite(
    () => openStore(file),
    () => openStore(file),
  );

  it("leaves no journal or temp file beside the store once written", () => {
    expect(existsSync(file)).toBe(true);
    expect(readdirSync(path.dirname(file))).toEqual(["inventory.sqlite"]);
  });

  it("opens a store written by sql.js (earlier Stowaway versions), migrates it and reads its findings", async () => {
    const { default: initSqlJs } = await import("sql.js");
    const SQL = await initSqlJs();
    const old = new SQL.Database();
    old.run(
      "CREATE TABLE stowaway_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)",
    );
    for (const migration of MIGRATIONS.filter((m) => m.version <= 3)) {
      for (const statement of migration.statements) old.run(statement);
      old.run("INSERT INTO stowaway_migrations VALUES (?, ?, ?)", [migration.version, migration.description, "x"]);
    }
    // Then the findings lived inside the result document.
    const legacy = result(A, [finding("CVE-2099-0200", "3.1.4-r3")]);
    old.run(
      "INSERT INTO images (digest, result, image_config, db_built_at, verdict, worst_severity, first_scanned, last_matched) VALUES (?, ?, NULL, NULL, NULL, 'high', ?, ?)",
      [A, JSON.stringify(legacy), "2025-12-01T00:00:00Z", "2025-12-01T00:00:00Z"],
    );
    const legacyFile = path.join(dir, "written-by-sqljs.sqlite");
    await writeFile(legacyFile, Buffer.from(old.export()));
    old.close();

    const store = await openStore(legacyFile);
    try {
      expect((await store.getImage(A))?.result).toEqual(legacy);
      // Written back, it takes the compact form and still reads the same.
      await store.putImage({
        digest: A,
        result: legacy,
        firstScanned: "2025-12-01T00:00:00Z",
        lastMatched: "2026-01-01T00:00:00Z",
      });
      await store.flush();
    } finally {
      await store.close();
    }
    const reopened = await openStore(legacyFile);
    try {
      const rows = await (reopened as SqlStore).driver.all("SELECT findings FROM images WHERE digest = ?", [A]);
      expect(rows[0]!["findings"]).not.toBeNull();
      expect((await reopened.getImage(A))?.result).toEqual(legacy);
      expect(
        Number((await (reopened as SqlStore).driver.all("SELECT MAX(version) AS v FROM stowaway_migrations"))[0]!["v"]),
      ).toBe(MIGRATIONS.length);
    } finally {
      await reopened.close();
    }
  });

  it("opens a store whose lock folder a killed process left behind (WebAssembly engine)", async () => {
    const stale = path.join(dir, "killed-mid-run.sqlite");
    const first = await openStore(stale);
    await first.close();
    // node-sqlite3-wasm locks by creating FILE.lock/; a process killed holding it leaves it there.
    await mkdir(`${stale}.lock`);
    const old = new Date(Date.now() - 10 * 60_000);
    await utimes(`${stale}.lock`, old, old);
    const store = await openStore(stale);
    try {
      expect(await store.digests()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("refuses a file that is not a store with one line saying what to do", async () => {
    const bogus = path.join(dir, "bogus.sqlite");
    await writeFile(bogus, "not sqlite at all, just text that is long enough to have a header".repeat(10));
    await expect(openStore(bogus)).rejects.toThrow(/bogus\.sqlite is not a SQLite database; point --store at/);
  });
});

describeWithPostgres("store: PostgreSQL", () => {
  let server: PostgresServer;
  let url = "";
  beforeAll(async () => {
    server = await startPostgres();
    url = await server.createDatabase("stowaway_store_suite");
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  storeSuite(
    () => openStore(url),
    () => openStore(url),
  );

  it("names the server without its password when it cannot connect", async () => {
    const closed = url.replace(/:(\d+)\//, ":1/").replace("postgres@", "postgres:s3cret-pw@");
    const error = (await openStore(closed).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/^cannot connect to the store postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\//);
    expect(error.message).not.toContain("s3cret-pw");
  });
});
