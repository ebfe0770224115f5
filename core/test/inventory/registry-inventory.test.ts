import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rescanStore } from "../../src/inventory/rescan.js";
import { scanRegistry, type RegistryScanSummary } from "../../src/inventory/registry-scan.js";
import { buildInventoryReport } from "../../src/inventory/report-data.js";
import { renderInventoryReport } from "../../src/report/inventory.js";
import { recordClusterWorkloads } from "../../src/store/cluster.js";
import { openStore } from "../../src/store/index.js";
import type { InventoryStore } from "../../src/store/types.js";
import { buildIndex, type BuiltImage, type BuiltIndex } from "../helpers/image-builder.js";
import { pushImage, pushIndex } from "../helpers/registry-push.js";
import { describeWithRegistry, startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import { POSTGRES_BIN, POSTGRES_UNAVAILABLE, startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import { alpineImage, buildSecdbDatabase, type SecFixes } from "./fixtures.js";

/** Text a pod spec or a store could carry that must stay text in every report format. */
const HOSTILE = "</script><img src=x onerror=alert(1)>|*[x](y)";
const GONE = `sha256:${"d".repeat(64)}`;

const FAST_RETRY = { retry: { sleep: async () => undefined } };

// Database v1 knows one openssl fix; v2 (the "update") adds a second openssl fix and a zlib fix.
const DB_V1: SecFixes = { openssl: { "3.1.4-r1": ["CVE-2099-1001"] } };
const DB_V2: SecFixes = {
  openssl: { "3.1.4-r1": ["CVE-2099-1001"], "3.1.4-r2": ["CVE-2099-1002"] },
  zlib: { "1.3.1-r0": ["CVE-2099-2001"] },
};

type Backend = "SQLite" | "PostgreSQL";

/** The same registry scenario with the store on each backend. */
function inventorySuite(backend: Backend): void {
  let postgres: PostgresServer | undefined;
  let registry: RegistryServer;
  let tmp: string;
  let store: InventoryStore;
  let dbDir: string;
  let old: BuiltImage; // openssl 3.1.4-r0, zlib 1.3-r2
  let patched: BuiltImage; // openssl 3.1.4-r1, zlib 1.3.1-r0
  let clean: BuiltImage; // musl only
  let broken: BuiltImage;
  let multi: BuiltIndex; // amd64: openssl 3.1.4-r0; arm64: zlib 1.3-r2; with attestations
  let first: RegistryScanSummary;

  const blobGets = () => registry.accessLog().filter((line) => /^GET \/v2\/.+\/blobs\/sha256:/.test(line));

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "stowaway-inventory-"));
    registry = await startRegistry({ kind: "plain" }, { accessLog: true });
    const target = { baseUrl: registry.baseUrl };
    old = await alpineImage({ openssl: "3.1.4-r0", zlib: "1.3-r2" });
    patched = await alpineImage({ openssl: "3.1.4-r1", zlib: "1.3.1-r0" });
    clean = await alpineImage({ musl: "1.2.4-r2" });
    broken = await alpineImage({ busybox: "1.36.1-r15" });
    multi = buildIndex(
      [
        await alpineImage({ openssl: "3.1.4-r0" }, { os: "linux", architecture: "amd64" }),
        await alpineImage({ zlib: "1.3-r2" }, { os: "linux", architecture: "arm64", variant: "v8" }),
      ],
      { attestations: true },
    );
    for (const tag of ["1.0", "1.1", "latest"]) await pushImage(target, "team/app", tag === "1.0" ? old : patched, tag);
    await pushImage(target, "team/web", clean, "1");
    await pushImage(target, "team/web", old, "2"); // same digest as team/app:1.0: scanned once
    await pushIndex(target, "team/multi", multi, "v1");
    await pushImage(target, "other/tool", clean, "1");
    await pushImage(target, "team/broken", broken, "1");
    // The registry loses the broken image's top layer: that one image must fail, the run go on.
    const lost = broken.layers[1]!.digest;
    await new Promise<void>((resolve, reject) => {
      const req = http.request(`${registry.baseUrl}/v2/team/broken/blobs/${lost}`, { method: "DELETE" }, (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 202 ? resolve() : reject(new Error(`DELETE: ${res.statusCode}`))));
      });
      req.on("error", reject);
      req.end();
    });

    dbDir = path.join(tmp, "db");
    await buildSecdbDatabase(tmp, dbDir, DB_V1, new Date("2026-01-01T00:00:00Z"));
    if (backend === "PostgreSQL") {
      postgres = await startPostgres();
      store = await openStore(await postgres.createDatabase("stowaway_inventory"));
    } else {
      store = await openStore(path.join(tmp, "inventory.sqlite"));
    }
    first = await scanRegistry({
      store,
      host: registry.host,
      prefix: "team",
      database: dbDir,
      cacheDir: false,
      jobs: 2,
      client: { pageSize: 2, ...FAST_RETRY },
      now: new Date("2026-01-02T00:00:00Z"),
    });
  });

  afterAll(async () => {
    await store?.close();
    await postgres?.stop();
    await registry?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("walks the catalog page by page (Link, n=2) and every tag, under the prefix only", () => {
    expect(first.repositories).toEqual(["team/app", "team/broken", "team/multi", "team/web"]);
    const log = registry.accessLog();
    expect(log.filter((line) => line.startsWith("GET /v2/_catalog?")).length).toBeGreaterThanOrEqual(3);
    // distribution 2.8 honours n= on the catalog but answers tags/list whole (tag paging came in v3).
    expect(log).toContain("GET /v2/team/app/tags/list?n=2");
    const appTags = first.images
      .flatMap((event) => event.target.tags)
      .filter((sighting) => sighting.repository === "team/app")
      .map((sighting) => sighting.tag);
    expect(appTags.sort()).toEqual(["1.0", "1.1", "latest"]);
  });

  it("scans each unique digest once, every platform of an index, no attestation", () => {
    const amd64 = multi.images[0]!.manifestDigest;
    const arm64 = multi.images[1]!.manifestDigest;
    const scanned = first.images.filter((event) => event.outcome === "scanned").map((event) => event.target.digest);
    expect(scanned.sort()).toEqual(
      [old.manifestDigest, patched.manifestDigest, clean.manifestDigest, amd64, arm64].sort(),
    );
    // The shared os-release layer and old's own layer were each pulled once, though old has three tags.
    const gets = blobGets();
    expect(gets.filter((line) => line.endsWith(old.layers[1]!.digest))).toHaveLength(1);
    const platforms = first.images.filter((event) => event.target.platform).map((event) => event.target.platform);
    expect(platforms.sort()).toEqual(["linux/amd64", "linux/arm64/v8"]);
  });

  it("reports the image whose blob is gone and goes on", () => {
    const failed = first.images.filter((event) => event.outcome === "failed");
    expect(failed.map((event) => event.target.digest)).toEqual([broken.manifestDigest]);
    expect(failed[0]!.message).toMatch(/blob unknown/);
    expect(first.summary).toMatchObject({ images: 5, failed: 1 });
  });

  it("stores findings per digest and where each digest is tagged", async () => {
    const stored = await store.getImage(old.manifestDigest);
    expect(stored?.result.findings?.map((finding) => finding.id)).toEqual(["CVE-2099-1001"]);
    expect(stored?.dbBuiltAt).toBe("2026-01-01T00:00:00.000Z");
    const tags = (await store.sightings())
      .filter((sighting) => sighting.digest === old.manifestDigest)
      .map((sighting) => `${sighting.repository}:${sighting.tag}`);
    expect(tags.sort()).toEqual(["team/app:1.0", "team/web:2"]);
    const multiTags = (await store.sightings()).filter((sighting) => sighting.repository === "team/multi");
    expect(multiTags.map((sighting) => sighting.indexDigest)).toEqual([multi.indexDigest, multi.indexDigest]);
    // First sight of an image: all its findings are new in this run.
    expect(first.changes.map((change) => `${change.digest} ${change.kind} ${change.vulnerabilityId}`).sort()).toEqual(
      [`${old.manifestDigest} new CVE-2099-1001`, `${multi.images[0]!.manifestDigest} new CVE-2099-1001`].sort(),
    );
  });

  it("rescans after a database update: exactly the new advisories' findings, not one registry request", async () => {
    await buildSecdbDatabase(tmp, dbDir, DB_V2, new Date("2026-01-03T00:00:00Z"));
    const requestsBefore = registry.accessLog().length;
    const rescan = await rescanStore({ store, database: dbDir, now: new Date("2026-01-03T01:00:00Z") });
    // Derived from DB_V2 minus DB_V1 and each image's packages: openssl < 3.1.4-r2, zlib < 1.3.1-r0.
    const expected = [
      `${old.manifestDigest} new CVE-2099-1002`,
      `${old.manifestDigest} new CVE-2099-2001`,
      `${patched.manifestDigest} new CVE-2099-1002`,
      `${multi.images[0]!.manifestDigest} new CVE-2099-1002`,
      `${multi.images[1]!.manifestDigest} new CVE-2099-2001`,
    ].sort();
    const got = rescan.changes.map((change) => `${change.digest} ${change.kind} ${change.vulnerabilityId}`).sort();
    expect(got).toEqual(expected);
    expect(registry.accessLog().slice(requestsBefore)).toEqual([]);
    expect((await store.changes(rescan.runId)).length).toBe(expected.length);
    expect((await store.runs())[0]).toMatchObject({
      kind: "rescan",
      summary: { images: 5, newFindings: 5, fixedFindings: 0 },
    });
  });

  it("a second registry scan re-matches stored inventories: manifests only, no blob", async () => {
    const blobsBefore = blobGets().length;
    const again = await scanRegistry({
      store,
      host: registry.host,
      prefix: "team/app",
      database: dbDir,
      cacheDir: false,
      client: { pageSize: 2, ...FAST_RETRY },
      now: new Date("2026-01-04T00:00:00Z"),
    });
    expect(again.images.map((event) => event.outcome)).toEqual(["rematched", "rematched"]);
    expect(blobGets().length).toBe(blobsBefore);
    expect(again.changes).toEqual([]);
  });

  it("filters by --tags glob, --since (config created time) and --max-images", async () => {
    const filtered = await scanRegistry({
      store,
      host: registry.host,
      prefix: "team/app",
      tags: "1.*",
      sinceMs: 86_400_000,
      reinventory: true,
      database: dbDir,
      cacheDir: false,
      client: FAST_RETRY,
      now: new Date("2026-01-04T12:00:00Z"),
    });
    // 1.0 -> old, 1.1 -> patched; latest is left out by the glob. Both were built "1970-01-01": too old.
    expect(filtered.images.map((event) => event.target.tags.map((t) => t.tag).join(",")).sort()).toEqual([
      "1.0",
      "1.1",
    ]);
    expect(filtered.images.map((event) => `${event.outcome} ${event.message}`)).toEqual([
      "skipped created before --since",
      "skipped created before --since",
    ]);
    const capped = await scanRegistry({
      store,
      host: registry.host,
      prefix: "team",
      maxImages: 1,
      database: dbDir,
      cacheDir: false,
      client: { pageSize: 2, ...FAST_RETRY },
      now: new Date("2026-01-04T13:00:00Z"),
    });
    expect(capped.images).toHaveLength(1);
  });

  it("reports a fixed finding when a tag's image is patched in the database's eyes", async () => {
    // DB v3 withdraws nothing but says openssl 3.1.4-r0 was never affected by CVE-2099-1001 (fixed at 0).
    await buildSecdbDatabase(
      tmp,
      dbDir,
      { openssl: { "0": ["CVE-2099-1001"], "3.1.4-r2": ["CVE-2099-1002"] }, zlib: DB_V2.zlib! },
      new Date("2026-01-05T00:00:00Z"),
    );
    const rescan = await rescanStore({ store, database: dbDir, now: new Date("2026-01-05T01:00:00Z") });
    const got = rescan.changes.map((change) => `${change.digest} ${change.kind} ${change.vulnerabilityId}`).sort();
    expect(got).toEqual(
      [`${old.manifestDigest} fixed CVE-2099-1001`, `${multi.images[0]!.manifestDigest} fixed CVE-2099-1001`].sort(),
    );
  });

  it("registry report --cve lists the running workloads of the affected digests, and a Running count per image", async () => {
    const host = registry.host;
    const amd64 = multi.images[0]!.manifestDigest;
    const arm64 = multi.images[1]!.manifestDigest;
    const web = { cluster: "prod", namespace: "shop", workload: "Deployment/web", container: "web" };
    // An earlier inventory of prod saw another workload: only each cluster's latest inventory counts.
    await recordClusterWorkloads(
      store,
      [{ ...web, workload: "Deployment/retired", image: `${host}/team/app:1.1`, digest: patched.manifestDigest }],
      "2026-01-06T00:00:00.000Z",
    );
    await recordClusterWorkloads(
      store,
      [
        { ...web, image: `${host}/team/app:1.0`, digest: old.manifestDigest },
        // The tag now points at patched: drift.
        { ...web, container: "sidecar", image: `${host}/team/app:latest`, digest: old.manifestDigest },
        { ...web, workload: "StatefulSet/multi", container: "m", image: `${host}/team/multi:v1`, digest: amd64 },
        { ...web, namespace: "ops", workload: "Job/old", container: "x", image: `${host}/team/gone:1`, digest: GONE },
      ],
      "2026-01-07T00:00:00.000Z",
    );
    await recordClusterWorkloads(
      store,
      [
        {
          cluster: "stage",
          namespace: "qa",
          workload: `Deployment/${HOSTILE}`,
          container: "c\u001b[31m",
          image: `${host}/team/app:1.1`,
          digest: patched.manifestDigest,
        },
      ],
      "2026-01-07T00:00:00.000Z",
    );
    // After the rescans above: openssl < 3.1.4-r2 has CVE-2099-1002 (old, patched, multi amd64).
    const report = await buildInventoryReport(store, { cve: "cve-2099-1002", now: new Date("2026-01-08T00:00:00Z") });
    expect(report.cve?.workloads).toEqual([
      {
        ...web,
        workload: "Deployment/web",
        container: "sidecar",
        image: `${host}/team/app:latest`,
        digest: old.manifestDigest,
      },
      { ...web, image: `${host}/team/app:1.0`, digest: old.manifestDigest },
      { ...web, workload: "StatefulSet/multi", container: "m", image: `${host}/team/multi:v1`, digest: amd64 },
      {
        cluster: "stage",
        namespace: "qa",
        workload: `Deployment/${HOSTILE}`,
        container: "c\u001b[31m",
        image: `${host}/team/app:1.1`,
        digest: patched.manifestDigest,
      },
    ]);
    const runningOf = new Map(report.images.map((row) => [row.digest, row.running]));
    expect(Object.fromEntries(runningOf)).toEqual({
      [old.manifestDigest]: 1, // prod/shop/Deployment/web (two containers, one workload)
      [patched.manifestDigest]: 1, // stage only: prod's Deployment/retired is not in prod's latest inventory
      [amd64]: 1,
      [arm64]: 0,
      [clean.manifestDigest]: 0,
    });
    // Five image/digest pairs run: four with findings (app:1.0, app:latest, multi, app:1.1), latest drifted,
    // gone never scanned; no policy, so none denied.
    expect(report.running).toEqual({
      clusters: 2,
      containers: 5,
      images: 5,
      exposed: 4,
      drift: 1,
      neverScanned: 1,
      denied: 0,
    });

    const json = JSON.parse(renderInventoryReport("json", report));
    expect(json.cve.workloads[3].workload).toBe(`Deployment/${HOSTILE}`);
    expect(json.images.find((row: { digest: string }) => row.digest === old.manifestDigest)).toMatchObject({
      findings: 2,
      running: 1,
    });
    const table = renderInventoryReport("table", report);
    expect(table).toMatch(/^WORST +FINDINGS +DIGEST +PLATFORM +RUNNING +TAGS$/m);
    expect(table).toContain("Running in 4 containers:");
    expect(table).toContain(`  prod shop Deployment/web web ${host}/team/app:1.0 ${old.manifestDigest.slice(7, 19)}`);
    expect(table).toContain(
      "Running: 5 containers in 2 clusters run 5 images: 4 with findings, 1 drifted from their tag, 1 never scanned, 0 denied",
    );
    expect(table).not.toContain("\u001b");
    const markdown = renderInventoryReport("markdown", report);
    expect(markdown).toContain("| Worst | Findings | Digest | Platform | Running | Tags |");
    expect(markdown).toContain("| Cluster | Namespace | Workload | Container | Image | Digest |");
    expect(markdown).toContain("Deployment/&lt;/script&gt;&lt;img src=x onerror=alert\\(1\\)&gt;\\|\\*\\[x\\]\\(y\\)");
    expect(markdown).not.toContain("<img");
    const html = renderInventoryReport("html", report);
    expect(html).toContain("<td>Deployment/&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;|*[x](y)</td>");
    expect(html).not.toContain("<img");
    expect(html).toContain("<th>Running</th>");
    expect(html).not.toContain("\u001b");
  });
}

describeWithRegistry("registry inventory on a real docker-registry, SQLite store (catalog pages of 2)", () =>
  inventorySuite("SQLite"),
);
if (POSTGRES_BIN) {
  describeWithRegistry("registry inventory on a real docker-registry, PostgreSQL store (catalog pages of 2)", () =>
    inventorySuite("PostgreSQL"),
  );
} else {
  describe.skip(`registry inventory, PostgreSQL store (skipped: ${POSTGRES_UNAVAILABLE})`, () =>
    inventorySuite("PostgreSQL"));
}
