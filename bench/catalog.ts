/**
 * Language-cataloger benchmark (wired into `npm run bench` by the lead; not run by tests): builds
 * one gzip layer holding BENCH_JARS real Java archives from ../shared copied under different names,
 * BENCH_DIST_INFOS Python dist-info directories, the real Go and Rust binaries and some filler, then
 * times walkLayer over it with the OS catalogers only (the decompression-and-tar floor every scan
 * pays) and with the language catalogers added. The difference is the language catalogers' cost.
 * Peak memory is left to run.ts (whole-process RSS here would mostly measure the generated layer).
 * Numbers are measurements of this machine, not assertions.
 */
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  defaultCatalogers,
  defaultOsDetector,
  isFileCataloger,
  type FileCataloger,
} from "../core/src/catalog/index.js";
import { wantedBy } from "../core/src/catalog/inventory.js";
import { walkLayer, type LayerSnapshot } from "../core/src/image/layer-walker.js";
import { buildLayer, type LayerEntry } from "../core/test/helpers/image-builder.js";

const root = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const shared = path.resolve(root, "../shared");
const JARS = Number(process.env.BENCH_JARS ?? 300);
const DIST_INFOS = Number(process.env.BENCH_DIST_INFOS ?? 2000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LANGUAGE = new Set(["python", "java", "golang", "rust", "dotnet", "php", "ruby"]);

function layerEntries(): LayerEntry[] {
  const archives = ["trivy-test.war", "trivy-test.jar", "trivy-test.par"].map((name) => ({
    extension: path.extname(name),
    content: readFileSync(path.join(shared, "fixtures/java-archives", name)),
  }));
  const entries: LayerEntry[] = [];
  for (let i = 0; i < JARS; i += 1) {
    const { extension, content } = archives[i % archives.length]!;
    entries.push({ path: `opt/app${i % 7}/lib/component-${i}-1.${i}.0${extension}`, content });
  }
  for (let i = 0; i < DIST_INFOS; i += 1) {
    const dir = `usr/local/lib/python3.12/site-packages/package_${i}-${i % 10}.${i % 7}.${i}.dist-info`;
    entries.push({
      path: `${dir}/METADATA`,
      content: `Metadata-Version: 2.1\nName: package_${i}\nVersion: ${i % 10}.${i % 7}.${i}\nLicense: MIT\n\n${"Long description. ".repeat(200)}`,
    });
    entries.push({ path: `${dir}/RECORD`, content: `package_${i}/__init__.py,sha256=abc,10\n`.repeat(20) });
    entries.push({
      path: `usr/local/lib/python3.12/site-packages/package_${i}/__init__.py`,
      content: "x = 1\n".repeat(50),
    });
  }
  const binaries = ["fixtures/binaries/go/trivy-executable_gobinary", "fixtures/binaries/rust/trivy-executable_rust"];
  for (let i = 0; i < 20; i += 1)
    entries.push({
      path: `usr/local/bin/tool-${i}`,
      content: readFileSync(path.join(shared, binaries[i % binaries.length]!)),
      mode: 0o755,
    });
  return entries;
}

async function timeWalk(
  blob: string,
  diffId: string,
  fileCatalogers: FileCataloger[],
  tempDir: string,
): Promise<{ seconds: number; snapshot: LayerSnapshot }> {
  const catalogers = defaultCatalogers();
  const wants = wantedBy(catalogers, defaultOsDetector());
  let best: { seconds: number; snapshot: LayerSnapshot } | undefined;
  for (let run = 0; run < RUNS; run += 1) {
    const start = process.hrtime.bigint();
    const snapshot = await walkLayer(createReadStream(blob), diffId, {
      what: "bench",
      wants,
      fileCatalogers,
      tempDir,
    });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (!best || seconds < best.seconds) best = { seconds, snapshot };
  }
  return best!;
}

async function main(): Promise<void> {
  if (!existsSync(path.join(shared, "fixtures/java-archives"))) {
    console.log(`skipped: ${shared}/fixtures is absent (the bench copies real archives and binaries from it)`);
    return;
  }
  const work = mkdtempSync(path.join(os.tmpdir(), "stowaway-bench-catalog-"));
  try {
    // The layer goes to disk and is streamed back, so peak RSS is the walk's, not the generator's.
    const { blob, diffId, gzipBytes, tarBytes } = await (async () => {
      const layer = await buildLayer(layerEntries());
      const file = path.join(work, "layer.tar.gz");
      writeFileSync(file, layer.blob);
      return { blob: file, diffId: layer.diffId, gzipBytes: layer.blob.length, tarBytes: layer.tar.length };
    })();
    const fileCatalogers = defaultCatalogers().filter((c): c is FileCataloger => isFileCataloger(c));
    const language = fileCatalogers.filter((c) => LANGUAGE.has(c.name));
    const others = fileCatalogers.filter((c) => !LANGUAGE.has(c.name));
    const floor = await timeWalk(blob, diffId, others, work);
    const withLanguage = await timeWalk(blob, diffId, [...others, ...language], work);
    const packages = [...withLanguage.snapshot.analyzed.values()].flat();
    const byCataloger = new Map<string, number>();
    for (const pkg of packages) byCataloger.set(pkg.type, (byCataloger.get(pkg.type) ?? 0) + 1);
    const rows = [
      ["walk", "seconds"],
      ["decompress + tar (no language catalogers)", floor.seconds.toFixed(2)],
      ["with language catalogers", withLanguage.seconds.toFixed(2)],
      ["language cataloging alone", (withLanguage.seconds - floor.seconds).toFixed(2)],
    ];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join("  "));
    console.log(
      `\nlayer: ${(gzipBytes / 1024 / 1024).toFixed(1)} MiB gzip, ${(tarBytes / 1024 / 1024).toFixed(1)} MiB tar; ` +
        `${JARS} Java archives, ${DIST_INFOS} dist-info dirs, 20 Go/Rust binaries`,
    );
    console.log(
      `found: ${[...byCataloger].map(([type, count]) => `${count} ${type}`).join(", ")}; warnings: ${withLanguage.snapshot.warnings.length}`,
    );
    console.log(`node ${process.version}, ${os.cpus().length} CPUs, best of ${RUNS} runs`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
