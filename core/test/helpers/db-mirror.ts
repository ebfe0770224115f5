import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { gzipSync } from "node:zlib";
import { writeZip } from "../vulndb/helpers.js";

/**
 * A vulnerability-database mirror on 127.0.0.1 for CI tests that start from an empty runner: it
 * serves `<ECOSYSTEM>/all.zip` for the demo image's ecosystems, the CISA KEV catalog and EPSS scores,
 * as `stowaway db update --mirror` expects them. The feeds are built here from OSV records written
 * for the demo image's packages (independent of examples/demo/db), so the expected verdict is known:
 *
 * - urllib3 1.26.4 (PyPI): CRITICAL (CVSS 3.1 base 9.8), fixed in 1.26.5 -> the default gate fails;
 * - cryptography 3.3.1 (PyPI): MEDIUM (CVSS 3.1 base 5.3), fixed in 39.0.1;
 * - Debian, npm, crates.io: one record each for packages the image does not have.
 *
 * The server runs in a worker thread, so harnesses that spawn adapters synchronously (spawnSync)
 * still get answers.
 */
export const MIRROR_EXPECTED = {
  critical: ["OSV-2099-0001"],
  medium: ["OSV-2099-0002"],
  /** The outcome every adapter must report for the demo image under the default gate (critical). */
  outcome: "fail",
} as const;

const CRITICAL_VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
const MEDIUM_VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N";

function record(id: string, ecosystem: string, name: string, fixed: string, vector?: string) {
  return {
    schema_version: "1.6.0",
    id,
    modified: "2024-06-01T00:00:00Z",
    summary: `test advisory for ${name}`,
    ...(vector ? { severity: [{ type: "CVSS_V3", score: vector }] } : {}),
    affected: [
      { package: { ecosystem, name }, ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed }] }] },
    ],
  };
}

const FEEDS: Record<string, ReturnType<typeof record>[]> = {
  PyPI: [
    record(MIRROR_EXPECTED.critical[0], "PyPI", "urllib3", "1.26.5", CRITICAL_VECTOR),
    record(MIRROR_EXPECTED.medium[0], "PyPI", "cryptography", "39.0.1", MEDIUM_VECTOR),
  ],
  Debian: [record("OSV-2099-0003", "Debian:12", "no-such-debian-package", "1.0")],
  npm: [record("OSV-2099-0004", "npm", "no-such-npm-package", "1.0.0")],
  "crates.io": [record("OSV-2099-0005", "crates.io", "no-such-crate", "1.0.0")],
};

/** The bundled demo database (examples/demo/db), compiled from real advisories by build-demo-image.ts. */
const DEMO_DB = fileURLToPath(new URL("../../../examples/demo/db", import.meta.url));

/**
 * The demo image's verdict against the demo database, from examples/demo/NOTICE.md and README (the
 * 35 Python findings, each rated by its GitHub-reviewed advisory), not from the code under test.
 */
export const DEMO_EXPECTED = {
  outcome: "fail",
  counts: { critical: 9, high: 12, medium: 13, low: 1, negligible: 0, unknown: 0 },
} as const;

/**
 * The OSV records of examples/demo/db, grouped into the feeds a mirror serves (`PyPI`, `Debian`):
 * a loopback mirror of the demo database, so a runner that provisions its own database from the
 * mirror gets exactly the demo's records. npm and crates.io feeds are served empty-handed with one
 * unrelated record each, since the demo image has packages of those ecosystems too.
 */
export function demoDbFeeds(): Record<string, object[]> {
  const current = readFileSync(path.join(DEMO_DB, "CURRENT"), "utf8").trim();
  const recordsDir = path.join(DEMO_DB, current, "records");
  const feeds: Record<string, object[]> = {
    npm: FEEDS.npm!,
    "crates.io": FEEDS["crates.io"]!,
  };
  for (const file of readdirSync(recordsDir).sort()) {
    for (const line of readFileSync(path.join(recordsDir, file), "utf8").split("\n")) {
      if (!line.trim()) continue;
      const item = JSON.parse(line) as { affected?: { package?: { ecosystem?: string } }[] };
      const ecosystem = item.affected?.[0]?.package?.ecosystem?.split(":")[0];
      if (!ecosystem) continue;
      (feeds[ecosystem] ??= []).push(item);
    }
  }
  return feeds;
}

export interface DbMirror {
  url: string;
  /** Requests served so far (any path, any status). */
  requests(): number;
  close(): Promise<void>;
}

const WORKER = `
const http = require("node:http");
const { parentPort, workerData } = require("node:worker_threads");
const files = new Map(Object.entries(workerData.files).map(([k, v]) => [k, Buffer.from(v)]));
const counter = new Int32Array(workerData.counter);
const limited = new Set();
const server = http.createServer((req, res) => {
  Atomics.add(counter, 0, 1);
  const url = (req.url || "").split("?")[0];
  if (workerData.rateLimitFirst && !limited.has(url)) {
    limited.add(url);
    res.writeHead(429, { "retry-after": "1" }).end();
    return;
  }
  if (workerData.status) { res.writeHead(workerData.status).end(); return; }
  const body = files.get(decodeURIComponent(url));
  if (body) res.writeHead(200, { "content-length": String(body.length) }).end(body);
  else res.writeHead(404).end();
});
server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));
parentPort.on("message", (message) => { if (message === "close") server.close(() => process.exit(0)); });
`;

/**
 * Starts the mirror (by default with the synthetic FEEDS above; `feeds: demoDbFeeds()` mirrors the
 * demo database instead). `rateLimitFirst`: answer each path's first request with 429 and Retry-After: 1
 * (a busy mirror); `status`: answer everything with this status (a broken one).
 */
export async function startDbMirror(
  options: { rateLimitFirst?: boolean; status?: number; feeds?: Record<string, object[]> } = {},
): Promise<DbMirror> {
  const work = mkdtempSync(path.join(os.tmpdir(), "stowaway-mirror-"));
  const files: Record<string, Uint8Array> = {};
  try {
    for (const [ecosystem, records] of Object.entries(options.feeds ?? FEEDS)) {
      const zip = path.join(work, `${ecosystem}.zip`);
      const names = new Set<string>();
      await writeZip(
        zip,
        records.map((item, index) => {
          // One member per record: the same id can appear under two Debian releases.
          let name = `${(item as { id?: string }).id ?? index}.json`;
          if (names.has(name)) name = `${index}-${name}`;
          names.add(name);
          return { name, data: Buffer.from(JSON.stringify(item)) };
        }),
      );
      files[`/${ecosystem}/all.zip`] = readFileSync(zip);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  files["/cisa-kev/known_exploited_vulnerabilities.json"] = Buffer.from(
    JSON.stringify({ catalogVersion: "2024.06.01", count: 0, vulnerabilities: [] }),
  );
  files["/epss/epss_scores-current.csv.gz"] = gzipSync("#model_version:v2024.06.01\ncve,epss,percentile\n");
  const counter = new SharedArrayBuffer(4);
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { files, counter, rateLimitFirst: options.rateLimitFirst ?? false, status: options.status ?? 0 },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  const count = new Int32Array(counter);
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => Atomics.load(count, 0),
    close: async () => {
      worker.postMessage("close");
      await new Promise((resolve) => worker.once("exit", resolve));
    },
  };
}

/** Environment for a child that must reach only the loopback mirror (no proxy detour). */
export const NO_PROXY_ENV = { HTTPS_PROXY: "", HTTP_PROXY: "", https_proxy: "", http_proxy: "", NO_PROXY: "" };
