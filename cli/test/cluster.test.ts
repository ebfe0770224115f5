/**
 * `stowaway cluster inventory` end to end: the built CLI against a Kubernetes-shaped HTTPS API whose
 * pods run images pushed to a real basic-auth docker-registry; never-scanned digests are pulled,
 * scanned and stored as `registry scan` stores them.
 */
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { alpineImage } from "../../core/test/inventory/fixtures.js";
import type { BuiltImage } from "../../core/test/helpers/image-builder.js";
import { kubePod, startKubeApi, type KubeApi } from "../../core/test/helpers/kube-api.js";
import { basicAuthorization, pushImage } from "../../core/test/helpers/registry-push.js";
import { describeWithRegistry, startRegistry, type RegistryServer } from "../../core/test/helpers/registry-server.js";
import { cliHarness } from "./harness.js";

const USER = "cluster-bot";
const PASSWORD = "Clu5ter-Pa55-91ab";
const TOKEN = "kube-token-77d1";
/** A digest no registry holds: its pod's image cannot be pulled. */
const GONE = `sha256:${"d".repeat(64)}`;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describeWithRegistry("stowaway cluster inventory scans the running digests the store lacks", () => {
  const { stowaway, stowawayAsync, buildAlpineDb, work } = cliHarness("stowaway-cli-cluster-");
  const credentials = { STOWAWAY_USERNAME: USER, STOWAWAY_PASSWORD: PASSWORD };
  let registry: RegistryServer;
  let api: KubeApi;
  let vulnerable: BuiltImage;
  let patched: BuiltImage;
  let db: string;

  beforeAll(async () => {
    registry = await startRegistry({ kind: "basic", users: { [USER]: PASSWORD } }, { accessLog: true });
    const target = { baseUrl: registry.baseUrl, authorization: () => basicAuthorization(USER, PASSWORD) };
    vulnerable = await alpineImage({ openssl: "3.1.4-r0" });
    patched = await alpineImage({ openssl: "3.1.4-r1" });
    await pushImage(target, "team/api", vulnerable, "1.0");
    await pushImage(target, "team/api", patched, "1.1");
    const host = registry.host;
    api = await startKubeApi(
      work(),
      [
        kubePod("shop", "web-5f7d8c9b4d-aaaaa", { kind: "ReplicaSet", name: "web-5f7d8c9b4d" }, [
          { name: "web", image: `${host}/team/api:1.0`, digest: vulnerable.manifestDigest },
        ]),
        kubePod("shop", "web-5f7d8c9b4d-bbbbb", { kind: "ReplicaSet", name: "web-5f7d8c9b4d" }, [
          { name: "web", image: `${host}/team/api:1.0`, digest: vulnerable.manifestDigest },
        ]),
        kubePod("batch", "reports-0", { kind: "StatefulSet", name: "reports" }, [
          { name: "app", image: `${host}/team/api:1.1`, digest: patched.manifestDigest },
          { name: "old", image: `${host}/team/gone:1`, digest: GONE },
        ]),
        kubePod("ops", "debug", undefined, [{ name: "shell", image: `${host}/team/api:1.1` }]),
      ],
      { token: TOKEN, cluster: "prod-eu" },
    );
    db = path.join(work(), "db");
    buildAlpineDb("secdb", { openssl: { "3.1.4-r1": ["CVE-2099-1001"] } }, db);
  }, 60_000);

  afterAll(async () => {
    await api?.close();
    await registry?.stop();
  });

  it("pulls each never-scanned repo@digest with the registry credentials, reports the one that fails, goes on", async () => {
    const store = path.join(work(), "scan.sqlite");
    const args = ["cluster", "inventory", "--kubeconfig", api.kubeconfig, "--store", store, "--db", db, "--no-cache"];
    const run = await stowawayAsync([...args, "--jobs", "2", "--format", "json"], credentials);
    expect(run.stderr).not.toContain(PASSWORD);
    // One image could not be pulled: the run finished the others and exits 2 like `registry scan`.
    expect(run.code, run.stderr).toBe(2);
    const progress = run.stderr.split("\n").filter((line) => /^\[\d\/3\] /.test(line));
    expect(progress).toHaveLength(3);
    // Pulled by digest, no tags: each line names the repository (not a bare "127.0.0.1:PORT/").
    expect(progress.every((line) => /^\[\d\/3\] 127\.0\.0\.1:\d+\/team\/(api|gone) sha256:/.test(line))).toBe(true);
    expect(progress.filter((line) => line.includes(": scanned, "))).toHaveLength(2);
    expect(progress.find((line) => line.includes("team/gone"))).toMatch(/: FAILED: /);
    expect(run.stderr).toMatch(/scanned 2 running images not yet in sqlite:.*, 1 failed \(run scan-/);

    const report = JSON.parse(run.stdout) as Json;
    expect(report.containers).toBe(5);
    expect(report.scan).toMatchObject({ images: 2, failed: 1 });
    const byDigest = new Map<string, Json>(report.images.map((row: Json) => [row.digest ?? row.image, row]));
    expect(byDigest.get(vulnerable.manifestDigest)).toMatchObject({
      state: "scanned",
      findings: 1,
      workloads: ["shop/Deployment/web"],
      clusters: ["prod-eu"],
    });
    expect(byDigest.get(patched.manifestDigest)).toMatchObject({ state: "scanned", findings: 0 });
    expect(byDigest.get(GONE)).toMatchObject({ state: "never-scanned", workloads: ["batch/StatefulSet/reports"] });

    // Stored as `registry scan` stores results: the registry report sees the run and the finding.
    const stored = stowaway(["registry", "report", "--store", store, "--format", "json", "--cve", "CVE-2099-1001"]);
    expect(stored.code, stored.stderr).toBe(0);
    const inventory = JSON.parse(stored.stdout) as Json;
    expect(inventory.lastRun).toMatchObject({ kind: "scan", target: "cluster prod-eu" });
    expect(inventory.cve.images.map((image: Json) => image.digest)).toEqual([vulnerable.manifestDigest]);
    expect(inventory.changes.map((change: Json) => `${change.kind} ${change.vulnerabilityId}`)).toEqual([
      "new CVE-2099-1001",
    ]);
    // ... and which running workloads carry it (both web pods are one workload and container), from the
    // inventory just recorded; `team/api:1.0` has no registry-scan sighting yet, so nothing drifted.
    expect(inventory.cve.workloads).toEqual([
      {
        cluster: "prod-eu",
        namespace: "shop",
        workload: "Deployment/web",
        container: "web",
        image: `${registry.host}/team/api:1.0`,
        digest: vulnerable.manifestDigest,
      },
    ]);
    // The debug pod's image was never pulled (no digest): only the three pulled images are recorded.
    expect(inventory.running).toEqual({
      clusters: 1,
      containers: 3,
      images: 3,
      exposed: 1,
      drift: 0,
      neverScanned: 1,
      denied: 0,
    });
    expect(Object.fromEntries(inventory.images.map((row: Json) => [row.digest, row.running]))).toEqual({
      [vulnerable.manifestDigest]: 1,
      [patched.manifestDigest]: 1,
    });
    const markdown = stowaway(["registry", "report", "--store", store, "-f", "markdown", "--cve", "CVE-2099-1001"]);
    expect(markdown.stdout).toContain(
      `| prod-eu | shop | Deployment/web | web | ${registry.host}/team/api:1.0 | \`${vulnerable.manifestDigest.slice(7, 19)}\` |`,
    );

    // A second run pulls nothing already stored; --cve answers which running workloads carry it.
    const before = registry.accessLog().length;
    const again = await stowawayAsync([...args, "--cve", "CVE-2099-1001"], credentials);
    const requests = registry.accessLog().slice(before);
    expect(requests.every((line) => line.includes("/team/gone/"))).toBe(true);
    expect(requests.some((line) => line.includes(vulnerable.manifestDigest))).toBe(false);
    expect(again.stdout).toBe(
      `${registry.host}/team/api:1.0 ${vulnerable.manifestDigest} (1 workload): 1 finding\n  shop/Deployment/web\n`,
    );
  }, 120_000);

  it("cluster image DIGEST says how widespread an image is: tags from registry scans, workloads from inventories", async () => {
    const store = path.join(work(), "scan.sqlite");
    const scanned = await stowawayAsync(
      ["registry", "scan", `${registry.host}/team`, "--store", store, "--db", db, "--no-cache"],
      credentials,
    );
    expect(scanned.code, scanned.stderr).toBe(0);
    const table = stowaway(["cluster", "image", vulnerable.manifestDigest, "--store", store]);
    expect(table.code, table.stderr).toBe(0);
    const host = registry.host;
    expect(table.stdout.split("\n").slice(1)).toEqual([
      "tags (1):",
      `  ${host}/team/api:1.0`,
      `repositories (1): ${host}/team/api`,
      "clusters (1): prod-eu",
      "namespaces (1): prod-eu/shop",
      "workloads (1 running):",
      `  prod-eu shop/Deployment/web web ${host}/team/api:1.0`,
      "",
    ]);
    expect(table.stdout).toMatch(new RegExp(`^${vulnerable.manifestDigest}: scanned, (policy \\w+, )?1 finding\n`));
    const json = JSON.parse(stowaway(["cluster", "image", GONE, "--store", store, "-f", "json"]).stdout) as Json;
    expect(json).toMatchObject({ digest: GONE, scanned: false, tags: [], clusters: ["prod-eu"] });
    const bad = stowaway(["cluster", "image", "sha256:abc", "--store", store]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('stowaway: error: "sha256:abc" is not a sha256 digest; give sha256: and 64 hex digits\n');
  }, 120_000);

  it("--no-scan only lists: nothing is pulled and unseen digests are flagged NEVER SCANNED", async () => {
    const before = registry.accessLog().length;
    const run = await stowawayAsync(
      [
        "cluster",
        "inventory",
        "--kubeconfig",
        api.kubeconfig,
        "--store",
        path.join(work(), "list.sqlite"),
        "--no-scan",
      ],
      credentials,
    );
    expect(run.code, run.stderr).toBe(1);
    expect(registry.accessLog().slice(before)).toEqual([]);
    expect(run.stdout).toContain(
      `${registry.host}/team/api:1.0 ${vulnerable.manifestDigest} (1 workload): NEVER SCANNED`,
    );
    expect(run.stderr).toBe("5 running containers, 4 images\n");
  }, 60_000);

  it("refuses a bad --jobs in one line", async () => {
    const run = await stowawayAsync(["cluster", "inventory", "--kubeconfig", api.kubeconfig, "--jobs", "0"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('stowaway: error: --jobs "0" must be a whole number of at least 1\n');
  });
});
