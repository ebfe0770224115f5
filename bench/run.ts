/**
 * `npm run bench`: wall time and peak RSS of `stowaway sbom` next to the decompression floor
 * (the fastest of pigz / gzip / zstd decompressing the same layer blobs to /dev/null), cold and
 * warm (layer cache), on the real Debian image from ../shared and on a zstd re-compression of it.
 * Prints a table; numbers are measurements of this machine, not assertions.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  buildImage,
  sha256,
  writeOciArchive,
  zstdUnavailableReason,
  type BuiltLayer,
} from "../core/test/helpers/image-builder.js";

const root = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const shared = path.resolve(root, "../shared");
const cli = path.join(root, "cli/dist/main.js");
const debianArchive = path.join(shared, "images/debian/bookworm-minbase.oci-archive.tar");
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

interface Measurement {
  seconds: number;
  maxRssMiB: number;
}

/** Runs a command under GNU time and returns its wall time and peak RSS (best of RUNS for time). */
function measure(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, runs = RUNS): Measurement {
  let best: Measurement | undefined;
  for (let run = 0; run < runs; run += 1) {
    const result = spawnSync("/usr/bin/time", ["-f", "%e %M", command, ...args], {
      env,
      encoding: "utf8",
      maxBuffer: 1 << 30,
    });
    if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr}`);
    const [seconds, kib] = result.stderr.trim().split("\n").at(-1)!.split(" ").map(Number);
    const measurement = { seconds: seconds!, maxRssMiB: kib! / 1024 };
    if (!best || measurement.seconds < best.seconds)
      best = { ...measurement, maxRssMiB: Math.max(best?.maxRssMiB ?? 0, measurement.maxRssMiB) };
  }
  return best!;
}

function have(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

/** Extracts the layer blobs of a single-image OCI archive to files, returning their paths. */
function extractLayers(archive: string, into: string): string[] {
  const read = (member: string): Buffer => {
    const result = spawnSync("tar", ["-xOf", archive, member], { maxBuffer: 1 << 30 });
    if (result.status !== 0) throw new Error(`cannot read ${member} from ${archive}`);
    return result.stdout;
  };
  const index = JSON.parse(read("index.json").toString()) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(read(`blobs/sha256/${index.manifests[0]!.digest.slice(7)}`).toString()) as {
    layers: { digest: string }[];
  };
  return manifest.layers.map((layer, i) => {
    const file = path.join(into, `layer-${i}`);
    writeFileSync(file, read(`blobs/sha256/${layer.digest.slice(7)}`));
    return file;
  });
}

function floorFor(blobs: string[], compression: "gzip" | "zstd"): { tool: string; seconds: number } {
  const candidates = compression === "gzip" ? ["pigz", "gzip"] : ["zstd"];
  let best: { tool: string; seconds: number } | undefined;
  for (const tool of candidates.filter(have)) {
    const script = blobs.map((blob) => `${tool} -dc '${blob}' > /dev/null`).join(" && ");
    const { seconds } = measure("sh", ["-c", script]);
    if (!best || seconds < best.seconds) best = { tool, seconds };
  }
  if (!best) throw new Error(`no ${compression} decompressor on PATH`);
  return best;
}

async function zstdVariant(gzipBlobs: string[], into: string): Promise<{ archive: string; blobs: string[] }> {
  const layers: BuiltLayer[] = gzipBlobs.map((blob, i) => {
    const tar = spawnSync("gzip", ["-dc", blob], { maxBuffer: 2 ** 30 }).stdout;
    const compressed = spawnSync("zstd", ["-q", "-3", "-c", "-"], { input: tar, maxBuffer: 2 ** 30 }).stdout;
    const file = path.join(into, `zstd-layer-${i}`);
    writeFileSync(file, compressed);
    return {
      blob: compressed,
      tar,
      diffId: sha256(tar),
      digest: sha256(compressed),
      mediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
    };
  });
  const image = buildImage({ layers });
  const archive = path.join(into, "debian-zstd.oci.tar");
  await writeOciArchive(archive, { images: [{ image }] });
  return { archive, blobs: layers.map((_, i) => path.join(into, `zstd-layer-${i}`)) };
}

function scanRow(
  label: string,
  archive: string,
  blobs: string[],
  compression: "gzip" | "zstd",
  work: string,
): string[][] {
  const floor = floorFor(blobs, compression);
  const cacheDir = path.join(work, `cache-${label}`);
  const args = [
    cli,
    "sbom",
    `oci-archive:${archive}`,
    "--format",
    "json",
    "--output",
    "/dev/null",
    "--cache-dir",
    cacheDir,
  ];
  const cold = measure(process.execPath, args, process.env, 1);
  const coldBest = [
    cold,
    ...Array.from({ length: RUNS - 1 }, () => {
      rmSync(cacheDir, { recursive: true, force: true });
      return measure(process.execPath, args, process.env, 1);
    }),
  ].reduce((a, b) =>
    b.seconds < a.seconds
      ? { ...b, maxRssMiB: Math.max(a.maxRssMiB, b.maxRssMiB) }
      : { ...a, maxRssMiB: Math.max(a.maxRssMiB, b.maxRssMiB) },
  );
  const warm = measure(process.execPath, args);
  const noCache = measure(process.execPath, [...args.slice(0, 7), "--no-cache"]);
  const size = blobs.reduce((sum, blob) => sum + statSync(blob).size, 0);
  return [
    [
      label,
      `${(size / 1024 / 1024).toFixed(1)} MiB`,
      `${floor.tool} ${floor.seconds.toFixed(2)}s`,
      `${coldBest.seconds.toFixed(2)}s`,
      `${(coldBest.seconds / floor.seconds).toFixed(2)}x`,
      `${warm.seconds.toFixed(2)}s`,
      `${((warm.seconds / coldBest.seconds) * 100).toFixed(0)}%`,
      `${noCache.seconds.toFixed(2)}s`,
      `${Math.max(coldBest.maxRssMiB, warm.maxRssMiB, noCache.maxRssMiB).toFixed(0)} MiB`,
    ],
  ];
}

async function main(): Promise<void> {
  if (!existsSync(cli)) throw new Error("cli/dist/main.js is missing: run `npm run build` first");
  if (!existsSync(debianArchive)) {
    console.log(`skipped: ${debianArchive} is absent (the bench reads the real Debian image from ../shared)`);
    return;
  }
  const work = mkdtempSync(path.join(os.tmpdir(), "stowaway-bench-"));
  try {
    const gzipBlobs = extractLayers(debianArchive, work);
    const rows = [["image", "layers", "floor", "sbom cold", "vs floor", "warm", "warm/cold", "no cache", "peak RSS"]];
    rows.push(...scanRow("debian gzip", debianArchive, gzipBlobs, "gzip", work));
    let zstdArchive: string | undefined;
    if (zstdUnavailableReason() === undefined && have("zstd")) {
      const variant = await zstdVariant(gzipBlobs, work);
      zstdArchive = variant.archive;
      rows.push(...scanRow("debian zstd", variant.archive, variant.blobs, "zstd", work));
    } else {
      console.log("zstd row skipped: install zstd");
    }
    // In-process figures leave out Node's start-up (~0.3 s), which dominates warm rescans of small images.
    const { scan } = (await import(path.join(root, "core/dist/index.js"))) as typeof import("../core/src/index.js");
    for (const [label, archive] of [
      ["debian gzip", debianArchive],
      ...(zstdArchive ? [["debian zstd", zstdArchive]] : []),
    ] as [string, string][]) {
      const inProcessCache = path.join(work, `in-process-${label.replace(" ", "-")}`);
      const started = performance.now();
      await scan(`oci-archive:${archive}`, { cacheDir: inProcessCache });
      const cold = performance.now() - started;
      const warmStart = performance.now();
      await scan(`oci-archive:${archive}`, { cacheDir: inProcessCache });
      const warm = performance.now() - warmStart;
      console.log(
        `${label}, in-process: cold ${(cold / 1000).toFixed(2)}s, warm ${(warm / 1000).toFixed(3)}s (${((warm / cold) * 100).toFixed(1)}% of cold)`,
      );
    }
    // Matching cost: the same cold scan with a database built from the real advisories in ../shared/vulns.
    const dbDir = path.join(work, "db");
    spawnSync(process.execPath, [cli, "db", "build", "--from", path.join(shared, "vulns"), "--db", dbDir], {
      stdio: "ignore",
    });
    const sbomArgs = [
      cli,
      "sbom",
      `oci-archive:${debianArchive}`,
      "--format",
      "json",
      "--output",
      "/dev/null",
      "--no-cache",
    ];
    const scanArgs = [
      cli,
      "scan",
      `oci-archive:${debianArchive}`,
      "--format",
      "json",
      "--output",
      "/dev/null",
      "--no-cache",
      "--db",
      dbDir,
    ];
    const sbomOnly = measure(process.execPath, sbomArgs);
    const withDb = measure(process.execPath, scanArgs);
    console.log(
      `scan with DB vs sbom alone (no layer cache): ${withDb.seconds.toFixed(2)}s vs ${sbomOnly.seconds.toFixed(2)}s = ${(withDb.seconds / sbomOnly.seconds).toFixed(2)}x (target <= 1.2x), peak RSS ${withDb.maxRssMiB.toFixed(0)} MiB\n`,
    );
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join("  "));
    console.log(
      `\nnode ${process.version}, ${os.cpus().length} CPUs, best of ${RUNS} runs; pigz ${have("pigz") ? "present" : "absent (apt-get install pigz)"}`,
    );
    console.log("targets: sbom <= 1.5x floor (gzip), <= 2x (zstd); peak RSS < 300 MiB; warm < 10% of cold");
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
