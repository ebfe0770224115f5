/**
 * The per-run temp area (image/temp-area.ts): whatever a run left in it, dispose() removes it, and
 * the next run sweeps the directories of runs that died.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openTempArea } from "../../src/image/temp-area.js";
import { tempDir } from "../helpers/temp-dir.js";

const root = tempDir("stowaway-temp-area-");

describe("the temp area", () => {
  it("removes its directory on dispose, empty (a warm rescan) or holding files (a spilled layer)", async () => {
    const parent = path.join(root, "dispose");
    const empty = openTempArea(parent);
    expect(existsSync(empty.dir)).toBe(true);
    await empty.dispose();
    expect(existsSync(empty.dir)).toBe(false);

    const full = openTempArea(parent);
    mkdirSync(path.join(full.dir, "stowaway-archive-x"));
    writeFileSync(path.join(full.dir, "stowaway-archive-x", "archive.tar"), "data");
    await full.dispose();
    expect(readdirSync(parent)).toEqual([]);
  });

  it("sweeps the directory a dead run left behind", () => {
    const parent = path.join(root, "sweep");
    // PID 2^22 + 1 is above Linux's pid_max ceiling, so no process has it.
    const dead = path.join(parent, `run-${2 ** 22 + 1}-00ff00ff`);
    mkdirSync(dead, { recursive: true });
    writeFileSync(path.join(dead, "spill"), "x");
    const area = openTempArea(parent);
    expect(readdirSync(parent)).toEqual([path.basename(area.dir)]);
  });
});
