import { cpSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseStatus, imageEcosystems, parseCommonInputs, refreshDatabase } from "../../src/index.js";
import { osvRecord, tempDir, writeZip } from "../vulndb/helpers.js";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const demoImage = path.join(repo, "examples/demo/demo-image.oci.tar");
const demoDb = path.join(repo, "examples/demo/db");
const noProxy = { NO_PROXY: "", HTTPS_PROXY: "", HTTP_PROXY: "" };

describe("refreshDatabase: db update as CI runs it", () => {
  let work: string;
  let server: http.Server;
  let mirror: string;
  let deadMirror: string;

  beforeAll(async () => {
    work = tempDir("stowaway-run-db-");
    const zip = path.join(work, "PyPI.zip");
    const record = osvRecord("PYSEC-2024-1", "PyPI", "urllib3", "1.26.18");
    await writeZip(zip, [{ name: "PYSEC-2024-1.json", data: Buffer.from(JSON.stringify(record)) }]);
    const files = new Map<string, Buffer>([
      ["/PyPI/all.zip", readFileSync(zip)],
      [
        "/cisa-kev/known_exploited_vulnerabilities.json",
        Buffer.from(JSON.stringify({ catalogVersion: "2025.01.01", count: 0, vulnerabilities: [] })),
      ],
      ["/epss/epss_scores-current.csv.gz", gzipSync("#model_version:v2025.03.14\ncve,epss,percentile\n")],
    ]);
    server = http.createServer((req, res) => {
      const body = files.get(req.url ?? "");
      if (body) res.writeHead(200, { "content-length": String(body.length) }).end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A port that was just free: connections to it are refused, like a mirror that is down.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    deadMirror = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((resolve) => probe.close(resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });

  it("downloads the feeds the run asked for into an empty directory", async () => {
    const dbDir = path.join(work, "fresh");
    const refresh = await refreshDatabase({ dbDir, ecosystems: ["PyPI"], mirrors: [mirror], env: noProxy });
    expect(refresh.state).toBe("updated");
    expect(refresh.warnings).toEqual([]);
    const status = await databaseStatus(dbDir);
    expect(status.metadata.sources.map((source) => source.name)).toContain("osv:PyPI");
  });

  it("skips the download for a database fresher than freshForMs that holds every feed, never for a missing feed", async () => {
    const dbDir = path.join(work, "fresh-enough");
    expect((await refreshDatabase({ dbDir, ecosystems: ["PyPI"], mirrors: [mirror], env: noProxy })).state).toBe(
      "updated",
    );
    const hour = 60 * 60 * 1000;
    const kept = await refreshDatabase({
      dbDir,
      ecosystems: ["PyPI"],
      mirrors: [deadMirror],
      freshForMs: hour,
      env: noProxy,
    });
    expect(kept).toMatchObject({ state: "cached", warnings: [] });
    expect(kept.notices[0]).toMatch(/^the vulnerability database is fresh \(built .+ ago\)$/);
    const later = new Date(Date.now() + 2 * hour);
    const stale = await refreshDatabase({
      dbDir,
      ecosystems: ["PyPI"],
      mirrors: [deadMirror],
      freshForMs: hour,
      env: noProxy,
      now: later,
    });
    expect(stale.state).toBe("cached");
    expect(stale.warnings).toHaveLength(1);
    const lacking = await refreshDatabase({
      dbDir,
      ecosystems: ["PyPI", "npm"],
      mirrors: [deadMirror],
      freshForMs: hour,
      env: noProxy,
    });
    expect(lacking.warnings[0]).toMatch(/^could not update the vulnerability database/);
  });

  it("keeps the cached database with a warning naming its age when every mirror fails", async () => {
    const dbDir = path.join(work, "cached");
    cpSync(demoDb, dbDir, { recursive: true });
    const before = await databaseStatus(dbDir);
    const refresh = await refreshDatabase({ dbDir, ecosystems: ["PyPI"], mirrors: [deadMirror], env: noProxy });
    expect(refresh.state).toBe("cached");
    expect(refresh.warnings).toHaveLength(1);
    expect(refresh.warnings[0]).toMatch(
      /^could not update the vulnerability database \(.+\); using the cached copy built .+ ago$/,
    );
    expect((await databaseStatus(dbDir)).generation).toBe(before.generation);
  });

  it("reports a missing database when the download fails and nothing is cached", async () => {
    const refresh = await refreshDatabase({
      dbDir: path.join(work, "nothing"),
      ecosystems: ["PyPI"],
      mirrors: [deadMirror],
      env: noProxy,
    });
    expect(refresh.state).toBe("missing");
    expect(refresh.warnings[0]).toMatch(/no cached copy exists/);
  });

  it("never touches the network offline: the cached copy, or a warning that there is none", async () => {
    const dbDir = path.join(work, "offline");
    cpSync(demoDb, dbDir, { recursive: true });
    // The dead mirror would turn any attempt into a warning; offline must not even try.
    const cached = await refreshDatabase({ dbDir, offline: true, mirrors: [deadMirror], env: noProxy });
    expect(cached).toMatchObject({ state: "cached", warnings: [] });
    expect(cached.notices[0]).toMatch(/^offline: using the cached vulnerability database/);
    const missing = await refreshDatabase({ dbDir: path.join(work, "offline-none"), offline: true });
    expect(missing.state).toBe("missing");
    expect(missing.warnings[0]).toMatch(/^offline and no cached vulnerability database at /);
  });
});

describe("imageEcosystems", () => {
  it("names the OSV feeds of the demo image (Debian base, pip, a Rust binary, npm) without a database", async () => {
    const cacheDir = tempDir("stowaway-run-eco-");
    try {
      const inputs = parseCommonInputs((name) => ({ image: `oci-archive:${demoImage}`, "cache-dir": cacheDir })[name], {
        outputDir: cacheDir,
      });
      expect(await imageEcosystems(inputs, {})).toEqual(["Debian", "PyPI", "crates.io", "npm"]);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
