/**
 * The dashboard tests' world: a real docker-registry on 127.0.0.1 holding the demo image (two
 * repositories, three tags) and a small Alpine image, scanned into a SQLite store by the real
 * `registry scan` with the committed demo database and the minimal policy, then rescanned once so
 * the trend has two runs; the handler mounted in a node:http server of the test's own.
 */
import { existsSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { rescanStore } from "../../src/inventory/rescan.js";
import { scanRegistry } from "../../src/inventory/registry-scan.js";
import { loadPolicy } from "../../src/policy/load.js";
import { createDashboardHandler, type DashboardOptions } from "../../src/service/dashboard/index.js";
import { openStore } from "../../src/store/index.js";
import type { InventoryStore } from "../../src/store/types.js";
import { alpineImage } from "../inventory/fixtures.js";
import { pushArchive, pushImage } from "../helpers/registry-push.js";
import { startRegistry, type RegistryServer } from "../helpers/registry-server.js";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
export const DEMO_IMAGE = path.join(repo, "examples/demo/demo-image.oci.tar");
export const DEMO_DB = path.join(repo, "examples/demo/db");
export const MINIMAL_POLICY = path.join(repo, "examples/policies/minimal.yaml");
export const ASSET_DIR = path.join(repo, "core/dist/dashboard");

/** The demo's findings as its documentation and CLI tests state them (README, cli/test/scan.test.ts). */
export const DEMO_COUNTS = { critical: 9, high: 12, medium: 13, low: 1 } as const;

/** Builds the client bundle when the test runs before `npm run build` did. */
export async function ensureAssets(): Promise<void> {
  if (existsSync(path.join(ASSET_DIR, "app.js")) && existsSync(path.join(ASSET_DIR, "app.css"))) return;
  const { execFileSync } = await import("node:child_process");
  execFileSync(process.execPath, [path.join(repo, "core/src/service/dashboard/build-assets.mjs")], {
    stdio: "inherit",
  });
}

export interface Mounted {
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * The handler in a plain server; `token` makes /api/* answer 401 without `Bearer <token>`, as the
 * service does in front of it. Paths the handler declines answer 404 "not the dashboard's".
 */
export async function mountDashboard(options: DashboardOptions, token?: string): Promise<Mounted> {
  const handler = createDashboardHandler(options);
  const server = http.createServer((req, res) => {
    if (token && req.url?.startsWith("/api/") && req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { "Content-Type": "application/problem+json", "WWW-Authenticate": "Bearer" });
      res.end(JSON.stringify({ type: "about:blank", title: "Unauthorized", status: 401 }));
      return;
    }
    handler(req, res).then(
      (handled) => {
        if (handled) return;
        res.writeHead(404, { "Content-Type": "text/plain", "X-Not-Dashboard": "1" });
        res.end("not the dashboard's");
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface DemoWorld {
  registry: RegistryServer;
  store: InventoryStore;
  host: string;
  demoDigest: string;
  alpineDigest: string;
  stop(): Promise<void>;
}

/** `storeSpec`: a postgres:// URL, or absent for a SQLite file in `dir`. */
export async function demoWorld(dir: string, storeSpec?: string): Promise<DemoWorld> {
  const registry = await startRegistry({ kind: "plain" });
  try {
    const target = { baseUrl: registry.baseUrl };
    const demoDigest = await pushArchive(target, "demo/app", DEMO_IMAGE, "1.0");
    await pushArchive(target, "demo/app", DEMO_IMAGE, "latest");
    await pushArchive(target, "mirror/app", DEMO_IMAGE, "v1");
    const alpine = await alpineImage({ musl: "1.2.4-r2" });
    const alpineDigest = await pushImage(target, "tools/base", alpine, "3.19");
    const store = await openStore(storeSpec ?? path.join(dir, "inventory.sqlite"));
    const policy = await loadPolicy(MINIMAL_POLICY);
    const scanned = await scanRegistry({
      store,
      host: registry.host,
      database: DEMO_DB,
      policy,
      cacheDir: false,
      jobs: 1,
    });
    if (scanned.summary.failed > 0) throw new Error(`registry scan failed: ${JSON.stringify(scanned.images)}`);
    await rescanStore({ store, database: DEMO_DB, policy });
    return {
      registry,
      store,
      host: registry.host,
      demoDigest,
      alpineDigest,
      stop: async () => {
        await store.close();
        await registry.stop();
      },
    };
  } catch (error) {
    await registry.stop();
    throw error;
  }
}
