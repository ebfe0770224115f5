/**
 * Scale benchmark (`npm run bench`, issues 11, 13 and 14):
 *   1. a full-size vulnerability database (all OSV ecosystems, ~600k records, plus ~250k NVD CVEs,
 *      synthetic in the real formats: bench/scale/corpus.ts) built through `stowaway db build --from`,
 *      with the build's wall time and peak RSS (GNU time) and the size on disk;
 *   2. 2,000 packages (Debian, Ubuntu and Alpine bases plus eight language ecosystems) matched against
 *      it in a fresh process;
 *   3. a registry rescan of 10,000 stored inventories (BENCH_RESCAN_IMAGES; written straight into a
 *      SQLite store) against it, twice: everything new, then nothing changed;
 *   4. a local docker-registry of 200 images sharing base layers inventoried by `registry scan` and
 *      rescanned by `registry rescan` (bench/scale/registry.ts).
 * The generated corpus is cached in the bench cache ($STOWAWAY_BENCH_CACHE, else
 * $XDG_CACHE_HOME/stowaway-bench or ~/.cache/stowaway-bench), so reruns skip generating it.
 * `--smoke` (BENCH_SCALE=0.002 style sizes, used by core/test/bench/scale-smoke.test.ts) runs every
 * phase in seconds. `BENCH_SCALE_DB=DIR` reuses a database built before from the same corpus (no build
 * phase). Numbers are measurements of this machine, not assertions.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { benchCacheDir } from "./nodes.js";
import { ensureCorpus } from "./scale/corpus.js";

const root = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const cli = path.join(root, "cli/dist/main.js");

export interface ScaleOptions {
  /** 1 = full size. */
  scale: number;
  lookups: number;
  rescanImages: number;
  registryImages: number;
  /** Where the generated corpus is cached. */
  cacheDir: string;
  /** Phases to run (default all). */
  phases?: Array<"build" | "lookup" | "rescan" | "registry">;
  /** A database built before from this corpus ($BENCH_SCALE_DB): the build phase is skipped. */
  prebuiltDb?: string;
}

export interface ScaleResults {
  records: number;
  cves: number;
  generatedSeconds?: number;
  build?: { seconds: number; maxRssMiB: number; diskMiB: number };
  lookup?: LookupResult;
  rescan?: RescanResult;
  registry?: import("./scale/registry.js").RegistryBenchResult;
}

export interface LookupResult {
  packages: number;
  openMs: number;
  coldMs: number;
  /** CPU time of open + cold match (wall time on a shared machine also counts waiting for a core). */
  coldCpuMs: number;
  warmMs: number;
  findings: number;
  maxRssMiB: number;
}

export interface RescanResult {
  images: number;
  packages: number;
  fillSeconds: number;
  firstSeconds: number;
  firstCpuSeconds: number;
  secondSeconds: number;
  secondCpuSeconds: number;
  firstChanges: number;
  secondChanges: number;
  storeMiB: number;
  maxRssMiB: number;
}

/** Runs `args` under GNU time: wall seconds and peak RSS of that process alone. */
function timed(args: string[]): { seconds: number; maxRssMiB: number; stdout: string } {
  const result = spawnSync("/usr/bin/time", ["-f", "%e %M", ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (result.status !== 0) throw new Error(`${args.slice(0, 4).join(" ")} failed: ${result.stderr.slice(-2000)}`);
  const [seconds, kib] = result.stderr.trim().split("\n").at(-1)!.split(" ").map(Number);
  return { seconds: seconds!, maxRssMiB: kib! / 1024, stdout: result.stdout };
}

function duMiB(dir: string): number {
  const result = spawnSync("du", ["-sk", dir], { encoding: "utf8" });
  return Number(result.stdout.split("\t")[0]) / 1024;
}

/** A phase in a fresh process (tsx), so its peak RSS and caches are its own; returns its last JSON line. */
function phase<T>(name: string, args: string[]): T {
  const script = path.join(root, "bench/scale", `${name}.ts`);
  const tsx = path.join(root, "node_modules/.bin/tsx");
  const { stdout, maxRssMiB } = timed([tsx, script, ...args]);
  const value = JSON.parse(stdout.trim().split("\n").at(-1)!) as T & { maxRssMiB?: number };
  return { ...value, maxRssMiB: value.maxRssMiB ?? maxRssMiB };
}

export async function runScale(options: ScaleOptions): Promise<ScaleResults> {
  const phases = new Set(options.phases ?? ["build", "lookup", "rescan", "registry"]);
  const corpus = await ensureCorpus(path.join(options.cacheDir, `scale-corpus-v2-${options.scale}`), options.scale);
  const results: ScaleResults = {
    records: corpus.records,
    cves: corpus.cves,
    ...(corpus.generatedSeconds !== undefined ? { generatedSeconds: corpus.generatedSeconds } : {}),
  };
  const work = mkdtempSync(path.join(os.tmpdir(), "stowaway-bench-scale-"));
  try {
    const dbDir = options.prebuiltDb ?? path.join(work, "db");
    if (!options.prebuiltDb) {
      const build = timed([
        process.execPath,
        cli,
        "db",
        "build",
        "--db",
        dbDir,
        "--from",
        path.join(corpus.dir, "osv"),
        path.join(corpus.dir, "nvd"),
      ]);
      results.build = { seconds: build.seconds, maxRssMiB: build.maxRssMiB, diskMiB: duMiB(dbDir) };
    }
    if (phases.has("lookup"))
      results.lookup = phase<LookupResult>("lookup", [dbDir, String(options.lookups), String(options.scale)]);
    if (phases.has("rescan"))
      results.rescan = phase<RescanResult>("rescan", [
        dbDir,
        path.join(work, "store.sqlite"),
        String(options.rescanImages),
        String(options.scale),
      ]);
    if (phases.has("registry")) {
      const { registryBench } = await import("./scale/registry.js");
      results.registry = await registryBench({ images: options.registryImages, dbDir, work, scale: options.scale });
    }
    return results;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function formatScale(results: ScaleResults, options: ScaleOptions): string {
  const rows: Array<[string, string, string]> = [];
  rows.push(["database input", `${results.records} OSV records, ${results.cves} NVD CVEs`, ""]);
  if (results.generatedSeconds !== undefined)
    rows.push(["corpus generation (cached)", `${results.generatedSeconds.toFixed(1)} s`, ""]);
  if (results.build) {
    rows.push(["db build --from: time", `${results.build.seconds.toFixed(1)} s`, ""]);
    rows.push([
      "db build --from: peak RSS",
      `${results.build.maxRssMiB.toFixed(0)} MiB`,
      results.build.maxRssMiB < 1024 ? "< 1 GiB ok" : "OVER 1 GiB",
    ]);
    rows.push(["db on disk", `${results.build.diskMiB.toFixed(0)} MiB`, ""]);
  }
  const lookup = results.lookup;
  if (lookup) {
    rows.push(["open database", `${lookup.openMs.toFixed(0)} ms`, ""]);
    rows.push([
      `match ${lookup.packages} packages, cold`,
      `${lookup.coldMs.toFixed(0)} ms wall, ${lookup.coldCpuMs.toFixed(0)} ms CPU with open (${lookup.findings} findings)`,
      lookup.openMs + lookup.coldMs < 1000 ? "< 1 s ok" : "OVER 1 s",
    ]);
    rows.push([`match ${lookup.packages} packages, warm`, `${lookup.warmMs.toFixed(0)} ms`, ""]);
    rows.push(["lookup process peak RSS", `${lookup.maxRssMiB.toFixed(0)} MiB`, ""]);
  }
  const rescan = results.rescan;
  if (rescan) {
    const per = (seconds: number) => `${((seconds * 1000) / rescan.images).toFixed(2)} s per 1,000 images`;
    rows.push([
      `store of ${rescan.images} inventories`,
      `${rescan.packages} packages, ${rescan.storeMiB.toFixed(0)} MiB`,
      "",
    ]);
    rows.push(["  written in", `${rescan.fillSeconds.toFixed(1)} s`, ""]);
    rows.push([
      "rescan 1 (all findings new)",
      `${rescan.firstSeconds.toFixed(1)} s (${rescan.firstCpuSeconds.toFixed(1)} s CPU), ${per(rescan.firstSeconds)}, ${rescan.firstChanges} changes`,
      rescan.firstSeconds < 60 ? "< 60 s ok" : "OVER 60 s",
    ]);
    rows.push([
      "rescan 2 (same DB, daily case)",
      `${rescan.secondSeconds.toFixed(1)} s (${rescan.secondCpuSeconds.toFixed(1)} s CPU), ${per(rescan.secondSeconds)}, ${rescan.secondChanges} changes`,
      rescan.secondSeconds < 60 ? "< 60 s ok" : "OVER 60 s",
    ]);
    rows.push(["rescan process peak RSS", `${rescan.maxRssMiB.toFixed(0)} MiB`, ""]);
  }
  const registry = results.registry;
  if (registry) {
    rows.push([
      `registry scan: ${registry.images} images`,
      `${registry.scanSeconds.toFixed(1)} s, ${registry.uniqueLayers} unique layers, ${registry.layersDecompressed} fetched+decompressed, ${registry.findings} findings`,
      registry.layersFetchedTwice === 0 ? "each once ok" : `${registry.layersFetchedTwice} LAYERS FETCHED TWICE`,
    ]);
    rows.push([
      "registry rescan",
      `${registry.rescanSeconds.toFixed(1)} s, ${registry.rescanBlobRequests} blob requests`,
      registry.rescanBlobRequests === 0 ? "no pull ok" : "PULLED",
    ]);
  }
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  const header = `scale benchmark (scale ${options.scale}: ${options.lookups} lookups, ${options.rescanImages} stored inventories, ${options.registryImages} registry images)`;
  return `${header}\n${rows.map((r) => `  ${r[0].padEnd(widths[0]!)}  ${r[1].padEnd(widths[1]!)}  ${r[2]}`.trimEnd()).join("\n")}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const smoke = process.argv.includes("--smoke");
  const only = process.argv.find((a) => a.startsWith("--only="))?.slice(7);
  const options: ScaleOptions = {
    scale: Number(process.env.BENCH_SCALE ?? (smoke ? 0.002 : 1)),
    lookups: smoke ? 200 : 2000,
    rescanImages: Number(process.env.BENCH_RESCAN_IMAGES ?? (smoke ? 50 : 10_000)),
    registryImages: smoke ? 6 : 200,
    cacheDir: benchCacheDir(),
    ...(only ? { phases: only.split(",") as ScaleOptions["phases"] } : {}),
    ...(process.env.BENCH_SCALE_DB ? { prebuiltDb: path.resolve(process.env.BENCH_SCALE_DB) } : {}),
  };
  const results = await runScale(options);
  process.stdout.write(formatScale(results, options));
  if (process.argv.includes("--json")) process.stdout.write(`${JSON.stringify(results)}\n`);
}
