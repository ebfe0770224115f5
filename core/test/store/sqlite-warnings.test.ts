import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteDriver } from "../../src/store/sqlite.js";

const CORE = fileURLToPath(new URL("../..", import.meta.url));
const SQLITE_TS = path.join(CORE, "src", "store", "sqlite.ts");

/** Node binaries to try: this one, and Node 22/24 where the benchmark cache has them (node:sqlite). */
const NODES = [
  process.execPath,
  ...["node-22", "node-24"]
    .map((name) => path.join(os.homedir(), ".cache", "stowaway-bench", name, "package", "bin", "node"))
    .filter((binary) => existsSync(binary)),
];

describe("SQLite store: Node's warnings", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "stowaway-sqlite-warnings-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("leaves process.emitWarning as it found it, even when stores open at once", async () => {
    const before = process.emitWarning;
    const drivers = await Promise.all([1, 2, 3].map((n) => SqliteDriver.open(path.join(dir, `at-once-${n}.sqlite`))));
    await Promise.all(drivers.map((driver) => driver.close()));
    expect(process.emitWarning).toBe(before);
  });

  it("passes on a warning emitted while a store opens", async () => {
    const seen: string[] = [];
    const listener = (warning: Error) => seen.push(`${warning.name}: ${warning.message}`);
    process.on("warning", listener);
    try {
      const opening = SqliteDriver.open(path.join(dir, "meanwhile.sqlite"));
      process.emitWarning("emitted while the store opens", "StowawayTestWarning");
      await (await opening).close();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", listener);
    }
    expect(seen).toContain("StowawayTestWarning: emitted while the store opens");
  });

  it.each(NODES)(
    "under %s, prints another warning emitted during open and not Node's SQLite ExperimentalWarning",
    async (node) => {
      const script = path.join(dir, "open.mjs");
      await writeFile(
        script,
        [
          "const { SqliteDriver } = await import(process.argv[2]);",
          "const opening = SqliteDriver.open(process.argv[3]);",
          'process.emitWarning("emitted while the store opens", "StowawayTestWarning");',
          "const driver = await opening;",
          "console.log(driver.engineName);",
          "await driver.close();",
        ].join("\n"),
      );
      const file = path.join(dir, `child-${path.basename(path.dirname(path.dirname(path.dirname(node))))}.sqlite`);
      const child = spawnSync(node, ["--import", "tsx", script, SQLITE_TS, file], {
        cwd: CORE,
        encoding: "utf8",
        env: { ...process.env, NODE_OPTIONS: "" },
      });
      expect(child.status).toBe(0);
      expect(["node:sqlite", "node-sqlite3-wasm"]).toContain(child.stdout.trim());
      expect(child.stderr).toContain("StowawayTestWarning: emitted while the store opens");
      expect(child.stderr).not.toMatch(/ExperimentalWarning|SQLite is an experimental feature/);
    },
    60_000,
  );
});
