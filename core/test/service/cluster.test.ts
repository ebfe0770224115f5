/**
 * Where vulnerable images run, through the real service on SQLite and PostgreSQL: the store is filled
 * as `stowaway cluster inventory` fills it (pods listed from a Kubernetes-shaped HTTPS API, recorded per
 * digest) plus stored results and registry-scan sightings; answers are checked against the fixture and
 * against the CLI's own report over the same live pod list (one core function serves both).
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterImageReport, listRunningContainers, type RunningContainer } from "../../src/inventory/cluster.js";
import { InProcessQueue } from "../../src/jobs/in-process.js";
import { openApiDocument } from "../../src/service/openapi.js";
import { startService, type RunningService } from "../../src/service/server.js";
import { createApiToken } from "../../src/service/tokens.js";
import { openServiceStore, recordClusterWorkloads } from "../../src/store/index.js";
import type { ServiceStore } from "../../src/store/service-state.js";
import { clusterResult, digestOf as D, kubePod, startKubeApi, type KubeApi } from "../helpers/kube-api.js";
import { POSTGRES_UNAVAILABLE, startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import { tempDir } from "../helpers/temp-dir.js";

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => Ajv2020;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TOKEN = "kube-token-service-1";
const WEB = "registry.test/shop/web:1.4";
const PROXY = "registry.test/infra/proxy:2";
const CRON = "registry.test/ops/backup:7";

const PODS = [
  kubePod("shop", "web-7d9c8b6f5d-abcde", { kind: "ReplicaSet", name: "web-7d9c8b6f5d" }, [
    { name: "web", image: WEB, digest: D(1) },
  ]),
  kubePod("billing", "invoices-0", { kind: "StatefulSet", name: "invoices" }, [
    { name: "app", image: WEB, digest: D(1) },
    { name: "proxy", image: PROXY, digest: D(2) },
  ]),
  kubePod("ops", "backup-29000000-xyz12", { kind: "Job", name: "backup-29000000" }, [
    { name: "backup", image: CRON, digest: D(4) },
  ]),
];

type Backend = "SQLite" | "PostgreSQL";

function clusterSuite(backend: Backend): void {
  let postgres: PostgresServer | undefined;
  let store: ServiceStore;
  let queue: InProcessQueue;
  let service: RunningService;
  let api: KubeApi;
  let live: RunningContainer[];
  let read: string;
  const ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }));
  const document = openApiDocument() as Json;
  for (const [name, schema] of Object.entries(document.components.schemas as Json)) {
    ajv.addSchema(schema, `#/components/schemas/${name}`);
  }

  function expectValid(path: string, body: unknown): void {
    const schema = document.paths[path].get.responses["200"].content["application/json"].schema;
    const validate = ajv.compile({ ...schema, $ref: schema.$ref });
    expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
  }

  const get = async (pathname: string, token: string | null = read) => {
    const response = await fetch(`${service.url}${pathname}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return {
      status: response.status,
      type: response.headers.get("content-type") ?? "",
      body: (await response.json()) as Json,
    };
  };

  beforeAll(async () => {
    const dir = tempDir("stowaway-service-cluster-");
    let spec = `${dir}/store.sqlite`;
    if (backend === "PostgreSQL") {
      postgres = await startPostgres();
      spec = await postgres.createDatabase("stowaway_cluster");
    }
    store = await openServiceStore(spec);
    read = (await createApiToken(store, { scope: "read" })).token;
    // web:1.4 fails the policy with the CVE; proxy:2 passes; backup:7 was never scanned.
    for (const [digest, reference, outcome, vulnerable] of [
      [D(1), WEB, "fail", true],
      [D(2), PROXY, "pass", false],
    ] as const) {
      const result = clusterResult(digest, reference, outcome, vulnerable);
      await store.putImage(
        { digest, result, firstScanned: "2026-12-01T00:00:00Z", lastMatched: "2026-12-01T00:00:00Z" },
        result.policy,
      );
    }
    // A registry scan saw web:1.4 at D(1), later at D(3): the running D(1) drifted. Also tagged mirror/web:old.
    await store.recordSighting(
      { registry: "registry.test", repository: "shop/web", tag: "1.4", digest: D(1) },
      "2026-12-01T00:00:00Z",
    );
    await store.recordSighting(
      { registry: "registry.test", repository: "mirror/web", tag: "old", digest: D(1) },
      "2026-12-01T00:00:00Z",
    );
    await store.recordSighting(
      { registry: "registry.test", repository: "shop/web", tag: "1.4", digest: D(3) },
      "2026-12-05T00:00:00Z",
    );
    // An older inventory of prod-eu saw a workload that is gone now; a second cluster runs web too.
    await recordClusterWorkloads(
      store,
      [
        {
          cluster: "prod-eu",
          namespace: "legacy",
          workload: "Deployment/old",
          container: "c",
          image: WEB,
          digest: D(1),
        },
      ],
      "2026-12-06T00:00:00Z",
    );
    await recordClusterWorkloads(
      store,
      [
        {
          cluster: "prod-us",
          namespace: "shop",
          workload: "Deployment/web",
          container: "web",
          image: WEB,
          digest: D(1),
        },
      ],
      "2026-12-07T08:00:00Z",
    );
    // What `cluster inventory` does with the live pod list.
    api = await startKubeApi(dir, PODS, { token: TOKEN, cluster: "prod-eu" });
    live = await listRunningContainers(api.kubeconfig);
    await recordClusterWorkloads(
      store,
      live.map((container) => ({ ...container, digest: container.digest! })),
      "2026-12-07T09:00:00Z",
    );
    await store.flush();
    queue = new InProcessQueue(store, { pollMs: 50 });
    service = await startService({ store, queue, listen: "127.0.0.1:0", rateLimit: { perSecond: 1000, burst: 1000 } });
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    await queue?.stop();
    await store?.close();
    await api?.close();
    await postgres?.stop();
  });

  it("answers which running workloads are exposed to a CVE (by id or alias), as the CLI's report does", async () => {
    const { status, body } = await get("/api/v1/cluster/images?cve=ghsa-aaaa-bbbb-cccc");
    expect(status).toBe(200);
    expectValid("/api/v1/cluster/images", body);
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({
      image: WEB,
      digest: D(1),
      workloads: ["billing/StatefulSet/invoices", "shop/Deployment/web"],
      clusters: ["prod-eu", "prod-us"],
      state: "scanned",
      outcome: "fail",
      findings: 1,
    });
    // The gone legacy workload of the older inventory is not running any more.
    expect(body.items[0].workloads).not.toContain("legacy/Deployment/old");
    // The CLI path (live pods, one cluster) through the same core function gives the same rows.
    const cli = await clusterImageReport(live, { store, cve: "ghsa-aaaa-bbbb-cccc" });
    const only = (await get("/api/v1/cluster/images?cve=GHSA-aaaa-bbbb-cccc&cluster=prod-eu")).body;
    expect(only.items).toEqual(JSON.parse(JSON.stringify(cli)));
    expect((await get("/api/v1/cluster/images?cve=CVE-1999-0001")).body.items).toEqual([]);
  });

  it("lists running images that drifted, were never scanned or are denied", async () => {
    const all = (await get("/api/v1/cluster/images")).body;
    expect(all.containers).toBe(5);
    expect(all.items.map((item: Json) => item.image)).toEqual([WEB, PROXY, CRON]);
    const drift = (await get("/api/v1/cluster/images?flag=drift")).body;
    expectValid("/api/v1/cluster/images", drift);
    expect(drift.items.map((item: Json) => [item.digest, item.drift])).toEqual([
      [D(1), { current: D(3), seen: "2026-12-05T00:00:00Z" }],
    ]);
    const never = (await get("/api/v1/cluster/images?flag=never-scanned")).body;
    expect(never.items.map((item: Json) => `${item.image} ${item.state} ${item.workloads}`)).toEqual([
      `${CRON} never-scanned ops/CronJob/backup`,
    ]);
    const denied = (await get("/api/v1/cluster/images?flag=denied")).body;
    expect(denied.items.map((item: Json) => item.digest)).toEqual([D(1)]);
  });

  it("says how widespread an image is: tags, repositories, clusters, namespaces, workloads", async () => {
    const { status, body } = await get(`/api/v1/cluster/images/${encodeURIComponent(D(1))}`);
    expect(status).toBe(200);
    expectValid("/api/v1/cluster/images/{digest}", body);
    expect(body).toMatchObject({ digest: D(1), scanned: true, outcome: "fail", findings: 1, related: [] });
    expect(body.tags.map((tag: Json) => `${tag.repository}:${tag.tag} ${tag.current}`).sort()).toEqual([
      "mirror/web:old true",
      "shop/web:1.4 false",
    ]);
    expect(body.repositories).toEqual(["registry.test/mirror/web", "registry.test/shop/web"]);
    expect(body.clusters).toEqual(["prod-eu", "prod-us"]);
    expect(body.namespaces).toEqual(["prod-eu/billing", "prod-eu/legacy", "prod-eu/shop", "prod-us/shop"]);
    const workloads = body.workloads.map((w: Json) => `${w.cluster} ${w.namespace}/${w.workload} ${w.running}`);
    expect(workloads.sort()).toEqual([
      "prod-eu billing/StatefulSet/invoices true",
      "prod-eu legacy/Deployment/old false",
      "prod-eu shop/Deployment/web true",
      "prod-us shop/Deployment/web true",
    ]);
  });

  it("answers bad queries, unknown digests and missing tokens with problem documents", async () => {
    for (const [path, status] of [
      ["/api/v1/cluster/images?flag=vulnerable", 400],
      ["/api/v1/cluster/images?cve=%0aCVE", 400],
      ["/api/v1/cluster/images/sha256:nothex", 400],
      [`/api/v1/cluster/images/${D(7)}`, 404],
    ] as const) {
      const answer = await get(path);
      expect(answer.status, path).toBe(status);
      expect(answer.type).toBe("application/problem+json");
      expect(answer.body.status).toBe(status);
    }
    expect((await get("/api/v1/cluster/images?flag=vulnerable")).body.detail).toBe(
      "flag must be one of drift, never-scanned, denied",
    );
    const anonymous = await get("/api/v1/cluster/images", null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.type).toBe("application/problem+json");
  });
}

describe("cluster endpoints on a SQLite store", () => clusterSuite("SQLite"));
if (!POSTGRES_UNAVAILABLE) {
  describe("cluster endpoints on a PostgreSQL store", () => clusterSuite("PostgreSQL"));
} else {
  describe.skip(`cluster endpoints on PostgreSQL (skipped: ${POSTGRES_UNAVAILABLE})`, () => undefined);
}
