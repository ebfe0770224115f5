import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InProcessQueue } from "../../src/jobs/in-process.js";
import { createJobRunner } from "../../src/jobs/run.js";
import { Scheduler } from "../../src/jobs/schedules.js";
import type { JobStatus } from "../../src/jobs/types.js";
import { startService, type RunningService } from "../../src/service/server.js";
import { createApiToken } from "../../src/service/tokens.js";
import { openServiceStore } from "../../src/store/index.js";
import type { ServiceStore } from "../../src/store/service-state.js";
import { compileSarif, cycloneDx16Validator, errorsOf } from "../helpers/schema.js";
import { HAS_SHARED } from "../helpers/shared.js";
import { tempDir } from "../helpers/temp-dir.js";
import { HOSTILE, unsafeLines } from "../helpers/log-safety.js";

const root = path.resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const demoArchive = path.join(root, "examples/demo/demo-image.oci.tar");
const demoDb = path.join(root, "examples/demo/db");
// The demo's findings (examples/demo/db): 9 critical, 12 high, 13 medium, 1 low.
const DEMO_COUNTS = { critical: 9, high: 12, medium: 13, low: 1 };

describe("stowaway serve on a SQLite store (in-process queue)", () => {
  let dir: string;
  let storeFile: string;
  let store: ServiceStore;
  let queue: InProcessQueue;
  let service: RunningService;
  let write: string;
  let read: string;
  const logLines: string[] = [];

  async function startAll(): Promise<void> {
    store = await openServiceStore(storeFile);
    queue = new InProcessQueue(store, { retry: { retryDelaySeconds: 0.05 }, pollMs: 50 });
    await queue.work(createJobRunner({ store, database: demoDb, cacheDir: path.join(dir, "cache") }), {
      concurrency: 2,
    });
    service = await startService({
      store,
      queue,
      listen: "127.0.0.1:0",
      allowLocalImages: true,
      maxBodyBytes: 4 * 1024 * 1024,
      rateLimit: { perSecond: 1000, burst: 1000 },
      log: (line) => logLines.push(line),
    });
  }

  async function stopAll(): Promise<void> {
    await service.close();
    await queue.stop();
    await store.close();
  }

  beforeAll(async () => {
    dir = tempDir("stowaway-serve-");
    storeFile = path.join(dir, "store.sqlite");
    store = await openServiceStore(storeFile);
    write = (await createApiToken(store, { scope: "write", name: "ci" })).token;
    read = (await createApiToken(store, { scope: "read" })).token;
    await store.close();
    await startAll();
  });
  afterAll(async () => {
    await stopAll();
  });

  const call = (
    pathname: string,
    init: { method?: string; token?: string | null; body?: string; type?: string; accept?: string } = {},
  ) => {
    const headers: Record<string, string> = {};
    const token = init.token === undefined ? write : init.token;
    if (token) headers["authorization"] = `Bearer ${token}`;
    if (init.body !== undefined) headers["content-type"] = init.type ?? "application/json";
    if (init.accept) headers["accept"] = init.accept;
    return fetch(`${service.url}${pathname}`, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
  };

  async function waitForJob(id: string, token = read): Promise<JobStatus> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const job = (await (await call(`/api/v1/jobs/${id}`, { token })).json()) as JobStatus;
      if (job.state === "succeeded" || job.state === "failed") return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  let digest: string;

  it("queues a scan of the demo image, runs it on the worker and serves the result by digest", async () => {
    const response = await call("/api/v1/scans", { body: JSON.stringify({ reference: `oci-archive:${demoArchive}` }) });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { id: string; location: string };
    expect(response.headers.get("location")).toBe(accepted.location);
    const job = await waitForJob(accepted.id);
    expect(job.state, job.error).toBe("succeeded");
    expect(job.attempts).toBe(1);
    expect(job.output?.["counts"]).toMatchObject(DEMO_COUNTS);
    digest = String(job.output?.["digest"]);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const result = await call(`/api/v1/results/${encodeURIComponent(digest)}`, { token: read });
    expect(result.status).toBe(200);
    expect(result.headers.get("content-type")).toBe("application/json");
    const document = (await result.json()) as {
      artifact: { manifestDigest: string };
      findings: { severity: string }[];
    };
    expect(document.artifact.manifestDigest).toBe(digest);
    expect(document.findings.filter((finding) => finding.severity === "critical")).toHaveLength(DEMO_COUNTS.critical);
  });

  it("serves the dashboard and its read model through the real service, agreeing with the stored result", async () => {
    // The page shell is public; its data calls are authenticated like every other /api route.
    const page = await call("/", { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toBeTruthy();
    expect((await call("/api/v1/overview", { token: null })).status).toBe(401);
    const summary = await call(`/api/v1/images/${encodeURIComponent(digest)}/summary`, { token: read });
    expect(summary.status).toBe(200);
    const findings = ((await summary.json()) as { findings: { severity: string }[] }).findings;
    const bySeverity = (severity: string) => findings.filter((finding) => finding.severity === severity).length;
    expect({
      critical: bySeverity("critical"),
      high: bySeverity("high"),
      medium: bySeverity("medium"),
      low: bySeverity("low"),
    }).toEqual(DEMO_COUNTS);
    // The Django SQL injection (CVE-2022-28347) is in the demo: the CVE page's endpoint finds this image.
    const cve = await call("/api/v1/cves/CVE-2022-28347", { token: read });
    expect(cve.status).toBe(200);
    const exposure = (await cve.json()) as { images: { digest: string }[] };
    expect(exposure.images.map((image) => image.digest)).toContain(digest);
  });

  it.runIf(HAS_SHARED)(
    "renders the stored result as SARIF and CycloneDX that their official schemas accept",
    async () => {
      const sarif = await call(`/api/v1/results/${digest}`, { token: read, accept: "application/sarif+json" });
      expect(sarif.headers.get("content-type")).toBe("application/sarif+json");
      const validateSarif = compileSarif(path.join(root, "../shared/schemas/sarif/sarif-schema-2.1.0.json"));
      expect(validateSarif(await sarif.json()), errorsOf(validateSarif)).toBe(true);
      const cdx = await call(`/api/v1/results/${digest}?format=cyclonedx`, { token: read });
      const validateCdx = cycloneDx16Validator();
      expect(validateCdx(await cdx.json()), errorsOf(validateCdx)).toBe(true);
    },
  );

  it("negotiates the other report formats and refuses unknown ones", async () => {
    const html = await call(`/api/v1/results/${digest}`, { token: read, accept: "text/html" });
    expect(html.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await html.text()).toContain("<html");
    const junit = await call(`/api/v1/results/${digest}?format=junit`, { token: read });
    expect(await junit.text()).toMatch(/^<\?xml/);
    const table = await call(`/api/v1/results/${digest}?format=table`, { token: read });
    expect(await table.text()).toContain("CRITICAL");
    expect((await call(`/api/v1/results/${digest}?format=pdf`, { token: read })).status).toBe(400);
    expect((await call(`/api/v1/results/${digest}`, { token: read, accept: "image/png" })).status).toBe(406);
    const missing = await call(`/api/v1/results/sha256:${"0".repeat(64)}`, { token: read });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toBe("application/problem+json");
  });

  it("evaluates a policy sent in the body against the stored result without storing anything", async () => {
    const strict = "version: 1\ngate:\n  failOn: critical\n";
    const failing = await call(`/api/v1/results/${digest}/evaluate`, {
      token: read,
      body: JSON.stringify({ policy: strict }),
    });
    expect(failing.status).toBe(200);
    const verdict = (await failing.json()) as { verdict: { outcome: string; violations: unknown[] } };
    expect(verdict.verdict.outcome).toBe("fail");
    const lenient = await call(`/api/v1/results/${digest}/evaluate`, {
      token: read,
      body: JSON.stringify({ policy: { version: 1, gate: { failOn: "none" } } }),
    });
    expect(((await lenient.json()) as { verdict: { outcome: string } }).verdict.outcome).toBe("pass");
    const invalid = await call(`/api/v1/results/${digest}/evaluate`, {
      token: read,
      body: JSON.stringify({ policy: "version: 1\ngate:\n  failOn: catastrophic\n" }),
    });
    expect(invalid.status).toBe(422);
    expect(((await invalid.json()) as { detail: string }).detail).toContain("failOn");
  });

  it("accepts an uploaded CycloneDX SBOM as a scan", async () => {
    const bom = await (await call(`/api/v1/results/${digest}?format=cyclonedx`, { token: read })).text();
    const response = await call("/api/v1/scans", { body: bom, type: "application/vnd.cyclonedx+json" });
    expect(response.status).toBe(202);
    const job = await waitForJob(((await response.json()) as { id: string }).id);
    expect(job.state, job.error).toBe("succeeded");
    // The SBOM carries the same packages: the same findings come out of the same database.
    expect(job.output?.["counts"]).toMatchObject(DEMO_COUNTS);
    const garbage = await call("/api/v1/scans", { body: JSON.stringify({ sbom: { hello: "world" } }) });
    expect(garbage.status).toBe(422);
  });

  it("refuses missing, malformed, unknown, revoked and expired tokens, and writes with a read token", async () => {
    const none = await call("/api/v1/registries", { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect(((await none.json()) as { status: number }).status).toBe(401);
    expect((await call("/api/v1/registries", { token: "not-a-token" })).status).toBe(401);
    // Right shape and a real id, wrong secret.
    const forged = `${write.slice(0, 21)}${"A".repeat(43)}`;
    expect((await call("/api/v1/registries", { token: forged })).status).toBe(401);
    const expired = await createApiToken(store, { scope: "write", expiresAt: new Date(Date.now() - 1000) });
    const gone = await call("/api/v1/registries", { token: expired.token });
    expect(gone.status).toBe(401);
    expect(((await gone.json()) as { detail: string }).detail).toContain("expired");
    const revoked = await createApiToken(store, { scope: "read" });
    await store.revokeToken(revoked.record.id);
    expect((await call("/api/v1/registries", { token: revoked.token })).status).toBe(401);
    const forbidden = await call("/api/v1/registries", { token: read, body: JSON.stringify({ host: "r.example" }) });
    expect(forbidden.status).toBe(403);
    // Public endpoints need no token.
    expect((await call("/healthz", { token: null })).status).toBe(200);
    expect((await call("/readyz", { token: null })).status).toBe(200);
    // No secret in the log: only token ids.
    const log = logLines.join("\n");
    for (const secret of [write, read, forged, expired.token]) expect(log).not.toContain(secret.slice(21));
    expect(log).toContain(`token=${write.slice(4, 20)}`);
  });

  it("answers oversize, malformed, mistyped and unknown-field bodies with problem details", async () => {
    const big = await call("/api/v1/scans", { body: JSON.stringify({ reference: "x".repeat(5 * 1024 * 1024) }) });
    expect(big.status).toBe(413);
    expect(big.headers.get("content-type")).toBe("application/problem+json");
    const malformed = await call("/api/v1/scans", { body: '{"reference": ' });
    expect(malformed.status).toBe(400);
    const unknown = await call("/api/v1/scans", { body: JSON.stringify({ reference: "alpine:3.19", force: true }) });
    expect(unknown.status).toBe(422);
    const problem = (await unknown.json()) as { detail: string; errors: { pointer: string; detail: string }[] };
    expect(problem.errors).toContainEqual({ pointer: "/force", detail: 'unknown field "force"' });
    const mistyped = await call("/api/v1/registries", { body: JSON.stringify({ host: 5000 }) });
    expect(mistyped.status).toBe(422);
    const wrongType = await call("/api/v1/scans", {
      body: "reference=alpine",
      type: "application/x-www-form-urlencoded",
    });
    expect(wrongType.status).toBe(415);
    const both = await call("/api/v1/scans", { body: JSON.stringify({}) });
    expect(both.status).toBe(422);
    expect((await call("/api/v1/nothing-here")).status).toBe(404);
    expect((await call("/api/v1/scans")).status).toBe(405);
  });

  it("refuses local paths unless the service allows them, and neutralises what it logs", async () => {
    await service.close();
    service = await startService({ store, queue, listen: "127.0.0.1:0", log: (line) => logLines.push(line) });
    const local = await call("/api/v1/scans", { body: JSON.stringify({ reference: `oci-archive:${demoArchive}` }) });
    expect(local.status).toBe(422);
    await call(`/api/v1/${encodeURIComponent(HOSTILE.github + HOSTILE.ansi + HOSTILE.azure)}`);
    expect(unsafeLines(logLines.join("\n"))).toEqual([]);
  });

  it("keeps registries and schedules (CRUD) and turns a due schedule into a job", async () => {
    const created = await call("/api/v1/registries", {
      body: JSON.stringify({ host: "127.0.0.1:5999", prefix: "team", tags: "v*", insecure: true }),
    });
    expect(created.status).toBe(201);
    const registry = (await created.json()) as { id: string };
    expect(registry.id).toBe("127.0.0.1-5999-team");
    expect((await call("/api/v1/registries", { body: JSON.stringify({ id: registry.id, host: "x" }) })).status).toBe(
      409,
    );
    const replaced = await call(`/api/v1/registries/${registry.id}`, {
      method: "PUT",
      body: JSON.stringify({ host: "127.0.0.1:5999", prefix: "team", maxImages: 5 }),
    });
    expect(((await replaced.json()) as { maxImages: number }).maxImages).toBe(5);
    const list = (await (await call("/api/v1/registries", { token: read })).json()) as { items: { id: string }[] };
    expect(list.items.map((item) => item.id)).toEqual([registry.id]);

    const badCron = await call("/api/v1/schedules", { body: JSON.stringify({ kind: "rescan", cron: "every day" }) });
    expect(badCron.status).toBe(422);
    const orphan = await call("/api/v1/schedules", {
      body: JSON.stringify({ kind: "registry-scan", registryId: "nope", cron: "0 3 * * *" }),
    });
    expect(orphan.status).toBe(422);
    const daily = await call("/api/v1/schedules", {
      body: JSON.stringify({ id: "nightly", kind: "rescan", cron: "0 3 * * *" }),
    });
    expect(daily.status).toBe(201);
    const schedule = (await daily.json()) as { nextRun: string; lastFired: string };
    expect(new Date(schedule.nextRun).getUTCHours()).toBe(3);
    await call("/api/v1/schedules", {
      body: JSON.stringify({ id: "inventory", kind: "registry-scan", registryId: registry.id, cron: "*/5 * * * *" }),
    });

    // The clock moves past 03:00 the next day: exactly one rescan job, however often the scheduler ticks.
    const later = new Date(new Date(schedule.lastFired).getTime() + 26 * 3600_000);
    const scheduler = new Scheduler(store, queue, { now: () => later });
    const [first, second] = [await scheduler.tick(), await scheduler.tick()];
    expect(first).toHaveLength(2);
    expect(second).toHaveLength(0);
    const jobs = await Promise.all(first.map((id) => waitForJob(id)));
    const rescan = jobs.find((job) => job.kind === "rescan")!;
    expect(rescan.state, rescan.error).toBe("succeeded");
    // The registry does not exist: the job is retried with back-off, then fails with one clear line.
    const inventory = jobs.find((job) => job.kind === "registry-scan")!;
    expect(inventory.state).toBe("failed");
    expect(inventory.attempts).toBe(3);
    expect(inventory.error).toMatch(/127\.0\.0\.1:5999/);

    expect((await call(`/api/v1/registries/${registry.id}`, { method: "DELETE" })).status).toBe(204);
    // Its schedule went with it.
    const left = (await (await call("/api/v1/schedules", { token: read })).json()) as { items: { id: string }[] };
    expect(left.items.map((item) => item.id)).toEqual(["nightly"]);
    expect((await call("/api/v1/schedules/nightly", { method: "DELETE" })).status).toBe(204);
    expect((await call("/api/v1/schedules/nightly", { method: "DELETE" })).status).toBe(404);
  });

  it("exposes Prometheus metrics and resumes queued jobs after a restart", async () => {
    const metrics = await (await call("/metrics", { token: null })).text();
    expect(metrics).toMatch(
      /^stowaway_http_requests_total\{method="POST",route="\/api\/v1\/schedules",status="201"\} \d+$/m,
    );
    expect(metrics).toMatch(/^stowaway_jobs\{state="succeeded"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^stowaway_images_stored [1-9]\d*$/m);

    // A job queued while no worker runs survives a restart of the whole service and then runs.
    await queue.stop();
    const id = await queue.submit("scan", { reference: `oci-archive:${demoArchive}` });
    await stopAll();
    expect(existsSync(storeFile)).toBe(true);
    await startAll();
    const job = await waitForJob(id);
    expect(job.state, job.error).toBe("succeeded");
  });
});

describe("the dashboard handler inside the service", () => {
  it("is asked after authentication, before the API routes, and only for GET/HEAD", async () => {
    const dir = tempDir("stowaway-serve-dash-");
    const store = await openServiceStore(path.join(dir, "store.sqlite"));
    const { token } = await createApiToken(store, { scope: "read" });
    const queue = new InProcessQueue(store);
    const asked: string[] = [];
    const service = await startService({
      store,
      queue,
      listen: "127.0.0.1:0",
      dashboard: async (req, res) => {
        asked.push(`${req.method} ${req.url}`);
        if (req.url !== "/api/v1/registries/summary" && req.url !== "/") return false;
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"items":[]}');
        return true;
      },
    });
    try {
      const auth = { authorization: `Bearer ${token}` };
      expect((await fetch(`${service.url}/api/v1/registries/summary`)).status).toBe(401);
      expect(asked).toEqual([]);
      const summary = await fetch(`${service.url}/api/v1/registries/summary`, { headers: auth });
      expect(summary.status).toBe(200);
      expect(await summary.json()).toEqual({ items: [] });
      expect((await fetch(`${service.url}/`)).status).toBe(200);
      expect((await fetch(`${service.url}/api/v1/registries/other`, { headers: auth })).status).toBe(404);
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
      expect(asked).toEqual(["GET /api/v1/registries/summary", "GET /", "GET /api/v1/registries/other"]);
    } finally {
      await service.close();
      await store.close();
    }
  });
});

describe("rate limit and TLS", () => {
  it("answers 429 with Retry-After once a token's bucket is empty, per token", async () => {
    const dir = tempDir("stowaway-serve-limit-");
    const store = await openServiceStore(path.join(dir, "store.sqlite"));
    const first = (await createApiToken(store, { scope: "read" })).token;
    const second = (await createApiToken(store, { scope: "read" })).token;
    const service = await startService({
      store,
      queue: new InProcessQueue(store),
      listen: "127.0.0.1:0",
      rateLimit: { perSecond: 0.5, burst: 2 },
    });
    try {
      const get = (token: string) =>
        fetch(`${service.url}/api/v1/registries`, { headers: { authorization: `Bearer ${token}` } });
      expect((await get(first)).status).toBe(200);
      expect((await get(first)).status).toBe(200);
      const limited = await get(first);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(limited.headers.get("content-type")).toBe("application/problem+json");
      // Another token has its own bucket.
      expect((await get(second)).status).toBe(200);
    } finally {
      await service.close();
      await store.close();
    }
  });

  it("serves HTTPS with --tls-cert/--tls-key", async () => {
    const { makeTlsMaterial } = await import("../helpers/registry-server.js");
    const https = await import("node:https");
    const { readFileSync } = await import("node:fs");
    const dir = tempDir("stowaway-serve-tls-");
    const tls = makeTlsMaterial(dir);
    const store = await openServiceStore(path.join(dir, "store.sqlite"));
    const service = await startService({
      store,
      queue: new InProcessQueue(store),
      listen: "127.0.0.1:0",
      tls: { certFile: tls.certFile, keyFile: tls.keyFile },
    });
    try {
      expect(service.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get(`${service.url}/healthz`, { ca: readFileSync(tls.caFile) }, (res) => {
            let text = "";
            res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
            res.on("end", () => resolve(text));
          })
          .on("error", reject);
      });
      expect(JSON.parse(body)).toEqual({ status: "ok" });
    } finally {
      await service.close();
      await store.close();
    }
  });
});
