/**
 * Scale benchmark phase (bench/scale.ts, issue 14): a real docker-registry on 127.0.0.1 holding
 * IMAGES images built from a few shared base layers (Alpine os-release + apk database), a shared
 * runtime layer per stack and a small application layer of npm packages per image; `registry scan`
 * (core's scanRegistry, as the CLI calls it) inventories and matches them against the database,
 * then `registry rescan` re-matches the stored inventories. The registry's own access log counts
 * blob fetches: every layer must be fetched (so decompressed) exactly once, and the rescan must
 * fetch nothing.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { openDatabase } from "@stowaway/core";
import { openStore, rescanStore, scanRegistry } from "@stowaway/core/inventory";
import { buildImage, buildLayer, type BuiltLayer } from "../../core/test/helpers/image-builder.js";
import { pushImage } from "../../core/test/helpers/registry-push.js";
import { HAS_REGISTRY, startRegistry } from "../../core/test/helpers/registry-server.js";
import { FEEDS, packageName, rng, skewed } from "./corpus.js";

export interface RegistryBenchResult {
  images: number;
  uniqueLayers: number;
  /** Layer blobs fetched from the registry during the scan (each fetch is one decompression). */
  layersDecompressed: number;
  /** Layer digests fetched more than once. */
  layersFetchedTwice: number;
  pushSeconds: number;
  scanSeconds: number;
  findings: number;
  rescanSeconds: number;
  rescanBlobRequests: number;
  skipped?: string;
}

const OS_RELEASE = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n';
const BASES = 5;
const RUNTIMES = 10;

async function baseLayer(index: number, scale: number): Promise<BuiltLayer> {
  const random = rng(7000 + index);
  const alpine = FEEDS.find((feed) => feed.folder === "Alpine")!;
  const packages = Math.max(1, Math.round(alpine.packages * Math.sqrt(scale)));
  const names = new Set<string>();
  while (names.size < 20) names.add(packageName(alpine, skewed(random, packages, 2)));
  const installed = [...names]
    .map(
      (name) =>
        `P:${name}\nV:${random() < 0.1 ? 1 : 12}.${index}.${Math.floor(random() * 9)}-r0\nA:x86_64\no:${name}\n`,
    )
    .join("\n");
  return buildLayer([
    { path: "etc/os-release", content: OS_RELEASE },
    { path: "lib/apk/db/installed", content: `${installed}\n` },
  ]);
}

async function npmLayer(prefix: string, seed: number, count: number, scale: number): Promise<BuiltLayer> {
  const random = rng(seed);
  const npm = FEEDS.find((feed) => feed.folder === "npm")!;
  const packages = Math.max(1, Math.round(npm.packages * Math.sqrt(scale)));
  const entries = new Map<string, string>();
  while (entries.size < count) {
    const name = packageName(npm, skewed(random, packages, 2));
    const version = `${random() < 0.2 ? Math.floor(random() * 5) : 12}.${Math.floor(random() * 9)}.${Math.floor(random() * 9)}`;
    entries.set(name, JSON.stringify({ name, version }));
  }
  return buildLayer(
    [...entries].map(([name, content]) => ({ path: `${prefix}/node_modules/${name}/package.json`, content })),
  );
}

export async function registryBench(options: {
  images: number;
  dbDir: string;
  work: string;
  scale: number;
}): Promise<RegistryBenchResult> {
  const empty = {
    images: options.images,
    uniqueLayers: 0,
    layersDecompressed: 0,
    layersFetchedTwice: 0,
    pushSeconds: 0,
    scanSeconds: 0,
    findings: 0,
    rescanSeconds: 0,
    rescanBlobRequests: 0,
  };
  if (!HAS_REGISTRY) return { ...empty, skipped: "no /usr/bin/docker-registry" };
  const registry = await startRegistry({ kind: "plain" }, { accessLog: true });
  try {
    const pushing = performance.now();
    const bases = await Promise.all(Array.from({ length: BASES }, (_, i) => baseLayer(i, options.scale)));
    const runtimes = await Promise.all(
      Array.from({ length: RUNTIMES }, (_, i) => npmLayer("usr/lib/runtime", 100 + i, 30, options.scale)),
    );
    const layers = new Set<string>();
    for (let i = 0; i < options.images; i++) {
      const app = await npmLayer(`srv/app${i}`, 1000 + i, 10, options.scale);
      const image = buildImage({ layers: [bases[i % BASES]!, runtimes[i % RUNTIMES]!, app] });
      for (const layer of image.layers) layers.add(layer.digest);
      await pushImage({ baseUrl: registry.baseUrl }, `team${i % 10}/app${i}`, image, "1.0");
    }
    const pushSeconds = (performance.now() - pushing) / 1000;
    const pushedRequests = registry.accessLog().length;

    const cacheDir = path.join(options.work, "registry-cache");
    mkdirSync(cacheDir, { recursive: true });
    const storeFile = path.join(options.work, "registry-store.sqlite");
    const database = await openDatabase(options.dbDir);
    let store = await openStore(storeFile);
    const scanning = performance.now();
    const scan = await scanRegistry({
      store,
      host: registry.host,
      database,
      cacheDir,
      jobs: 2,
      registry: { insecure: true },
    } as Parameters<typeof scanRegistry>[0]);
    await store.close();
    const scanSeconds = (performance.now() - scanning) / 1000;
    const failed = scan.images.filter((event) => event.outcome === "failed");
    if (failed.length > 0) throw new Error(`registry scan failed for ${failed.length} images: ${failed[0]!.message}`);
    const scanLog = registry.accessLog().slice(pushedRequests);
    const fetched = new Map<string, number>();
    for (const line of scanLog) {
      const digest = /^GET \/v2\/.+\/blobs\/(sha256:[0-9a-f]{64})/.exec(line)?.[1];
      if (digest && layers.has(digest)) fetched.set(digest, (fetched.get(digest) ?? 0) + 1);
    }

    const rescanning = performance.now();
    store = await openStore(storeFile);
    await rescanStore({ store, database });
    await store.close();
    const rescanSeconds = (performance.now() - rescanning) / 1000;
    const rescanBlobRequests = registry
      .accessLog()
      .slice(pushedRequests + scanLog.length)
      .filter((line) => line.includes("/blobs/")).length;
    await database.close();
    return {
      images: options.images,
      uniqueLayers: layers.size,
      layersDecompressed: [...fetched.values()].reduce((sum, n) => sum + n, 0),
      layersFetchedTwice: [...fetched.values()].filter((n) => n > 1).length,
      pushSeconds,
      scanSeconds,
      findings: scan.changes.filter((change) => change.kind === "new").length,
      rescanSeconds,
      rescanBlobRequests,
    };
  } finally {
    await registry.stop();
  }
}
