import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openDatabase, updateDatabase, VulnDbError } from "../../src/index.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { tempDir } from "../helpers/temp-dir.js";

interface NvdPage {
  format: string;
  version: string;
  timestamp: string;
  vulnerabilities: { cve: { id: string; lastModified: string } }[];
}

interface Seen {
  path: string;
  params: Record<string, string>;
  apiKey?: string;
  at: number;
  status: number;
}

const DAY = 24 * 60 * 60 * 1000;
const KEY = "nvd-key-0123456789abcdef";
// NVD's documented date form; lastModified in the samples has no zone and is UTC.
const parseNvd = (text: string) => Date.parse(/[Z+]/.test(text.slice(19)) ? text : `${text}Z`);

describeWithShared("db update fetches the NVD CVE API 2.0 from a local server serving the real sample page", () => {
  const page = JSON.parse(readFileSync(sharedPath("vulns/nvd-api-2.0/full-page.json"), "utf8")) as NvdPage;
  const seen: Seen[] = [];
  let failNext: number[] = [];
  let alwaysFail = false;
  let server: http.Server;
  let base: string;
  const work = tempDir("stowaway-nvd-update-");
  const dbDir = path.join(work, "db");
  const lines: string[] = [];
  const tuning = { resultsPerPage: 10, rateLimit: { requests: 2, windowMs: 400 }, backoffMs: [50] };
  const env = { NO_PROXY: "", HTTPS_PROXY: "", HTTP_PROXY: "", STOWAWAY_NVD_API_KEY: KEY };

  beforeAll(async () => {
    // Behaves as the NVD API documents: lastMod window filter, startIndex/resultsPerPage paging, totalResults.
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      const params = Object.fromEntries(url.searchParams);
      const record = (status: number) =>
        seen.push({
          path: url.pathname,
          params,
          ...(typeof req.headers.apikey === "string" ? { apiKey: req.headers.apikey } : {}),
          at: Date.now(),
          status,
        });
      if (alwaysFail || failNext.includes(seen.length)) {
        record(503);
        res.writeHead(503, { "retry-after": "0" }).end("try later");
        return;
      }
      if (url.pathname !== "/nvd/cves/2.0") {
        record(404);
        res.writeHead(404).end();
        return;
      }
      let items = page.vulnerabilities;
      if (params.lastModStartDate) {
        const start = Date.parse(params.lastModStartDate);
        const end = Date.parse(params.lastModEndDate!);
        items = items.filter((v) => parseNvd(v.cve.lastModified) >= start && parseNvd(v.cve.lastModified) <= end);
      }
      const startIndex = Number(params.startIndex ?? 0);
      const perPage = Number(params.resultsPerPage ?? 2000);
      const slice = items.slice(startIndex, startIndex + perPage);
      record(200);
      const body = JSON.stringify({
        resultsPerPage: slice.length,
        startIndex,
        totalResults: items.length,
        format: page.format,
        version: page.version,
        timestamp: page.timestamp,
        vulnerabilities: slice,
      });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const run = (now: Date, extra: Partial<Parameters<typeof updateDatabase>[0]> = {}) =>
    updateDatabase({
      dbDir,
      mirrors: [base],
      kev: false,
      epss: false,
      nvd: true,
      env,
      now,
      nvdTuning: tuning,
      warn: (line) => lines.push(line),
      log: (line) => lines.push(line),
      ...extra,
    });

  it("first run: pages through every CVE, retries a 503, keeps to the rate limit, sends the key only as a header", async () => {
    const first = new Date("2023-09-01T00:00:00Z");
    failNext = [1]; // the second request gets one 503
    const result = await run(first);
    failNext = [];
    const total = page.vulnerabilities.length;
    const pages = Math.ceil(total / 10);
    const ok = seen.filter((s) => s.status === 200);
    expect(ok.map((s) => [s.params.startIndex, s.params.resultsPerPage])).toEqual(
      Array.from({ length: pages }, (_, i) => [String(i * 10), "10"]),
    );
    expect(seen.filter((s) => s.status === 503)).toHaveLength(1);
    expect(seen.every((s) => s.params.lastModStartDate === undefined)).toBe(true);
    expect(seen.every((s) => s.apiKey === KEY)).toBe(true);
    expect(seen.every((s) => !Object.values(s.params).includes(KEY))).toBe(true);
    // Never more than 2 requests in any 400 ms: every third request starts >= 400 ms after the first.
    // (The first request is skipped: its arrival is delayed by the HTTP client's lazy loading, not by the limiter.)
    for (let i = 3; i < seen.length; i++) expect(seen[i]!.at - seen[i - 2]!.at).toBeGreaterThanOrEqual(380);
    expect(result.refreshed).toContain("nvd");
    expect(result.metadata.cveMetrics).toBe(total);
    const nvd = result.metadata.sources.find((s) => s.name === "nvd")!;
    expect(nvd.url).toBe(`${base}nvd/cves/2.0`);
    expect(nvd.fetchedAt).toBe(first.toISOString());
    expect(JSON.stringify(result.metadata)).not.toContain(KEY);
    expect(lines.join("\n")).not.toContain(KEY);
    expect(lines.join("\n")).toMatch(/503/);
    const store = await openDatabase(dbDir);
    try {
      const [metrics] = await store.cveMetrics!(page.vulnerabilities[0]!.cve.id);
      expect(metrics!.modified).toBe(page.vulnerabilities[0]!.cve.lastModified);
    } finally {
      await store.close();
    }
  });

  it("next run: only what changed since, in contiguous lastModified windows of at most 120 days", async () => {
    seen.length = 0;
    const previous = new Date("2023-09-01T00:00:00Z");
    const now = new Date(previous.getTime() + 300 * DAY);
    const result = await run(now);
    const windows = [...new Set(seen.map((s) => `${s.params.lastModStartDate}|${s.params.lastModEndDate}`))].map((w) =>
      w.split("|").map((d) => Date.parse(d)),
    );
    expect(windows.length).toBe(3);
    expect(windows[0]![0]).toBe(previous.getTime());
    expect(windows.at(-1)![1]).toBe(now.getTime());
    for (let i = 0; i < windows.length; i++) {
      expect(windows[i]![1]! - windows[i]![0]!).toBeLessThanOrEqual(120 * DAY);
      if (i > 0) expect(windows[i]![0]).toBe(windows[i - 1]![1]);
    }
    // The sample's CVEs were modified in October 2023, i.e. in the first window, over 4 pages of 10.
    expect(
      seen.filter((s) => s.params.lastModStartDate === new Date(previous).toISOString().replace("Z", "+00:00")),
    ).toHaveLength(4);
    expect(result.metadata.cveMetrics).toBe(page.vulnerabilities.length);
    expect(result.metadata.sources.find((s) => s.name === "nvd")!.fetchedAt).toBe(now.toISOString());
  });

  it("leaves the database as it was when NVD cannot be reached, and says why in one line", async () => {
    const current = readFileSync(path.join(dbDir, "CURRENT"), "utf8");
    alwaysFail = true;
    try {
      const failure = await run(new Date("2024-08-01T00:00:00Z"), { nvdTuning: { ...tuning, backoffMs: [] } }).catch(
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(VulnDbError);
      expect((failure as Error).message).toMatch(/^nvd: no mirror delivered the CVE API page \(.*HTTP 503/);
      expect((failure as Error).message).not.toContain(KEY);
    } finally {
      alwaysFail = false;
    }
    expect(readFileSync(path.join(dbDir, "CURRENT"), "utf8")).toBe(current);
  });
});
