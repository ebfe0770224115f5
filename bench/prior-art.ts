/**
 * `npm run bench`, prior art (issue 13): snyk-docker-plugin, the TypeScript image inventory library
 * Snyk's CLI uses, against `stowaway scan` (inventory AND matching, with the bundled demo database)
 * on the same archives, cold (empty layer cache), best of BENCH_RUNS, each pair run in turn within a
 * round so both see the same load. The target is that snyk-docker-plugin takes >= 3x our time on
 * gzip images and >= 5x on zstd images.
 *
 * snyk-docker-plugin is installed once into the bench cache (outside the repository, never a
 * dependency of ours) with `npm install --ignore-scripts`: the newest version whose dependencies the
 * configured npm registry serves (BENCH_SNYK_VERSIONS, newest first, overrides the list tried). When
 * it cannot be installed (no registry) the table says so and the rest of the bench goes on.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { benchCacheDir, type BenchNode } from "./nodes.js";

/** Tried newest first: the registry this bench runs against may not serve the newest one's dependencies. */
const SNYK_VERSIONS = (process.env.BENCH_SNYK_VERSIONS ?? "9.20.2,9.8.0").split(",");

/** The script run per archive: one `scan` of snyk-docker-plugin, failing loudly when it fails. */
const SNYK_SCAN = [
  "const plugin = require('snyk-docker-plugin');",
  "plugin.scan({ path: process.argv[1] }).then((result) => {",
  "  if (!result.scanResults || result.scanResults.length === 0) { console.error('no scan results'); process.exit(1); }",
  "}, (error) => { console.error(String(error && error.message)); process.exit(1); });",
].join(" ");

export interface PriorArtImage {
  label: string;
  /** oci-archive:FILE targets (snyk-docker-plugin reads archives, not layout directories). */
  gzip: string;
  zstd?: string;
}

/** Installs snyk-docker-plugin into the bench cache once; its directory, or why it is absent. */
export function snykDockerPlugin(): { dir: string; version: string } | { missing: string } {
  const dir = path.join(benchCacheDir(), "snyk-docker-plugin");
  const installed = path.join(dir, "node_modules/snyk-docker-plugin/package.json");
  if (existsSync(installed)) {
    return { dir, version: (JSON.parse(readFileSync(installed, "utf8")) as { version: string }).version };
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "stowaway-bench-prior-art", private: true }));
  const failures: string[] = [];
  for (const version of SNYK_VERSIONS) {
    const result = spawnSync(
      "npm",
      ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--silent", `snyk-docker-plugin@${version}`],
      { cwd: dir, encoding: "utf8", timeout: 600_000 },
    );
    if (result.status === 0 && existsSync(installed)) return { dir, version };
    failures.push(`${version}: ${(result.stderr || result.error?.message || "").trim().split("\n").at(-1)}`);
  }
  return { missing: `snyk-docker-plugin could not be installed (${failures.join("; ")})` };
}

/**
 * Rows of ratios (snyk-docker-plugin's time over ours) per Node and image. `seconds` and `bestEach`
 * are speed.ts's timers; `scanCold` runs our cold scan of a target on a Node.
 */
export function priorArtRows(
  nodes: BenchNode[],
  images: PriorArtImage[],
  snyk: { dir: string },
  timers: {
    seconds: (command: string, args: string[], env?: NodeJS.ProcessEnv) => number;
    bestEach: (runs: (() => number)[]) => number[];
    scanCold: (node: BenchNode, target: string) => number;
  },
): string[][] {
  const rows: string[][] = [];
  const env = { ...process.env, NODE_PATH: path.join(snyk.dir, "node_modules") };
  for (const node of nodes) {
    for (const image of images) {
      const cells = [`${node.label}, ${image.label}`];
      for (const target of [image.gzip, image.zstd]) {
        if (!target) {
          cells.push("(no zstd)");
          continue;
        }
        const [ours, theirs] = timers.bestEach([
          () => timers.scanCold(node, target),
          () => timers.seconds(node.bin, ["-e", SNYK_SCAN, target], env),
        ]) as [number, number];
        cells.push(`${theirs.toFixed(2)}s / ${ours.toFixed(2)}s = ${(theirs / ours).toFixed(2)}x`);
      }
      rows.push(cells);
    }
  }
  return rows;
}
