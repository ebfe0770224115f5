import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import path from "node:path";

/** A scan's private temp directory: `<parent>/run-<pid>-<random>`. */
export interface TempArea {
  dir: string;
  dispose(): Promise<void>;
}

const RUN_DIR = /^run-(\d+)-[0-9a-f]+$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes what runs killed mid-scan left in `parent` (decompressed archives, spilled files of dead
 * PIDs) and opens a fresh directory for this run. Everything a scan writes temporarily goes below it,
 * so a SIGKILL leaves at most one directory that the next run deletes.
 */
export function openTempArea(parent: string): TempArea {
  mkdirSync(parent, { recursive: true });
  for (const entry of readdirSync(parent)) {
    const match = RUN_DIR.exec(entry);
    if (match && !alive(Number(match[1]))) rmSync(path.join(parent, entry), { recursive: true, force: true });
  }
  const dir = path.join(parent, `run-${process.pid}-${randomBytes(4).toString("hex")}`);
  mkdirSync(dir);
  // Most runs leave the directory empty (a warm rescan, an uncompressed archive): a plain rmdir then
  // does, without the recursive remover. Synchronous, as the opening: a few calls at the end of a scan.
  const dispose = async () => {
    try {
      rmdirSync(dir);
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  return { dir, dispose };
}
