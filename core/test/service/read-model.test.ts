/**
 * The read-model endpoints over a store filled by the real registry scan of the demo image:
 * numbers against the demo's stated findings, bodies against the published JSON Schemas,
 * problem details for bad requests.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordResult } from "../../src/inventory/record.js";
import { readModelOpenApiPaths, whyMatched } from "../../src/service/read-model.js";
import { recordClusterWorkloads } from "../../src/store/cluster.js";
import { POSTGRES_BIN, POSTGRES_UNAVAILABLE, startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import { describeWithRegistry } from "../helpers/registry-server.js";
import { tempDir } from "../helpers/temp-dir.js";
import { DEMO_COUNTS, demoWorld, mountDashboard, type DemoWorld, type Mounted } from "./dashboard-fixture.js";

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => Ajv2020;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function responseSchema(path: string, status = "200"): Json {
  const item = readModelOpenApiPaths[path] as Json;
  const response = item.get.responses[status];
  return response.content["application/json"]?.schema ?? response.content["application/problem+json"].schema;
}

type Backend = "SQLite" | "PostgreSQL";

/** The same endpoints with the store on each backend. */
function readModelSuite(backend: Backend): void {
  let world: DemoWorld;
  let postgres: PostgresServer | undefined;
  let server: Mounted;
  const ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }));

  async function get(path: string, init: RequestInit = {}): Promise<{ status: number; type: string; body: Json }> {
    const response = await fetch(`${server.baseUrl}${path}`, init);
    const text = await response.text();
    return {
      status: response.status,
      type: response.headers.get("content-type") ?? "",
      body: text && response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : { text },
    };
  }

  function expectValid(path: string, body: unknown): void {
    const validate = ajv.compile(responseSchema(path));
    expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
  }

  beforeAll(async () => {
    let spec: string | undefined;
    if (backend === "PostgreSQL") {
      postgres = await startPostgres();
      spec = await postgres.createDatabase("stowaway_read_model");
    }
    world = await demoWorld(tempDir("stowaway-read-model-"), spec);
    server = await mountDashboard({ store: world.store });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await world?.stop();
    await postgres?.stop();
  });

  it("overview: images by worst severity, new since yesterday, trend over the scan and the rescan", async () => {
    const { status, body } = await get("/api/v1/overview");
    expect(status).toBe(200);
    expectValid("/api/v1/overview", body);
    expect(body.images).toBe(2);
    expect(body.repositories).toBe(3); // demo/app, mirror/app, tools/base
    expect(body.registries).toBe(1);
    expect(body.bySeverity).toEqual({ critical: 1, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0, none: 1 });
    const total = DEMO_COUNTS.critical + DEMO_COUNTS.high + DEMO_COUNTS.medium + DEMO_COUNTS.low;
    expect(body.newSinceYesterday).toEqual({ findings: total, images: 2 });
    expect(body.trend.map((point: Json) => point.kind)).toEqual(["scan", "rescan"]);
    for (const point of body.trend) expect(point).toMatchObject({ ...DEMO_COUNTS, unknown: 0 });
    expect(body.lastRun.kind).toBe("rescan");
    expect(body.lastRun.id).toBe(body.trend[1].runId);
  });

  it("overview: 'new since yesterday' counts only runs of the last 24 hours", async () => {
    const later = await mountDashboard({ store: world.store, now: () => new Date(Date.now() + 3 * 86_400_000) });
    try {
      const body = (await (await fetch(`${later.baseUrl}/api/v1/overview`)).json()) as Json;
      expect(body.newSinceYesterday).toEqual({ findings: 0, images: 0 });
    } finally {
      await later.close();
    }
  });

  it("images: worst first, filtered by severity, repository and text, paged", async () => {
    const all = await get("/api/v1/images");
    expectValid("/api/v1/images", all.body);
    expect(all.body.total).toBe(2);
    const [demo, alpine] = all.body.items;
    expect(demo.digest).toBe(world.demoDigest);
    expect(demo.counts).toMatchObject(DEMO_COUNTS);
    expect(demo.verdict).toBe("fail"); // minimal.yaml: failOn high, and the demo has HIGH findings
    expect(demo.repositories).toEqual([`${world.host}/demo/app`, `${world.host}/mirror/app`]);
    expect(demo.tags).toEqual([
      `${world.host}/demo/app:1.0`,
      `${world.host}/demo/app:latest`,
      `${world.host}/mirror/app:v1`,
    ]);
    expect(alpine).toMatchObject({ digest: world.alpineDigest, worstSeverity: "none", findings: 0 });

    const ids = async (query: string) =>
      ((await get(`/api/v1/images?${query}`)).body.items as Json[]).map((item) => item.digest);
    expect(await ids("severity=critical")).toEqual([world.demoDigest]);
    expect(await ids("severity=none")).toEqual([world.alpineDigest]);
    expect(await ids("severity=high")).toEqual([]);
    expect(await ids("repository=mirror/app")).toEqual([world.demoDigest]);
    expect(await ids(`repository=${encodeURIComponent(`${world.host}/tools/base`)}`)).toEqual([world.alpineDigest]);
    expect(await ids("q=LATEST")).toEqual([world.demoDigest]);
    expect(await ids(`q=${world.alpineDigest.slice(7, 20)}`)).toEqual([world.alpineDigest]);
    const page = await get("/api/v1/images?limit=1&offset=1");
    expect(page.body).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect(page.body.items.map((item: Json) => item.digest)).toEqual([world.alpineDigest]);
  });

  it("image summary: layers, packages, findings with why each matched, verdict, sightings", async () => {
    const { status, body } = await get(`/api/v1/images/${world.demoDigest}/summary`);
    expect(status).toBe(200);
    expectValid("/api/v1/images/{digest}/summary", body);
    expect(body.counts).toMatchObject(DEMO_COUNTS);
    expect(body.findings).toHaveLength(35);
    expect(body.findings[0].severity).toBe("critical");
    const urllib3 = body.findings.find((finding: Json) => finding.id === "CVE-2023-45803");
    expect(urllib3.packageName).toBe("urllib3");
    expect(urllib3.why).toBe(whyMatched(urllib3));
    expect(urllib3.why).toContain(urllib3.match.constraint);
    expect(urllib3.why).toContain(urllib3.match.recordId);
    expect(body.verdict.outcome).toBe("fail");
    expect(body.verdict.violations.map((violation: Json) => violation.rule)).toContain("gate.failOn");
    expect(body.layers.reduce((sum: number, layer: Json) => sum + layer.packages, 0)).toBe(body.packages.length);
    expect(body.layers.reduce((sum: number, layer: Json) => sum + layer.findings, 0)).toBe(35);
    expect(body.sightings.filter((row: Json) => row.current)).toHaveLength(3);
  });

  it("CVE exposure: where it is and how widespread, by id or alias", async () => {
    const { body } = await get("/api/v1/cves/CVE-2023-45803");
    expectValid("/api/v1/cves/{id}", body);
    expect(body.severity).toBe("medium");
    expect(body.counts).toEqual({ images: 1, repositories: 2, tags: 3, registries: 1 });
    expect(body.images[0].packages[0].name).toBe("urllib3");
    const byAlias = body.aliases[0] ? (await get(`/api/v1/cves/${body.aliases[0]}`)).body : body;
    expect(byAlias.counts).toEqual(body.counts);
    const absent = await get("/api/v1/cves/CVE-1999-0001");
    expect(absent.status).toBe(200);
    expect(absent.body.counts).toEqual({ images: 0, repositories: 0, tags: 0, registries: 0 });
    expect(absent.body.severity).toBeUndefined();
  });

  it("registries summary: per registry and repository", async () => {
    const { body } = await get("/api/v1/registries/summary");
    expectValid("/api/v1/registries/summary", body);
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({
      registry: world.host,
      repositories: 3,
      images: 2,
      worstSeverity: "critical",
    });
    expect(
      body.items[0].repositoryDetails.map((row: Json) => [row.repository, row.tags, row.images, row.worstSeverity]),
    ).toEqual([
      ["demo/app", 2, 1, "critical"],
      ["mirror/app", 1, 1, "critical"],
      ["tools/base", 1, 1, "none"],
    ]);
  });

  it("answers bad requests with problem details and leaves other paths and methods to the service", async () => {
    const badSeverity = await get("/api/v1/images?severity=dreadful");
    expect(badSeverity.status).toBe(400);
    expect(badSeverity.type).toBe("application/problem+json");
    expect(badSeverity.body.detail).toMatch(/^severity must be one of critical/);
    expect((await get("/api/v1/images?limit=-1")).status).toBe(400);
    expect((await get("/api/v1/images?limit=100000")).status).toBe(400);
    const missing = await get(`/api/v1/images/sha256:${"0".repeat(64)}/summary`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ status: 404, title: "Image not found" });
    expect((await get("/api/v1/images/not%20a%20digest/summary")).status).toBe(400);
    expect((await get("/api/v1/images/%E0%A4%A/summary")).status).toBe(400);
    expect((await get("/api/v1/cves/%3Cscript%3E")).status).toBe(400);
    const head = await fetch(`${server.baseUrl}/api/v1/overview`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    for (const [method, path] of [
      ["POST", "/api/v1/overview"],
      ["GET", "/api/v1/scans"],
      ["GET", "/api/v1/registries"],
      ["GET", "/metrics"],
    ]) {
      const response = await fetch(`${server.baseUrl}${path}`, { method });
      expect(response.headers.get("x-not-dashboard"), `${method} ${path}`).toBe("1");
    }
  });

  it("a store that cannot be read: a 500 problem without details, one neutralised line for the log", async () => {
    const lines: string[] = [];
    const broken = new Proxy(world.store, {
      get(target, property, receiver) {
        if (property === "runs") return async () => Promise.reject(new Error("disk gone\x1b[2J\nforged line"));
        return Reflect.get(target, property, receiver);
      },
    });
    const mounted = await mountDashboard({ store: broken, onError: (line) => lines.push(line) });
    try {
      const response = await fetch(`${mounted.baseUrl}/api/v1/overview`);
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(text).not.toContain("disk gone");
      expect(JSON.parse(text)).toMatchObject({ status: 500, title: "Store unavailable" });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain("dashboard: /api/v1/overview: the inventory store could not be read: disk gone");
      expect(lines[0]).not.toContain("\x1b");
      expect(lines[0]).not.toContain("\n");
    } finally {
      await mounted.close();
    }
  });

  it("running in clusters: flag counts on the overview, the running containers on the CVE exposure", async () => {
    const fresh = await mountDashboard({ store: world.store, maxAgeMs: 0, fullReadMs: 0 });
    const json = async (path: string) => (await (await fetch(`${fresh.baseUrl}${path}`)).json()) as Json;
    try {
      const zero = { clusters: 0, containers: 0, images: 0, exposed: 0, drift: 0, neverScanned: 0, denied: 0 };
      expect((await json("/api/v1/overview")).running).toEqual(zero);
      expect((await json("/api/v1/cves/CVE-2023-45803")).running).toEqual({ clusters: 0, workloads: [] });
      const web = {
        cluster: "prod",
        namespace: "shop",
        workload: "Deployment/web",
        container: "web",
        image: `${world.host}/mirror/app:v1`,
        digest: world.demoDigest,
      };
      await recordClusterWorkloads(
        world.store,
        [
          web,
          {
            cluster: "prod",
            namespace: "tools",
            workload: "DaemonSet/base",
            container: "base",
            image: `${world.host}/tools/base:3.19`,
            digest: world.alpineDigest,
          },
        ],
        new Date().toISOString(),
      );
      const overview = await json("/api/v1/overview");
      expectValid("/api/v1/overview", overview);
      // The demo has findings and fails the minimal policy; the Alpine image has none; both run as tagged.
      expect(overview.running).toEqual({ ...zero, clusters: 1, containers: 2, images: 2, exposed: 1, denied: 1 });
      const cve = await json("/api/v1/cves/CVE-2023-45803");
      expectValid("/api/v1/cves/{id}", cve);
      expect(cve.running).toEqual({ clusters: 1, workloads: [web] });
      expect((await json("/api/v1/cves/CVE-1999-0001")).running).toEqual({ clusters: 1, workloads: [] });
    } finally {
      await fresh.close();
    }
  });

  it("sees what a later run writes once its snapshot is older than maxAgeMs", async () => {
    const fresh = await mountDashboard({ store: world.store, maxAgeMs: 0 });
    try {
      const before = (await (await fetch(`${fresh.baseUrl}/api/v1/overview`)).json()) as Json;
      expect(before.images).toBe(2);
      const demo = (await world.store.getImage(world.demoDigest))!;
      const copy = `sha256:${"c".repeat(64)}`;
      const at = new Date().toISOString();
      await world.store.startRun({ id: "scan-copy", kind: "scan", target: "copy", startedAt: at });
      await recordResult(world.store, "scan-copy", copy, demo.result, undefined, at);
      await world.store.finishRun("scan-copy", at, {
        images: 1,
        failed: 0,
        newFindings: 35,
        fixedFindings: 0,
        newlyFixable: 0,
      });
      const after = (await (await fetch(`${fresh.baseUrl}/api/v1/overview`)).json()) as Json;
      expect(after.images).toBe(3);
      expect(after.bySeverity.critical).toBe(2);
      expect(after.trend).toHaveLength(3);
      expect(after.trend[2]).toMatchObject({ critical: 18, high: 24, medium: 26, low: 2 });
    } finally {
      await fresh.close();
    }
  });
}

describeWithRegistry("read-model endpoints over a scanned and rescanned demo image (SQLite store)", () =>
  readModelSuite("SQLite"),
);
if (POSTGRES_BIN) {
  describeWithRegistry("read-model endpoints over a scanned and rescanned demo image (PostgreSQL store)", () =>
    readModelSuite("PostgreSQL"),
  );
} else {
  describe.skip(`read-model endpoints on PostgreSQL (skipped: ${POSTGRES_UNAVAILABLE})`, () => undefined);
}
