import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../../write-atomic.js";
import { CURRENT_FILE, METADATA_FILE } from "./format.js";

/**
 * A database directory holds generations (`gen-*`) and a `CURRENT` file naming the live one. A build
 * or update fills `.staging-*`, renames it to a new generation and then replaces `CURRENT` atomically,
 * so an interrupted run leaves the previous database untouched, and a scan that opened the previous
 * generation keeps working because the previous one is kept until the next install.
 */
export function resolveGeneration(dbDir: string): string | undefined {
  const current = path.join(dbDir, CURRENT_FILE);
  if (existsSync(current)) {
    const name = readFileSync(current, "utf8").trim();
    if (/^gen-[A-Za-z0-9-]+$/.test(name) && existsSync(path.join(dbDir, name, METADATA_FILE))) {
      return path.join(dbDir, name);
    }
    return undefined;
  }
  // An unpacked generation (or a DB copied by hand) can be opened directly.
  return existsSync(path.join(dbDir, METADATA_FILE)) ? dbDir : undefined;
}

export function createStagingDir(dbDir: string): string {
  mkdirSync(dbDir, { recursive: true });
  const staging = path.join(dbDir, `.staging-${process.pid}-${randomBytes(4).toString("hex")}`);
  mkdirSync(staging);
  return staging;
}

function stamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/** Makes `staging` the live generation and removes generations older than the one it replaces. */
export async function installGeneration(dbDir: string, staging: string, now = new Date()): Promise<string> {
  const previous = resolveGeneration(dbDir);
  const name = `gen-${stamp(now)}-${randomBytes(4).toString("hex")}`;
  renameSync(staging, path.join(dbDir, name));
  await writeFileAtomic(path.join(dbDir, CURRENT_FILE), `${name}\n`);
  const keep = new Set([name, previous ? path.basename(previous) : ""]);
  for (const entry of readdirSync(dbDir)) {
    if (entry.startsWith("gen-") && !keep.has(entry)) rmSync(path.join(dbDir, entry), { recursive: true, force: true });
  }
  return path.join(dbDir, name);
}

/** Removes staging directories left by interrupted runs of dead processes. */
export function removeStaleStaging(dbDir: string): void {
  if (!existsSync(dbDir)) return;
  for (const entry of readdirSync(dbDir)) {
    const match = /^\.staging-(\d+)-/.exec(entry);
    if (!match) continue;
    const pid = Number(match[1]);
    let alive = pid === process.pid;
    if (!alive) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch {
        alive = false;
      }
    }
    if (!alive) rmSync(path.join(dbDir, entry), { recursive: true, force: true });
  }
}
