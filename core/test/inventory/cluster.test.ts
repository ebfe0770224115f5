import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterImageReport, listRunningContainers } from "../../src/inventory/cluster.js";
import { clusterWorkloads, openStore, recordClusterWorkloads } from "../../src/store/index.js";
import { buildImage, buildLayer } from "../helpers/image-builder.js";
import { pushImage } from "../helpers/registry-push.js";
import { clusterResult, digestOf as D, kubePod, startKubeApi, type KubeApi } from "../helpers/kube-api.js";
import { describeWithRegistry, startRegistry } from "../helpers/registry-server.js";

const TOKEN = "test-token-3f9a";

/** The fixture's pods name digests by number. */
function pod(
  namespace: string,
  name: string,
  owner: { kind: string; name: string } | undefined,
  containers: { name: string; image: string; digest?: number }[],
) {
  return kubePod(
    namespace,
    name,
    owner,
    containers.map(({ digest, ...rest }) => ({ ...rest, ...(digest === undefined ? {} : { digest: D(digest) }) })),
  );
}

const PODS = [
  pod("shop", "web-7d9c8b6f5d-abcde", { kind: "ReplicaSet", name: "web-7d9c8b6f5d" }, [
    { name: "web", image: "registry.test/shop/web:1.4", digest: 1 },
  ]),
  pod("shop", "web-7d9c8b6f5d-fghij", { kind: "ReplicaSet", name: "web-7d9c8b6f5d" }, [
    { name: "web", image: "registry.test/shop/web:1.4", digest: 1 },
  ]),
  pod("billing", "invoices-0", { kind: "StatefulSet", name: "invoices" }, [
    { name: "app", image: "registry.test/shop/web:1.4", digest: 1 },
    { name: "proxy", image: "registry.test/infra/proxy:2", digest: 2 },
  ]),
  pod("ops", "debug", undefined, [{ name: "shell", image: "registry.test/infra/shell:latest" }]),
];

describe("stowaway cluster inventory against a Kubernetes-shaped HTTPS API", () => {
  let dir: string;
  let api: KubeApi;
  let kubeconfig: string;
  let seen: KubeApi["seen"];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "stowaway-cluster-"));
    api = await startKubeApi(dir, PODS, { token: TOKEN, cluster: "prod-eu" });
    kubeconfig = api.kubeconfig;
    seen = api.seen;
  }, 30_000);

  afterAll(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists every page of pods with the kubeconfig's bearer token, by workload", async () => {
    const containers = await listRunningContainers(kubeconfig);
    expect(seen.map((request) => request.authorization)).toEqual(["Bearer test-token-3f9a", "Bearer test-token-3f9a"]);
    expect(seen[1]!.url).toContain("continue=2");
    expect(containers).toHaveLength(5);
    expect(containers[0]).toEqual({
      cluster: "prod-eu",
      namespace: "shop",
      pod: "web-7d9c8b6f5d-abcde",
      workload: "Deployment/web",
      container: "web",
      image: "registry.test/shop/web:1.4",
      digest: D(1),
    });
    const shell = containers.find((c) => c.container === "shell");
    expect(shell).toMatchObject({ workload: "Pod/debug" });
    expect(shell).not.toHaveProperty("digest");
  });

  it("says how widespread each image is, which were never scanned, and which workloads carry a CVE", async () => {
    const store = await openStore(path.join(dir, "store.sqlite"));
    try {
      const result = clusterResult(D(1), "registry.test/shop/web:1.4", "fail", true);
      await store.putImage(
        { digest: D(1), result, firstScanned: "2026-12-01T00:00:00Z", lastMatched: "2026-12-01T00:00:00Z" },
        result.policy,
      );
      const containers = await listRunningContainers(kubeconfig);
      const rows = await clusterImageReport(containers, { store });
      expect(rows[0]).toMatchObject({
        image: "registry.test/shop/web:1.4",
        digest: D(1),
        workloads: ["billing/StatefulSet/invoices", "shop/Deployment/web"],
        state: "scanned",
        outcome: "fail",
        findings: 1,
      });
      expect(rows.find((row) => row.image.endsWith("proxy:2"))).toMatchObject({ state: "never-scanned" });
      expect(rows.find((row) => row.image.endsWith("shell:latest"))).toMatchObject({ state: "unknown-digest" });

      const exposed = await clusterImageReport(containers, { store, cve: "ghsa-aaaa-bbbb-cccc" });
      expect(exposed.map((row) => row.workloads)).toEqual([["billing/StatefulSet/invoices", "shop/Deployment/web"]]);
      expect(await clusterImageReport(containers, { store, cve: "CVE-1999-0001" })).toEqual([]);

      // Where each digest runs is recorded (migration 3); a second sighting only moves last_seen.
      const pulled = containers.flatMap((c) => (c.digest ? [{ ...c, digest: c.digest }] : []));
      await recordClusterWorkloads(store, pulled, "2026-12-07T09:00:00Z");
      await recordClusterWorkloads(store, pulled, "2026-12-07T10:00:00Z");
      const web = await clusterWorkloads(store, D(1));
      expect(web.map((row) => `${row.cluster} ${row.namespace}/${row.workload} ${row.container}`)).toEqual([
        "prod-eu billing/StatefulSet/invoices app",
        "prod-eu shop/Deployment/web web",
      ]);
      expect(web[0]).toMatchObject({ firstSeen: "2026-12-07T09:00:00Z", lastSeen: "2026-12-07T10:00:00Z" });
    } finally {
      await store.close();
    }
  });

  it("refuses a wrong token with one line naming the cluster", async () => {
    const bad = path.join(dir, "bad-kubeconfig");
    writeFileSync(bad, readFileSync(kubeconfig, "utf8").replace(TOKEN, "wrong"));
    await expect(listRunningContainers(bad)).rejects.toThrow(/^cluster prod-eu: listing pods failed \(HTTP 401\)/);
  });
});

describeWithRegistry("cluster inventory drift against a real registry", () => {
  it("flags a running digest the tag no longer points at", async () => {
    const registry = await startRegistry({ kind: "plain" });
    try {
      const target = { baseUrl: registry.baseUrl };
      const old = buildImage({ layers: [await buildLayer([{ path: "v", content: "1" }])] });
      const current = buildImage({ layers: [await buildLayer([{ path: "v", content: "2" }])] });
      await pushImage(target, "shop/web", old, "1.4");
      await pushImage(target, "shop/web", current, "1.4");
      const image = `${registry.host}/shop/web:1.4`;
      const running = (digest: string, pod: string) => ({
        cluster: "c",
        namespace: "shop",
        pod,
        workload: "Deployment/web",
        container: "web",
        image,
        digest,
      });
      const rows = await clusterImageReport([running(old.manifestDigest, "a"), running(current.manifestDigest, "b")], {
        checkDrift: true,
        registry: { env: {} },
      });
      expect(rows.find((row) => row.digest === old.manifestDigest)?.drift).toEqual({ current: current.manifestDigest });
      expect(rows.find((row) => row.digest === current.manifestDigest)).not.toHaveProperty("drift");
      // A tag deleted from the registry (or never pushed there) is drift too: nothing to compare with.
      const gone = await clusterImageReport(
        [{ ...running(old.manifestDigest, "c"), image: `${registry.host}/shop/web:1.3-removed` }],
        { checkDrift: true, registry: { env: {} } },
      );
      expect(gone[0]?.drift).toEqual({ tagMissing: true });
    } finally {
      await registry.stop();
    }
  }, 30_000);
});
