/**
 * `npm run bench`: a bounded loopback load test of the service's read endpoints. A real
 * `stowaway serve` process (SQLite store, demo image scanned through its worker) answers
 * autocannon from this process over 127.0.0.1; each endpoint gets BENCH_SERVICE_SECONDS (default 5)
 * with BENCH_SERVICE_CONNECTIONS (default 10) connections. Prints req/s and p99 latency against the
 * targets (>= 500 req/s, p99 < 100 ms); numbers are measurements of this machine, not assertions.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p99: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (
  options: { url: string; connections: number; duration: number; headers: Record<string, string> },
  done: (error: Error | null, result: AutocannonResult) => void,
) => unknown;

const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;
const root = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const cli = path.join(root, "cli/dist/main.js");
const demoArchive = path.join(root, "examples/demo/demo-image.oci.tar");
const demoDb = path.join(root, "examples/demo/db");
const SECONDS = Number(process.env.BENCH_SERVICE_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_SERVICE_CONNECTIONS ?? 10);

function load(url: string, token: string): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    autocannon(
      { url, connections: CONNECTIONS, duration: SECONDS, headers: { authorization: `Bearer ${token}` } },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), "stowaway-bench-service-"));
  const store = path.join(work, "store.sqlite");
  const env = { PATH: process.env.PATH, HOME: work };
  const created = spawnSync(process.execPath, [cli, "serve", "token", "create", "--scope", "write", "--store", store], {
    encoding: "utf8",
    env,
  });
  if (created.status !== 0) throw new Error(`token create failed: ${created.stderr}`);
  const token = created.stdout.trim();
  const server = spawn(
    process.execPath,
    [
      cli,
      "serve",
      ...["--store", store, "--listen", "127.0.0.1:0", "--db", demoDb, "--allow-local-images"],
      // The load test measures throughput, not the per-token limit.
      ...["--rate-limit", "1000000"],
    ],
    { env, stdio: ["ignore", "ignore", "pipe"] },
  );
  try {
    let log = "";
    const base = await new Promise<string>((resolve, reject) => {
      server.stderr.on("data", (chunk: Buffer) => {
        log += chunk.toString("utf8");
        const match = /listening on (http:\/\/\S+)/.exec(log);
        if (match) resolve(match[1]!);
      });
      server.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${log}`)));
    });
    // Quiet the access log from here on: the pipe is drained but not kept.
    server.stderr.removeAllListeners("data");
    server.stderr.resume();
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const submitted = (await (
      await fetch(`${base}/api/v1/scans`, {
        method: "POST",
        headers,
        body: JSON.stringify({ reference: `oci-archive:${demoArchive}` }),
      })
    ).json()) as { id: string };
    let digest = "";
    for (let tries = 0; tries < 600 && !digest; tries += 1) {
      const job = (await (await fetch(`${base}/api/v1/jobs/${submitted.id}`, { headers })).json()) as {
        state: string;
        output?: { digest?: string };
        error?: string;
      };
      if (job.state === "failed") throw new Error(`demo scan failed: ${job.error}`);
      if (job.state === "succeeded") digest = String(job.output?.digest);
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await fetch(`${base}/api/v1/registries`, {
      method: "POST",
      headers,
      body: JSON.stringify({ host: "registry.example.com", prefix: "team" }),
    });
    const endpoints = [
      "/healthz",
      `/api/v1/jobs/${submitted.id}`,
      "/api/v1/registries",
      `/api/v1/results/${digest}`,
      `/api/v1/results/${digest}?format=sarif`,
      // The dashboard's read model, when it is merged in (skipped while it answers 404).
      "/api/v1/overview",
      "/api/v1/images",
    ];
    console.log(
      `service read endpoints: ${CONNECTIONS} connections, ${SECONDS} s each, loopback (${os.cpus().length} cores)`,
    );
    console.log("endpoint".padEnd(62) + "req/s".padStart(9) + "p99 ms".padStart(9) + "errors".padStart(8) + "  target");
    for (const endpoint of endpoints) {
      const probe = await fetch(`${base}${endpoint}`, { headers });
      await probe.arrayBuffer();
      if (probe.status === 404) {
        console.log(`${endpoint.padEnd(62)}   (not served here: 404)`);
        continue;
      }
      const result = await load(`${base}${endpoint}`, token);
      const ok = result.requests.average >= 500 && result.latency.p99 < 100;
      const errors = result.errors + result.timeouts + result.non2xx;
      console.log(
        endpoint.replace(digest, "{digest}").padEnd(62) +
          result.requests.average.toFixed(0).padStart(9) +
          result.latency.p99.toFixed(1).padStart(9) +
          String(errors).padStart(8) +
          `  ${ok ? "met" : "MISSED"} (>= 500 req/s, p99 < 100 ms)`,
      );
    }
  } finally {
    server.kill("SIGTERM");
    await new Promise((resolve) => server.once("exit", resolve));
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
