import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildDatabase, openDatabase, updateDatabase } from "../../src/index.js";
import { matchPackages } from "../../src/match/index.js";
import { pkg } from "../match/fixtures.js";
import { githubAuthHeaders } from "../../src/vulndb/fetch/cve5.js";
import { tempDir } from "../helpers/temp-dir.js";
import { writeZip } from "./helpers.js";

/*
 * `db update` fetching the CVE List V5 from a loopback mirror laid out like the cvelistV5 GitHub
 * releases (release JSON, then `releases/download/<tag>/<asset>`). The records are real CVE List
 * records (core/test/fixtures/cve5, see its NOTICE.md); the zips are built here in the release
 * layout: the baseline is a zip holding `cves.zip` (`cves/<year>/<n>xxx/CVE-….json`), a delta a
 * zip of `deltaCves/CVE-….json`. Expected vectors and scores are read from the records.
 */

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/cve5");
const fixture = (id: string) => readFileSync(path.join(FIXTURES, `${id}.json`));

interface CveFixture {
  cveMetadata: { cveId: string; dateUpdated: string };
  containers: {
    cna: {
      providerMetadata: { shortName: string };
      metrics?: Array<Record<string, { vectorString?: string; baseScore?: number }>>;
    };
    adp?: Array<{
      providerMetadata: { shortName: string };
      metrics?: Array<Record<string, { vectorString?: string; baseScore?: number }>>;
    }>;
  };
}
const parsed = (id: string) => JSON.parse(fixture(id).toString("utf8")) as CveFixture;
/** The first CVSS 3.1 entry of a container, read independently of the code under test. */
const cvss31 = (metrics: CveFixture["containers"]["cna"]["metrics"]) =>
  metrics?.map((m) => m.cvssV3_1).find((c) => c?.vectorString) as { vectorString: string; baseScore: number };

interface Request {
  path: string;
  status: number;
}

describe("db update fetches CVE List V5 CNA/ADP metrics (loopback mirror, real records)", () => {
  const files = new Map<string, Buffer>();
  const requests: Request[] = [];
  let server: http.Server;
  let base: string;
  const work = tempDir("stowaway-cve5-update-");
  const dbDir = path.join(work, "db");
  const env = { NO_PROXY: "", HTTPS_PROXY: "", HTTP_PROXY: "" };

  const release = (tag: string, assets: string[]) =>
    files.set(
      "/cvelistV5/releases/latest",
      Buffer.from(
        JSON.stringify({ tag_name: tag, name: tag.replace(/^cve_/, "CVE "), assets: assets.map((name) => ({ name })) }),
      ),
    );
  const asset = async (tag: string, name: string, members: Array<{ name: string; data: Buffer }>) => {
    const file = path.join(work, name);
    await writeZip(file, members);
    files.set(`/cvelistV5/releases/download/${tag}/${name}`, readFileSync(file));
  };
  const baseline = async (tag: string, day: string, ids: string[]) => {
    const inner = path.join(work, `cves-${day}.zip`);
    await writeZip(inner, [
      ...ids.map((id) => {
        const [, year, num] = /^CVE-(\d{4})-(\d+)$/.exec(id)!;
        return { name: `cves/${year}/${num!.slice(0, -3) || "0"}xxx/${id}.json`, data: fixture(id) };
      }),
      // The real archive also carries the repository's change logs; they are not CVE records.
      { name: "cves/delta.json", data: Buffer.from("{}") },
    ]);
    await asset(tag, `${day}_all_CVEs_at_midnight.zip.zip`, [{ name: "cves.zip", data: readFileSync(inner) }]);
  };
  const deltaOf = (tag: string, name: string, members: Array<{ name: string; data: Buffer }>) =>
    asset(tag, name, members);
  const delta = (tag: string, name: string, ids: string[]) =>
    asset(
      tag,
      name,
      ids.map((id) => ({ name: `deltaCves/${id}.json`, data: fixture(id) })),
    );

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      const body = files.get(decodeURIComponent(url.pathname));
      if (!body) {
        requests.push({ path: url.pathname, status: 404 });
        res.writeHead(404).end();
        return;
      }
      const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 16)}"`;
      if (req.headers["if-none-match"] === etag) {
        requests.push({ path: url.pathname, status: 304 });
        res.writeHead(304, { etag }).end();
        return;
      }
      requests.push({ path: url.pathname, status: 200 });
      res.writeHead(200, { etag, "content-length": String(body.length) }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    // An OSV feed whose record names the libxml2 CVE, so a scan shows which rating decided.
    await asset("osv", "Go.zip", [
      {
        name: "GO-2099-0001.json",
        data: Buffer.from(
          JSON.stringify({
            schema_version: "1.6.0",
            id: "GO-2099-0001",
            modified: "2025-01-01T00:00:00Z",
            aliases: ["CVE-2024-25062"],
            affected: [
              {
                package: { ecosystem: "Go", name: "example.com/xmlwrap" },
                ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1.2.0" }] }],
              },
            ],
          }),
        ),
      },
    ]);
    files.set("/Go/all.zip", files.get("/cvelistV5/releases/download/osv/Go.zip")!);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    requests.length = 0;
  });

  const update = (extra: Partial<Parameters<typeof updateDatabase>[0]> = {}) =>
    updateDatabase({ dbDir, mirrors: [base], kev: false, epss: false, nvd: false, ecosystems: ["Go"], env, ...extra });
  const paths = () => requests.filter((r) => r.path.startsWith("/cvelistV5/")).map((r) => [r.path, r.status]);

  it("first run: the baseline (a zip in a zip) and the latest delta, with provenance and real ratings", async () => {
    await baseline("cve_2025-05-08_1400Z", "2025-05-08", ["CVE-2022-28347", "CVE-2024-0001"]);
    await delta("cve_2025-05-08_1400Z", "2025-05-08_delta_CVEs_at_1400Z.zip", ["CVE-2024-25062"]);
    release("cve_2025-05-08_1400Z", ["2025-05-08_all_CVEs_at_midnight.zip.zip", "2025-05-08_delta_CVEs_at_1400Z.zip"]);

    const result = await update({ cve5: true });
    expect(paths()).toEqual([
      ["/cvelistV5/releases/latest", 200],
      ["/cvelistV5/releases/download/cve_2025-05-08_1400Z/2025-05-08_all_CVEs_at_midnight.zip.zip", 200],
      ["/cvelistV5/releases/download/cve_2025-05-08_1400Z/2025-05-08_delta_CVEs_at_1400Z.zip", 200],
    ]);
    expect(result.refreshed).toContain("cve5");
    const source = result.metadata.sources.find((s) => s.name === "cve5")!;
    expect(source).toMatchObject({
      url: `${base}cvelistV5/releases/latest`,
      origin: `${base}cvelistV5/releases/latest`,
    });

    const cna = parsed("CVE-2024-0001");
    const adp = parsed("CVE-2024-25062");
    const adpMetric = cvss31(adp.containers.adp!.find((c) => c.metrics)!.metrics);
    const store = await openDatabase(dbDir);
    try {
      expect(await store.cveMetrics!("CVE-2024-0001")).toEqual([
        {
          cveId: "CVE-2024-0001",
          modified: cna.cveMetadata.dateUpdated,
          vectors: [
            {
              source: "cna",
              publisher: cna.containers.cna.providerMetadata.shortName,
              vector: cvss31(cna.containers.cna.metrics).vectorString,
            },
          ],
        },
      ]);
      expect(await store.cveMetrics!("CVE-2024-25062")).toEqual([
        {
          cveId: "CVE-2024-25062",
          modified: adp.cveMetadata.dateUpdated,
          vectors: [{ source: "adp", publisher: "CISA-ADP", vector: adpMetric.vectorString }],
        },
      ]);
      // Django's SQL injection has no CVSS in the CVE List: kept, but nothing to rate it by.
      expect((await store.cveMetrics!("CVE-2022-28347"))[0]?.vectors).toEqual([]);

      const { findings } = await matchPackages(
        [pkg({ name: "example.com/xmlwrap", version: "v1.0.0", type: "golang", ecosystem: "Go" })],
        store,
      );
      // CISA's vector: base 7.5 per the record → high, and the finding names the ADP as the rater.
      expect(adpMetric.baseScore).toBe(7.5);
      expect(findings.map((f) => [f.id, f.severity, f.severitySource])).toEqual([["CVE-2024-25062", "high", "adp"]]);
    } finally {
      await store.close();
    }
  });

  it("a second update with unchanged ETags downloads nothing", async () => {
    const result = await update();
    expect(paths()).toEqual([["/cvelistV5/releases/latest", 304]]);
    expect(result.unchanged).toContain("cve5");
    const store = await openDatabase(dbDir);
    try {
      expect((await store.cveMetrics!("CVE-2024-25062"))[0]?.vectors).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it("a new hourly release costs only its delta", async () => {
    await delta("cve_2025-05-08_1500Z", "2025-05-08_delta_CVEs_at_1500Z.zip", ["CVE-2024-25062", "CVE-2024-0001"]);
    release("cve_2025-05-08_1500Z", ["2025-05-08_all_CVEs_at_midnight.zip.zip", "2025-05-08_delta_CVEs_at_1500Z.zip"]);
    const result = await update();
    expect(paths()).toEqual([
      ["/cvelistV5/releases/latest", 200],
      ["/cvelistV5/releases/download/cve_2025-05-08_1500Z/2025-05-08_delta_CVEs_at_1500Z.zip", 200],
    ]);
    expect(result.refreshed).toContain("cve5");
    const store = await openDatabase(dbDir);
    try {
      // Carried from the baseline and refreshed by the delta alike.
      for (const id of ["CVE-2022-28347", "CVE-2024-0001", "CVE-2024-25062"]) {
        expect(await store.cveMetrics!(id)).toHaveLength(1);
      }
    } finally {
      await store.close();
    }
  });

  it("a new day is caught up with the missed end-of-day delta, not a new baseline", async () => {
    await delta("cve_2025-05-08_at_end_of_day", "2025-05-08_delta_CVEs_at_end_of_day.zip", ["CVE-2024-0001"]);
    await baseline("cve_2025-05-09_0100Z", "2025-05-09", ["CVE-2022-28347", "CVE-2024-0001", "CVE-2024-25062"]);
    await delta("cve_2025-05-09_0100Z", "2025-05-09_delta_CVEs_at_0100Z.zip", ["CVE-2024-25062"]);
    release("cve_2025-05-09_0100Z", ["2025-05-09_all_CVEs_at_midnight.zip.zip", "2025-05-09_delta_CVEs_at_0100Z.zip"]);
    await update();
    expect(paths()).toEqual([
      ["/cvelistV5/releases/latest", 200],
      ["/cvelistV5/releases/download/cve_2025-05-08_at_end_of_day/2025-05-08_delta_CVEs_at_end_of_day.zip", 200],
      ["/cvelistV5/releases/download/cve_2025-05-09_0100Z/2025-05-09_delta_CVEs_at_0100Z.zip", 200],
    ]);
    const store = await openDatabase(dbDir);
    try {
      expect(await store.cveMetrics!("CVE-2022-28347")).toHaveLength(1);
      expect((await store.cveMetrics!("CVE-2024-0001"))[0]?.vectors).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it("db build --from reads the same release assets (a mirrored baseline and delta)", async () => {
    const built = path.join(work, "built");
    const metadata = await buildDatabase({
      from: [
        path.join(work, "2025-05-08_all_CVEs_at_midnight.zip.zip"),
        path.join(work, "2025-05-08_delta_CVEs_at_1400Z.zip"),
      ],
      dbDir: built,
    });
    expect(metadata.sources.map((s) => s.name)).toEqual(["cve5"]);
    const store = await openDatabase(built);
    try {
      for (const id of ["CVE-2022-28347", "CVE-2024-0001", "CVE-2024-25062"]) {
        expect(await store.cveMetrics!(id)).toHaveLength(1);
      }
    } finally {
      await store.close();
    }
  });

  it("a gap longer than the catch-up window takes the baseline again", async () => {
    await baseline("cve_2025-06-30_0100Z", "2025-06-30", ["CVE-2024-0001"]);
    release("cve_2025-06-30_0100Z", ["2025-06-30_all_CVEs_at_midnight.zip.zip"]);
    await update();
    expect(paths()).toEqual([
      ["/cvelistV5/releases/latest", 200],
      ["/cvelistV5/releases/download/cve_2025-06-30_0100Z/2025-06-30_all_CVEs_at_midnight.zip.zip", 200],
    ]);
    const store = await openDatabase(dbDir);
    try {
      // A baseline replaces the source: CVEs it no longer lists are gone.
      expect(await store.cveMetrics!("CVE-2024-25062")).toEqual([]);
      expect(await store.cveMetrics!("CVE-2024-0001")).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it("a record rejected in a delta withdraws the CVE's vectors", async () => {
    // The real record as the CVE List shows a rejection: state REJECTED, a later dateUpdated (synthetic edit).
    const record = JSON.parse(fixture("CVE-2024-0001").toString("utf8")) as {
      cveMetadata: Record<string, unknown>;
      containers: Record<string, unknown>;
    };
    record.cveMetadata = { ...record.cveMetadata, state: "REJECTED", dateUpdated: "2099-01-01T00:00:00.000Z" };
    record.containers = { cna: { rejectedReasons: [{ lang: "en", value: "test" }] } };
    await deltaOf("cve_2025-06-30_0200Z", "2025-06-30_delta_CVEs_at_0200Z.zip", [
      { name: "deltaCves/CVE-2024-0001.json", data: Buffer.from(JSON.stringify(record)) },
    ]);
    release("cve_2025-06-30_0200Z", ["2025-06-30_all_CVEs_at_midnight.zip.zip", "2025-06-30_delta_CVEs_at_0200Z.zip"]);
    await update();
    expect(paths()).toEqual([
      ["/cvelistV5/releases/latest", 200],
      ["/cvelistV5/releases/download/cve_2025-06-30_0200Z/2025-06-30_delta_CVEs_at_0200Z.zip", 200],
    ]);
    const store = await openDatabase(dbDir);
    try {
      expect((await store.cveMetrics!("CVE-2024-0001"))[0]?.vectors).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("sends a GitHub token only to api.github.com over https, never to a mirror", () => {
    const env = { GITHUB_TOKEN: "t0ken" };
    expect(
      githubAuthHeaders(new URL("https://api.github.com/repos/CVEProject/cvelistV5/releases/latest"), env),
    ).toEqual({
      Authorization: "Bearer t0ken",
    });
    expect(githubAuthHeaders(new URL(`${base}cvelistV5/releases/latest`), env)).toEqual({});
    expect(githubAuthHeaders(new URL("http://api.github.com/x"), env)).toEqual({});
    expect(githubAuthHeaders(new URL("https://api.github.com/x"), {})).toEqual({});
  });
});
