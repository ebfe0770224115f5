import { createHash } from "node:crypto";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildDatabase, openDatabase, rememberEcosystems, updateDatabase } from "../../src/index.js";
import { osvRecord, tempDir, writeZip } from "./helpers.js";

/** Bitwise CRC-32C, written independently of the table-driven one under test. */
function crc32c(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function googHash(data: Buffer): string {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32c(data));
  return `crc32c=${crc.toString("base64")},md5=${createHash("md5").update(data).digest("base64")}`;
}

interface Logged {
  url: string;
  ifNoneMatch?: string;
  status: number;
}

describe("db update against a local mirror server", () => {
  let work: string;
  let server: http.Server;
  let base: string;
  const files = new Map<string, Buffer>();
  const log: Logged[] = [];

  async function publishPyPI(count: number): Promise<void> {
    const members = Array.from({ length: count }, (_, i) => ({
      name: `PYSEC-2024-${i}.json`,
      data: Buffer.from(
        JSON.stringify(osvRecord(`PYSEC-2024-${i}`, "PyPI", `Package_${i}`, "1.0.0", "2024-03-01T00:00:00Z")),
      ),
    }));
    const zipFile = path.join(work, "PyPI.zip");
    await writeZip(zipFile, members);
    files.set("PyPI/all.zip", (await import("node:fs")).readFileSync(zipFile));
  }

  beforeAll(async () => {
    work = tempDir();
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
    await publishPyPI(3);
    files.set(
      "cisa-kev/known_exploited_vulnerabilities.json",
      Buffer.from(
        JSON.stringify({
          catalogVersion: "2025.01.01",
          dateReleased: "2025-01-01T00:00:00.000Z",
          count: 1,
          vulnerabilities: [
            {
              cveID: "CVE-2024-3094",
              dateAdded: "2024-04-01",
              dueDate: "2024-04-22",
              knownRansomwareCampaignUse: "Unknown",
            },
          ],
        }),
      ),
    );
    files.set(
      "epss/epss_scores-current.csv.gz",
      gzipSync(
        "#model_version:v2025.03.14,score_date:2025-06-01T00:00:00+0000\ncve,epss,percentile\nCVE-2024-3094,0.84,0.99\n",
      ),
    );
    server = http.createServer((req, res) => {
      const [, mode, ...rest] = (req.url ?? "").split("/");
      const key = decodeURIComponent(rest.join("/"));
      const body = files.get(key);
      const record = (status: number) =>
        log.push({ url: req.url ?? "", ifNoneMatch: req.headers["if-none-match"], status });
      if (mode === "broken") {
        record(500);
        res.writeHead(500).end("internal error");
        return;
      }
      if (!body) {
        record(404);
        res.writeHead(404).end();
        return;
      }
      const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 16)}"`;
      if (req.headers["if-none-match"] === etag) {
        record(304);
        res.writeHead(304, { etag }).end();
        return;
      }
      record(200);
      const headers: Record<string, string> = {
        etag,
        "content-length": String(body.length),
        "x-goog-hash": googHash(body),
      };
      if (mode === "badcrc") headers["x-goog-hash"] = googHash(Buffer.concat([body, Buffer.from("x")]));
      res.writeHead(200, headers);
      if (mode === "dying") {
        // Half the body, then the connection drops, as when a mirror dies mid-download.
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
        return;
      }
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    log.length = 0;
  });

  const env = { NO_PROXY: "", HTTPS_PROXY: "", HTTP_PROXY: "" };

  it("downloads OSV, KEV and EPSS, keeps sources it does not refresh, then sends conditional GETs", async () => {
    const dbDir = path.join(work, "db1");
    const tracker = path.join(work, "debian.json");
    writeFileSync(
      tracker,
      JSON.stringify({
        openssl: { "CVE-2024-0001": { releases: { bookworm: { status: "open", urgency: "medium" } } } },
      }),
    );
    await buildDatabase({ from: [tracker], dbDir });

    const first = await updateDatabase({ dbDir, ecosystems: ["PyPI"], mirrors: [`${base}/good`], env });
    expect(first.refreshed.sort()).toEqual(["cisa-kev", "epss", "osv:PyPI"]);
    expect(first.metadata.recordsByEcosystem).toEqual({ "Debian:12": 1, PyPI: 3 });
    const pypi = first.metadata.sources.find((s) => s.name === "osv:PyPI")!;
    expect(pypi).toMatchObject({ records: 3, url: `${base}/good/PyPI/all.zip`, origin: `${base}/good/PyPI/all.zip` });
    expect(pypi.etag).toMatch(/^"[0-9a-f]{16}"$/);
    const store = await openDatabase(dbDir);
    expect((await store.advisoriesFor("PyPI", "package-1")).map((r) => r.id)).toEqual(["PYSEC-2024-1"]);
    expect((await store.advisoriesFor("Debian:bookworm", "openssl")).map((r) => r.id)).toEqual(["CVE-2024-0001"]);
    expect(await store.kev("CVE-2024-3094")).toMatchObject({ dateAdded: "2024-04-01" });
    expect(await store.epss("CVE-2024-3094")).toEqual({
      cveId: "CVE-2024-3094",
      score: 0.84,
      percentile: 0.99,
      date: "2025-06-01",
    });
    await store.close();

    log.length = 0;
    const second = await updateDatabase({ dbDir, ecosystems: ["PyPI"], mirrors: [`${base}/good`], env });
    expect(log.map((l) => l.status)).toEqual([304, 304, 304]);
    expect(log.every((l) => l.ifNoneMatch)).toBe(true);
    expect(second.unchanged.sort()).toEqual(["cisa-kev", "epss", "osv:PyPI"]);
    expect(second.metadata.recordsByEcosystem).toEqual(first.metadata.recordsByEcosystem);
    expect(second.metadata.kevEntries).toBe(1);
    expect(second.metadata.sources.find((s) => s.name === "osv:PyPI")!.etag).toBe(pypi.etag);

    await publishPyPI(4);
    const third = await updateDatabase({ dbDir, ecosystems: ["PyPI"], mirrors: [`${base}/good`], env });
    expect(third.refreshed).toEqual(["osv:PyPI"]);
    expect(third.metadata.recordsByEcosystem).toEqual({ "Debian:12": 1, PyPI: 4 });
    await publishPyPI(3);
  });

  it("falls back to the next mirror after a 500 and after a CRC32C mismatch", async () => {
    const dbDir = path.join(work, "db2");
    const warnings: string[] = [];
    const result = await updateDatabase({
      dbDir,
      ecosystems: ["PyPI"],
      mirrors: [`${base}/broken`, `${base}/badcrc`, `${base}/good`],
      env,
      warn: (w) => warnings.push(w),
    });
    expect(result.refreshed.sort()).toEqual(["cisa-kev", "epss", "osv:PyPI"]);
    expect(warnings.some((w) => w.includes("/broken/PyPI/all.zip failed (HTTP 500)"))).toBe(true);
    expect(warnings.some((w) => w.includes("/badcrc/PyPI/all.zip failed (CRC32C mismatch"))).toBe(true);
    expect(log.filter((l) => l.url === "/good/PyPI/all.zip").map((l) => l.status)).toEqual([200]);
  });

  it("leaves the old database intact and usable when the server dies mid-download", async () => {
    const dbDir = path.join(work, "db3");
    const before = await updateDatabase({ dbDir, ecosystems: ["PyPI"], mirrors: [`${base}/good`], env });
    await publishPyPI(5);
    await expect(
      updateDatabase({ dbDir, ecosystems: ["PyPI"], mirrors: [`${base}/dying`], env, kev: false, epss: false }),
    ).rejects.toThrow(
      /osv:PyPI: no mirror delivered it \(.*dying\/PyPI\/all\.zip: .*\); the existing database is unchanged/,
    );
    const store = await openDatabase(dbDir);
    expect(store.metadata().builtAt).toBe(before.metadata.builtAt);
    expect((await store.advisoriesFor("PyPI", "package_2")).map((r) => r.id)).toEqual(["PYSEC-2024-2"]);
    expect(await store.advisoriesFor("PyPI", "package-4")).toEqual([]);
    await store.close();
    expect(readdirSync(dbDir).filter((name) => name.startsWith(".staging"))).toEqual([]);
    await publishPyPI(3);
  });

  it("defaults to the ecosystems recent scans remembered", async () => {
    const dbDir = path.join(work, "db4");
    await rememberEcosystems(dbDir, ["pypi", "PyPI"]);
    expect(existsSync(path.join(dbDir, "recent-ecosystems.json"))).toBe(true);
    const result = await updateDatabase({ dbDir, mirrors: [`${base}/good`], env, kev: false, epss: false });
    expect(result.refreshed).toEqual(["osv:PyPI"]);
    expect(log.map((l) => l.url)).toEqual(["/good/PyPI/all.zip"]);
  });

  it("refuses nonsense input with one-line messages", async () => {
    const dbDir = path.join(work, "db5");
    await expect(updateDatabase({ dbDir, ecosystems: ["Debian:12"], mirrors: [`${base}/good`], env })).rejects.toThrow(
      /--ecosystem "Debian:12" is not an OSV feed name/,
    );
    await expect(updateDatabase({ dbDir, ecosystems: ["PyPI"], mirrors: ["ftp://x"], env })).rejects.toThrow(
      /only http\(s\) mirrors/,
    );
    await expect(updateDatabase({ dbDir, mirrors: [`${base}/good`], env, kev: false, epss: false })).rejects.toThrow(
      /no feeds to update: pass --ecosystem/,
    );
  });
});
