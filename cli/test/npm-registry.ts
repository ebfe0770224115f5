/**
 * A package registry on 127.0.0.1 for install tests: `npm install` talks to it exactly as to
 * registry.npmjs.org (packuments, then tarballs checked against their integrity), so the tests resolve
 * dependency ranges the way a user's install does, without the network.
 *
 * Our packages come from `npm pack` tarballs. Third-party packages are the versions the repository's
 * package-lock.json pins, served from the local npm cache that `npm ci` filled (npm keeps every tarball
 * there under its sha512). The local cache alone cannot serve `npm install --offline`: `npm ci` stores
 * tarballs but not the packuments that range resolution needs, hence this registry.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import semver from "semver";

export interface PackedPackage {
  name: string;
  version: string;
  filename: string;
  integrity: string;
  /** The package.json inside the tarball, as the registry will publish it. */
  manifest: Record<string, unknown>;
}

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, unknown>;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  license?: string;
  hasInstallScript?: boolean;
}

interface VersionDoc {
  doc: Record<string, unknown>;
  file: () => string;
}

/** The package.json inside an `npm pack` tarball. */
export function manifestOf(tarball: string): Record<string, unknown> {
  const read = spawnSync("tar", ["-xzOf", tarball, "package/package.json"], { encoding: "utf8" });
  if (read.status !== 0) throw new Error(`cannot read package/package.json from ${tarball}: ${read.stderr}`);
  return JSON.parse(read.stdout) as Record<string, unknown>;
}

/**
 * Packs workspaces with `npm pack` (the same command `npm publish` runs) into `destination`.
 * Returns one entry per workspace, in the order given.
 */
export function packWorkspaces(repoRoot: string, workspaces: string[], destination: string): PackedPackage[] {
  const args = ["pack", "--json", "--pack-destination", destination, ...workspaces.flatMap((ws) => ["-w", ws])];
  const run = spawnSync("npm", args, { cwd: repoRoot, encoding: "utf8", maxBuffer: 1 << 26 });
  if (run.status !== 0) throw new Error(`npm pack failed: ${run.stderr}`);
  const packed = JSON.parse(run.stdout) as { name: string; version: string; filename: string; integrity: string }[];
  return packed.map((entry) => {
    const file = path.join(destination, entry.filename);
    return { ...entry, filename: file, manifest: manifestOf(file) };
  });
}

/**
 * What `npm pack` puts in a workspace's tarball, as a hash: package.json, the README/LICENSE/CHANGELOG
 * npm always adds, every file under the `files` entries, and the repository LICENSE its prepack copies.
 * Hashing a superset is safe: at worst a change npm would not pack costs one more pack.
 */
function packedContentKey(repoRoot: string, workspaces: string[]): string {
  const hash = createHash("sha256");
  const add = (file: string) => {
    hash.update(`${path.relative(repoRoot, file)}\0`);
    hash.update(readFileSync(file));
    hash.update("\0");
  };
  const walk = (entry: string) => {
    if (!existsSync(entry)) return;
    if (!statSync(entry).isDirectory()) return add(entry);
    for (const name of readdirSync(entry).sort()) walk(path.join(entry, name));
  };
  walk(path.join(repoRoot, "LICENSE"));
  for (const workspace of workspaces) {
    const dir = path.join(repoRoot, workspace);
    const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { files?: string[] };
    hash.update(`workspace ${workspace}\0`);
    for (const name of readdirSync(dir).sort()) {
      if (name === "package.json" || /^(readme|license|licence|changelog)/i.test(name)) walk(path.join(dir, name));
    }
    for (const entry of manifest.files ?? []) walk(path.join(dir, entry));
  }
  return hash.digest("hex").slice(0, 20);
}

/**
 * `packWorkspaces`, once per state of the packed files: several suites (install, CI examples, the
 * container image) install the same tarballs, and each `npm pack` of the five workspaces costs
 * seconds. Kept in the temp dir under a key of their content (packedContentKey), so a rebuilt tree
 * packs again; suites running at once race to publish the folder by rename, the loser uses the
 * winner's. With `destination`, the tarballs are copied there (a build context wants them in place).
 */
export function packWorkspacesOnce(repoRoot: string, workspaces: string[], destination?: string): PackedPackage[] {
  const cache = path.join(os.tmpdir(), `stowaway-packs-${packedContentKey(repoRoot, workspaces)}`);
  const index = path.join(cache, "packed.json");
  if (!existsSync(index)) {
    const staging = mkdtempSync(`${cache}.tmp-`);
    const packed = packWorkspaces(repoRoot, workspaces, staging);
    const entries = packed.map((entry) => ({ ...entry, filename: path.basename(entry.filename) }));
    writeFileSync(path.join(staging, "packed.json"), JSON.stringify(entries));
    try {
      renameSync(staging, cache);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // packed meanwhile by another suite
    }
  }
  const packed = (JSON.parse(readFileSync(index, "utf8")) as PackedPackage[]).map((entry) => ({
    ...entry,
    filename: path.join(cache, entry.filename),
  }));
  if (!destination) return packed;
  return packed.map((entry) => {
    const copy = path.join(destination, path.basename(entry.filename));
    copyFileSync(entry.filename, copy);
    return { ...entry, filename: copy };
  });
}

/** Where npm's cache (cacache) keeps the content with this integrity. */
function cachedContent(cacheDir: string, integrity: string): string {
  const [algorithm, base64] = integrity.split(/\s+/)[0]!.split("-", 2) as [string, string];
  const hex = Buffer.from(base64, "base64").toString("hex");
  return path.join(cacheDir, "_cacache", "content-v2", algorithm, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
}

function userNpmCache(): string {
  const run = spawnSync("npm", ["config", "get", "cache"], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`npm config get cache failed: ${run.stderr}`);
  return run.stdout.trim();
}

export interface LocalRegistry {
  url: string;
  /** Every tarball request, as `name@version`, to assert what an install fetched. */
  served: string[];
  /** Tarballs asked for but absent from the npm cache (run `npm ci` to fill it). */
  missing: string[];
  close: () => Promise<void>;
}

/**
 * Starts the registry with our packed packages and every third-party version in `lockFile`.
 * A third-party tarball missing from the npm cache answers 404 with a message naming it.
 */
export async function startLocalRegistry(ours: PackedPackage[], lockFile: string): Promise<LocalRegistry> {
  const npmCache = userNpmCache();
  const packuments = new Map<string, Map<string, VersionDoc>>();
  const add = (name: string, version: string, entry: VersionDoc): void => {
    let versions = packuments.get(name);
    if (!versions) packuments.set(name, (versions = new Map()));
    versions.set(version, entry);
  };

  const lock = JSON.parse(readFileSync(lockFile, "utf8")) as { packages: Record<string, LockEntry> };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key.includes("node_modules/") || entry.link || !entry.version || !entry.integrity) continue;
    const name = key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);
    if (name.startsWith("@stowaway/")) continue;
    const { resolved: _resolved, integrity, hasInstallScript: _scripts, ...fields } = entry;
    add(name, entry.version, {
      doc: { name, ...fields, dist: { integrity } },
      file: () => cachedContent(npmCache, integrity),
    });
  }
  for (const packed of ours) {
    add(packed.name, packed.version, {
      doc: { ...packed.manifest, dist: { integrity: packed.integrity } },
      file: () => packed.filename,
    });
  }

  const served: string[] = [];
  const missing: string[] = [];
  const tarballs: { id: string; file: () => string }[] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const tarball = /^\/-\/tarball\/(\d+)$/.exec(url.pathname);
    if (request.method === "GET" && tarball) {
      const entry = tarballs[Number(tarball[1])];
      const file = entry?.file();
      if (!entry || !file || !existsSync(file)) {
        missing.push(entry?.id ?? url.pathname);
        response.writeHead(404, { "content-type": "text/plain" }).end(`${entry?.id ?? "?"} is not in the npm cache`);
        return;
      }
      served.push(entry.id);
      response.writeHead(200, { "content-type": "application/octet-stream" });
      createReadStream(file).pipe(response);
      return;
    }
    const name = decodeURIComponent(url.pathname.slice(1));
    const versions = request.method === "GET" ? packuments.get(name) : undefined;
    if (!versions) {
      response.writeHead(404, { "content-type": "application/json" }).end('{"error":"Not found"}');
      return;
    }
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const docs: Record<string, unknown> = {};
    for (const [version, entry] of versions) {
      const id = `${name}@${version}`;
      let index = tarballs.findIndex((known) => known.id === id);
      if (index < 0) index = tarballs.push({ id, file: entry.file }) - 1;
      const dist = { ...(entry.doc.dist as object), tarball: `${base}/-/tarball/${index}` };
      docs[version] = { ...entry.doc, version, dist };
    }
    const latest = semver.rsort([...versions.keys()])[0]!;
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ name, "dist-tags": { latest }, versions: docs }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    served,
    missing,
    // Every install is over when a suite closes the registry: a socket npm (or a child it left
    // behind) still holds open must not keep close() waiting until the hook times out.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The environment for an `npm` run that sees nothing of this machine's npm setup or of the
 * workspace around the tests: its own HOME (no ~/.npmrc), its own cache, and only our registry.
 */
export function isolatedNpmEnv(registry: string, home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    TMPDIR: process.env.TMPDIR,
    npm_config_registry: registry,
    npm_config_cache: path.join(home, ".npm"),
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
    npm_config_loglevel: "error",
    // Packuments fetched once are reused by later installs in the same test, as on a CI cache.
    npm_config_prefer_offline: "true",
  };
}
