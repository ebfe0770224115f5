/**
 * The image-level inventory cache (README "Caching and speed"): a warm rescan answers from one
 * stored inventory without walking or even reading a layer snapshot, gives the same result as the
 * cold scan, and anything that changes the inputs (another layer, a corrupt entry) is a miss.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { renderJson, renderJsonParts } from "../../src/report/json.js";
import { jsonLogSafeAlready } from "../../src/report/neutralize.js";
import type { ScanResult } from "../../src/result.js";
import { scan } from "../../src/scan.js";
import { STORED_CHUNK_BYTES, storedPackagesOf } from "../../src/stored-packages.js";
import { runBytes, writeFileAtomic } from "../../src/write-atomic.js";
import { buildImage, buildLayer, writeOciLayout, type LayerEntry } from "../helpers/image-builder.js";
import { tempDir } from "../helpers/temp-dir.js";

const root = tempDir("stowaway-inventory-cache-");
const OS_RELEASE = { path: "etc/os-release", content: 'ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine"\n' };
const apkStanza = (name: string, version: string): string => `P:${name}\nV:${version}\nA:x86_64\nL:MIT\n\n`;

async function layout(name: string, layers: LayerEntry[][]): Promise<string> {
  const dir = path.join(root, name);
  const built = await Promise.all(layers.map((entries) => buildLayer(entries)));
  await writeOciLayout(dir, { images: [{ image: buildImage({ layers: built }), tag: "t" }] });
  return `oci:${dir}:t`;
}

async function scanCounting(target: string, cacheDir: string): Promise<{ result: ScanResult; walked: number }> {
  let walked = 0;
  const result = await scan(target, {
    cacheDir,
    now: new Date("2025-01-01T00:00:00Z"),
    onProgress: (event) => {
      if (event.kind === "layer-start") walked += 1;
    },
  });
  return { result, walked };
}

const inventoryFiles = (cacheDir: string): string[] =>
  readdirSync(path.join(cacheDir, "inventories"), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));

describe("the inventory cache", () => {
  it("answers a warm rescan without the layer snapshots, with the cold scan's result", async () => {
    const target = await layout("two-layers", [
      [OS_RELEASE, { path: "lib/apk/db/installed", content: apkStanza("musl", "1.2.4-r2") }],
      [{ path: "lib/apk/db/installed", content: apkStanza("musl", "1.2.4-r2") + apkStanza("zlib", "1.3.1-r0") }],
    ]);
    const cacheDir = path.join(root, "cache-a");
    const cold = await scanCounting(target, cacheDir);
    expect(cold.walked).toBe(2);
    expect(cold.result.packages.map((pkg) => `${pkg.name}@${pkg.version}:${pkg.layerIndex}`)).toEqual([
      "musl@1.2.4-r2:0",
      "zlib@1.3.1-r0:1",
    ]);
    // Without the per-layer snapshots the warm scan can only have come from the inventory cache.
    rmSync(path.join(cacheDir, "layers"), { recursive: true, force: true });
    const warm = await scanCounting(target, cacheDir);
    expect(warm.walked).toBe(0);
    // The JSON report is written from the stored packages' text, parsed by no one, and is the cold one byte for byte.
    expect(storedPackagesOf(warm.result)).toBeDefined();
    expect(renderJson(warm.result)).toBe(renderJson(cold.result));
    expect(warm.result).toEqual(cold.result);
  });

  it("stores the package list log-safe, so a warm JSON report writes it as read, hostile names included", async () => {
    // A bidirectional override and an Azure logging command in package names and versions.
    const target = await layout("hostile", [
      [
        OS_RELEASE,
        {
          path: "lib/apk/db/installed",
          content: apkStanza("evil\u202etxt", "1##vso[task.setvariable]") + apkStanza("plain", "1"),
        },
      ],
    ]);
    const cacheDir = path.join(root, "cache-h");
    const cold = await scanCounting(target, cacheDir);
    expect(cold.result.packages.map((pkg) => pkg.name)).toContain("evil\u202etxt");
    const [file] = inventoryFiles(cacheDir);
    const stored = readFileSync(file!);
    const packagesText = stored.subarray(stored.indexOf(0x0a) + 1);
    // The neutraliser has nothing left to do on the stored text, which still parses to the packages.
    expect(jsonLogSafeAlready(packagesText)).toBe(true);
    expect(JSON.parse(packagesText.toString("utf8"))).toEqual(JSON.parse(JSON.stringify(cold.result.packages)));
    rmSync(path.join(cacheDir, "layers"), { recursive: true, force: true });
    const warm = await scanCounting(target, cacheDir);
    expect(warm.walked).toBe(0);
    expect(storedPackagesOf(warm.result)?.logSafe).toBe(true);
    const parts = renderJsonParts(warm.result);
    // The stored bytes are one of the runs written, left in the cache file (a deferred run), and the
    // document is the cold one.
    const deferred = parts.filter((part) => !(part instanceof Uint8Array));
    expect(deferred).toHaveLength(1);
    expect(Buffer.compare(Buffer.from(runBytes(deferred[0]!)), packagesText)).toBe(0);
    expect(Buffer.concat(parts.map(runBytes)).toString("utf8")).toBe(renderJson(cold.result));
    const out = path.join(root, "hostile-report.json");
    await writeFileAtomic(out, parts);
    expect(readFileSync(out, "utf8")).toBe(renderJson(cold.result));
    expect(renderJson(warm.result)).toBe(renderJson(cold.result));
  });

  it("does not take a stored entry's log-safety at its word: a tampered one is neutralised in the report", async () => {
    const target = await layout("tampered", [
      [OS_RELEASE, { path: "lib/apk/db/installed", content: apkStanza("victim", "1") }],
    ]);
    const cacheDir = path.join(root, "cache-t");
    const cold = await scanCounting(target, cacheDir);
    rmSync(path.join(cacheDir, "layers"), { recursive: true, force: true });
    const [file] = inventoryFiles(cacheDir);
    const stored = readFileSync(file!, "utf8");
    const header = JSON.parse(stored.slice(0, stored.indexOf("\n"))) as Record<string, unknown>;
    // As a poisoned CI cache would hold it: a raw Azure logging command in a package name.
    const packages = stored
      .slice(stored.indexOf("\n") + 1)
      .replace('"victim"', '"##vso[task.setvariable variable=x]y"');
    writeFileSync(file!, `${JSON.stringify({ ...header, packagesBytes: Buffer.byteLength(packages) })}\n${packages}`);
    const warm = await scanCounting(target, cacheDir);
    expect(warm.walked).toBe(0);
    // Rendered before anything reads the packages (reading them would leave the stored bytes behind).
    const report = Buffer.concat(renderJsonParts(warm.result).map(runBytes)).toString("utf8");
    expect(report).not.toContain("##vso[");
    expect(report).toBe(renderJson(warm.result));
    expect(warm.result.packages[0]?.name).toBe("##vso[task.setvariable variable=x]y");
    expect(cold.walked).toBe(1);
  });

  it('tells a stored list unsafe by a split "##" across the chunks it is checked in', async () => {
    const target = await layout("split", [
      [OS_RELEASE, { path: "lib/apk/db/installed", content: apkStanza("s", "1") }],
    ]);
    const cacheDir = path.join(root, "cache-s");
    await scanCounting(target, cacheDir);
    rmSync(path.join(cacheDir, "layers"), { recursive: true, force: true });
    const [file] = inventoryFiles(cacheDir);
    const stored = readFileSync(file!, "utf8");
    const header = JSON.parse(stored.slice(0, stored.indexOf("\n"))) as Record<string, unknown>;
    // One long string whose "##" straddles the first chunk's end: each chunk alone has one "#".
    const opening = '[\n    "';
    const packages = `${opening}${"a".repeat(STORED_CHUNK_BYTES - 1 - opening.length)}##vso[task.complete]x"\n  ]`;
    expect(packages.slice(STORED_CHUNK_BYTES - 1, STORED_CHUNK_BYTES + 1)).toBe("##");
    writeFileSync(file!, `${JSON.stringify({ ...header, packagesBytes: Buffer.byteLength(packages) })}\n${packages}`);
    const warm = await scanCounting(target, cacheDir);
    expect(warm.walked).toBe(0);
    expect(storedPackagesOf(warm.result)?.logSafe).toBe(false);
    const report = Buffer.concat(renderJsonParts(warm.result).map(runBytes)).toString("utf8");
    expect(report).not.toContain("##vso[");
    expect(report).toContain("#\\u0023vso[");
  });

  it("refuses to write a report from an entry rewritten after the scan read it, and reads none then", async () => {
    const target = await layout("rewritten", [
      [OS_RELEASE, { path: "lib/apk/db/installed", content: apkStanza("r", "1") }],
    ]);
    const cacheDir = path.join(root, "cache-r");
    const cold = await scanCounting(target, cacheDir);
    rmSync(path.join(cacheDir, "layers"), { recursive: true, force: true });
    const warm = await scanCounting(target, cacheDir);
    expect(warm.walked).toBe(0);
    const [file] = inventoryFiles(cacheDir);
    const stored = readFileSync(file!, "utf8");
    // Same length, other content, and a later modification time (the nanosecond clock of the write).
    writeFileSync(file!, stored.replace('"r"', '"x"'));
    const out = path.join(root, "rewritten-report.json");
    await expect(writeFileAtomic(out, renderJsonParts(warm.result))).rejects.toThrow(/changed while this scan used it/);
    expect(() => warm.result.packages).toThrow(/changed while this scan used it/);
    // A later scan takes the rewritten entry as it is now.
    const again = await scanCounting(target, cacheDir);
    expect(again.result.packages.map((pkg) => pkg.name)).toEqual(["x"]);
    expect(cold.result.packages.map((pkg) => pkg.name)).toEqual(["r"]);
  });

  it("misses on an entry cut short, in an older layout or with a foreign header", async () => {
    const target = await layout("cut", [[OS_RELEASE, { path: "lib/apk/db/installed", content: apkStanza("c", "3") }]]);
    const cacheDir = path.join(root, "cache-c");
    const cold = await scanCounting(target, cacheDir);
    rmSync(path.join(cacheDir, "layers"), { recursive: true, force: true });
    const [file] = inventoryFiles(cacheDir);
    const stored = readFileSync(file!, "utf8");
    const header = stored.slice(0, stored.indexOf("\n"));
    const { packagesBytes: _, ...rest } = JSON.parse(header) as Record<string, unknown>;
    for (const broken of [
      stored.slice(0, -3), // the packages cut short
      `${header}\n[]`, // another length than the header says
      JSON.stringify({ ...rest, format: 1, packages: cold.result.packages }), // format 1: one JSON object
      `${JSON.stringify({ ...JSON.parse(header), format: 2 })}${stored.slice(header.length)}`, // 2: not stored log-safe
      `${JSON.stringify({ ...JSON.parse(header), key: "0".repeat(64) })}${stored.slice(header.length)}`,
    ]) {
      writeFileSync(file!, broken);
      const again = await scanCounting(target, cacheDir);
      expect(again.walked).toBe(1);
      expect(renderJson(again.result)).toBe(renderJson(cold.result));
      rmSync(path.join(cacheDir, "layers"), { recursive: true, force: true });
    }
    // The miss wrote the entry again, and it answers.
    expect((await scanCounting(target, cacheDir)).walked).toBe(0);
  });

  it("misses when a layer differs, and treats a corrupt entry as a miss, not an error", async () => {
    const cacheDir = path.join(root, "cache-b");
    const first = await layout("first", [[OS_RELEASE, { path: "lib/apk/db/installed", content: apkStanza("a", "1") }]]);
    const second = await layout("second", [
      [OS_RELEASE, { path: "lib/apk/db/installed", content: apkStanza("b", "2") }],
    ]);
    await scanCounting(first, cacheDir);
    const other = await scanCounting(second, cacheDir);
    expect(other.walked).toBe(1);
    expect(other.result.packages.map((pkg) => pkg.name)).toEqual(["b"]);
    for (const file of inventoryFiles(cacheDir)) writeFileSync(file, readFileSync(file, "utf8").slice(0, 40));
    rmSync(path.join(cacheDir, "layers"), { recursive: true, force: true });
    const again = await scanCounting(first, cacheDir);
    expect(again.walked).toBe(1);
    expect(again.result.packages.map((pkg) => pkg.name)).toEqual(["a"]);
  });
});
