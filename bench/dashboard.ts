/**
 * `npm run bench`: requests per second and latency percentiles of the dashboard's read-model
 * endpoints (docs/dashboard.md), loopback only. The store holds BENCH_IMAGES copies (default 200)
 * of the demo image's real scan result (examples/demo with its database) under distinct digests,
 * tagged across 20 repositories, after a scan run and a rescan run. The load comes from a worker
 * thread (keep-alive, BENCH_CONNECTIONS concurrent requests, default 10) for BENCH_SECONDS per
 * endpoint (default 5) after a warm-up. Each image runs in one workload of a recorded cluster
 * inventory (three clusters, one digest in five never scanned), so the overview's running counts
 * and the CVE's running containers are part of the load. Prints a table; numbers are measurements
 * of this machine.
 */
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { recordResult } from "../core/src/inventory/record.js";
import { scan } from "../core/src/scan.js";
import { createDashboardHandler } from "../core/src/service/dashboard/index.js";
import { openStore, recordClusterWorkloads } from "../core/src/store/index.js";

const root = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const IMAGES = Number(process.env.BENCH_IMAGES ?? 200);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

/** The load generator: runs in a worker so the server's event loop is not shared with the client's. */
const LOAD = `
const { parentPort, workerData } = require("node:worker_threads");
const http = require("node:http");
const agent = new http.Agent({ keepAlive: true, maxSockets: workerData.connections });
function get(url) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    http.get(url, { agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    }).on("error", reject);
  });
}
(async () => {
  const { url, seconds, connections } = workerData;
  const times = [];
  let failed = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: connections }, async () => {
    while (Date.now() < end) {
      const { status, ms } = await get(url);
      if (status !== 200) failed += 1;
      times.push(ms);
    }
  }));
  agent.destroy();
  parentPort.postMessage({ times, failed });
})();
`;

function load(url: string, seconds: number): Promise<{ times: number[]; failed: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD, { eval: true, workerData: { url, seconds, connections: CONNECTIONS } });
    worker.once("message", resolve);
    worker.once("error", reject);
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

const dir = mkdtempSync(path.join(os.tmpdir(), "stowaway-bench-dashboard-"));
try {
  const store = await openStore(path.join(dir, "inventory.sqlite"));
  const result = await scan(`oci-archive:${path.join(root, "examples/demo/demo-image.oci.tar")}`, {
    database: path.join(root, "examples/demo/db"),
    cacheDir: false,
  });
  const at = new Date().toISOString();
  for (const [id, kind] of [
    ["bench-scan", "scan"],
    ["bench-rescan", "rescan"],
  ] as const) {
    await store.startRun({ id, kind, target: kind === "scan" ? "bench.example" : "", startedAt: at });
    for (let index = 0; index < IMAGES; index += 1) {
      const digest = `sha256:${index.toString(16).padStart(64, "0")}`;
      const previous = await store.getImage(digest);
      await recordResult(store, id, digest, result, previous, at);
      if (kind === "scan") {
        await store.recordSighting(
          { registry: "bench.example", repository: `team/app${index % 20}`, tag: `v${index}`, digest },
          at,
        );
      }
    }
    await store.finishRun(id, at, { images: IMAGES, failed: 0, newFindings: 0, fixedFindings: 0, newlyFixable: 0 });
  }
  await recordClusterWorkloads(
    store,
    Array.from({ length: IMAGES }, (_, index) => ({
      cluster: `prod-${index % 3}`,
      namespace: `team${index % 20}`,
      workload: `Deployment/app${index}`,
      container: "app",
      image: `bench.example/team/app${index % 20}:v${index}`,
      // Every fifth a digest no scan stored.
      digest: `sha256:${(index % 5 === 4 ? index + 1_000_000 : index).toString(16).padStart(64, "0")}`,
    })),
    at,
  );

  const handler = createDashboardHandler({ store });
  const server = http.createServer((req, res) => {
    void handler(req, res).then((handled) => {
      if (!handled) {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const endpoints = [
    "/api/v1/overview",
    "/api/v1/images?limit=50",
    "/api/v1/images?severity=critical&q=app7&limit=50",
    `/api/v1/images/sha256:${"0".repeat(64)}/summary`,
    "/api/v1/cves/CVE-2023-45803",
    "/api/v1/registries/summary",
  ];
  console.log(
    `dashboard read model: ${IMAGES} images, ${CONNECTIONS} connections, ${SECONDS} s per endpoint, ${os.cpus().length} CPUs`,
  );
  console.log(
    ["endpoint".padEnd(52), "req/s".padStart(8), "p50 ms".padStart(8), "p99 ms".padStart(8), "errors"].join(" "),
  );
  for (const endpoint of endpoints) {
    await load(`${base}${endpoint}`, 1); // warm-up: the snapshot is read, the JIT settles
    const { times, failed } = await load(`${base}${endpoint}`, SECONDS);
    const sorted = times.sort((a, b) => a - b);
    console.log(
      [
        endpoint.padEnd(52),
        (times.length / SECONDS).toFixed(0).padStart(8),
        percentile(sorted, 0.5).toFixed(1).padStart(8),
        percentile(sorted, 0.99).toFixed(1).padStart(8),
        String(failed),
      ].join(" "),
    );
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
