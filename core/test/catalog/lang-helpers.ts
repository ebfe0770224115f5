import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { FileCataloger, FileContent, PackageCandidate } from "../../src/catalog/types.js";

/** A FileContent over bytes in memory, as the layer walker hands small files to file catalogers. */
export function memoryFile(path: string, data: Buffer | string, mode = 0o644): FileContent {
  const buffer = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  return {
    path,
    size: buffer.length,
    mode,
    read: async (offset, length) => buffer.subarray(offset, Math.min(buffer.length, offset + length)),
    readAll: async () => buffer,
  };
}

/** Runs one file cataloger on one file the way the walker does: wants, then sniff, then analyze. */
export async function analyzeFile(
  cataloger: FileCataloger,
  path: string,
  data: Buffer | string,
  mode = 0o644,
): Promise<{ wanted: boolean; packages: PackageCandidate[]; warnings: string[] }> {
  const file = memoryFile(path, data, mode);
  const warnings: string[] = [];
  if (!cataloger.wants(path, file.size, mode)) return { wanted: false, packages: [], warnings };
  const head = (await file.read(0, 4096)) as Buffer;
  if (cataloger.sniff && !cataloger.sniff(head, path)) return { wanted: false, packages: [], warnings };
  return { wanted: true, packages: await cataloger.analyze(file, { warnings }), warnings };
}

export async function analyzeFixture(cataloger: FileCataloger, fixture: string, path: string, mode = 0o644) {
  return analyzeFile(cataloger, path, readFileSync(fixture), mode);
}

/** Runs a python3 snippet with arguments and parses its JSON output: the tests' independent reader. */
export function python<T>(script: string, ...args: string[]): T {
  return JSON.parse(execFileSync("python3", ["-c", script, ...args], { encoding: "utf8", maxBuffer: 64 << 20 })) as T;
}

export function hasCommand(command: string, ...args: string[]): boolean {
  return spawnSync(command, args.length > 0 ? args : ["--version"], { stdio: "ignore" }).status === 0;
}

export const nameVersion = (packages: PackageCandidate[]): string[] =>
  packages.map((pkg) => `${pkg.name}@${pkg.version}`).sort();
