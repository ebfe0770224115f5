import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { cliEntry, cliHarness, root } from "./harness.js";
import { buildImage, buildLayer, writeOciArchive } from "../../core/test/helpers/image-builder.js";

const { stowaway, work } = cliHarness("stowaway-cli-limits-");
const MiB = 1024 * 1024;

/** An image with one normal npm package and one whose package.json is over the npm cataloger's 4 MiB bound. */
async function imageWithHugeManifest(file: string): Promise<void> {
  const layer = await buildLayer([
    { path: "app/node_modules/left-pad/package.json", content: '{"name":"left-pad","version":"1.0.0"}' },
    {
      path: "app/node_modules/huge/package.json",
      content: JSON.stringify({ name: "huge", version: "1.0.0", readme: "z".repeat(5 * MiB) }),
    },
  ]);
  await writeOciArchive(file, { images: [{ image: buildImage({ layers: [layer] }), tag: "t" }] });
}

/** A database with one HIGH npm advisory for left-pad < 1.3.0, built by the CLI itself. */
function buildDb(name: string): string {
  const input = path.join(work(), `${name}.json`);
  writeFileSync(
    input,
    JSON.stringify({
      schema_version: "1.6.0",
      id: "GHSA-test-0001",
      modified: "2024-01-01T00:00:00Z",
      database_specific: { severity: "HIGH" },
      affected: [
        {
          package: { ecosystem: "npm", name: "left-pad" },
          ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1.3.0" }] }],
        },
      ],
    }),
  );
  const dbDir = path.join(work(), name);
  const build = stowaway(["db", "build", "--from", input, "--db", dbDir]);
  expect(build.code, build.stderr).toBe(0);
  return dbDir;
}

/** Every file below `dir`, relative. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((entry) =>
    statSync(path.join(dir, entry)).isFile(),
  );
}

describe("stowaway and an inventory a size bound cut short", () => {
  it("exits 1 with gate.failOnIncompleteInventory, 0 without, and names the file either way", async () => {
    const archive = path.join(work(), "huge.oci.tar");
    await imageWithHugeManifest(archive);
    const gate = path.join(work(), "gate.yaml");
    writeFileSync(gate, "version: 1\ngate:\n  failOnIncompleteInventory: true\n");
    const lenient = path.join(work(), "lenient.yaml");
    writeFileSync(lenient, "version: 1\ngate:\n  failOn: critical\n");

    const dbDir = buildDb("gate-db");
    const scanArgs = ["scan", `oci-archive:${archive}`, "--db", dbDir, "--no-cache", "--policy"];
    const failing = stowaway([...scanArgs, gate, "--format", "json"]);
    expect(failing.code).toBe(1);
    const result = JSON.parse(failing.stdout) as {
      packages: { name: string }[];
      incomplete: { code: string; path: string }[];
      policy: { outcome: string; violations: { rule: string }[] };
    };
    expect(result.packages.map((pkg) => pkg.name)).toEqual(["left-pad"]);
    expect(result.incomplete).toEqual([
      expect.objectContaining({ code: "inventory-incomplete", path: "app/node_modules/huge/package.json" }),
    ]);
    expect(result.policy.violations.map((violation) => violation.rule)).toEqual(["gate.failOnIncompleteInventory"]);

    const passing = stowaway([...scanArgs, lenient]);
    expect(passing.code).toBe(0);
    expect(`${passing.stdout}${passing.stderr}`).toContain(
      'inventory-incomplete: "app/node_modules/huge/package.json" not read by npm',
    );
  }, 120_000);
});

describe("stowaway killed mid-scan of a gzipped archive", () => {
  it("leaves nothing in $TMPDIR or the cache's temp area once the next run is done", async () => {
    const tmp = path.join(work(), "tmpdir");
    mkdirSync(tmp);
    const home = path.join(work(), "home");
    mkdirSync(home);
    const cacheTmp = path.join(home, ".cache", "stowaway", "tmp");
    // Enough layer bytes that the decompressed copy exists for a while before the scan ends.
    const noise = Buffer.alloc(48 * MiB);
    for (let i = 0; i < noise.length; i += 4) noise.writeUInt32LE((i * 2654435761) >>> 0, i);
    const layer = await buildLayer(
      [
        { path: "app/node_modules/left-pad/package.json", content: '{"name":"left-pad","version":"1.0.0"}' },
        { path: "srv/blob.bin", content: noise },
      ],
      { compression: "none" },
    );
    const plain = path.join(work(), "plain.tar");
    await writeOciArchive(plain, { images: [{ image: buildImage({ layers: [layer] }), tag: "t" }] });
    const archive = path.join(work(), "image.tar.gz");
    writeFileSync(archive, gzipSync(readFileSync(plain), { level: 1 }));
    const env = { PATH: process.env.PATH, HOME: home, TMPDIR: tmp, CI: "true" };

    const child = spawn(process.execPath, [cliEntry, "sbom", archive], { env, cwd: root, stdio: "ignore" });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_code, signal) => resolve(signal)),
    );
    // Kill as soon as the decompressed copy is being written.
    const deadline = Date.now() + 60_000;
    while (filesUnder(cacheTmp).length === 0 && child.exitCode === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(filesUnder(cacheTmp).length).toBeGreaterThan(0);
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const leftByKilled = filesUnder(cacheTmp);
    expect(leftByKilled.length).toBeGreaterThan(0);

    const second = stowaway(["sbom", archive, "--format", "json"], { HOME: home, TMPDIR: tmp });
    expect(second.code).toBe(0);
    expect((JSON.parse(second.stdout) as { packages: { name: string }[] }).packages.map((p) => p.name)).toEqual([
      "left-pad",
    ]);
    expect(filesUnder(cacheTmp)).toEqual([]);
    expect(readdirSync(cacheTmp)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  }, 180_000);
});

describe("stowaway and a damaged vulnerability database", () => {
  it("db status --verify and scan refuse it with one line saying what to do", () => {
    const dbDir = buildDb("db");
    const verified = stowaway(["db", "status", "--db", dbDir, "--verify"]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/verified: {3}\d+ files, 1 record references: intact/);

    const archive = path.join(work(), "small.oci.tar");
    return (async () => {
      const layer = await buildLayer([
        { path: "app/node_modules/left-pad/package.json", content: '{"name":"left-pad","version":"1.0.0"}' },
      ]);
      await writeOciArchive(archive, { images: [{ image: buildImage({ layers: [layer] }), tag: "t" }] });
      const intact = stowaway(["scan", `oci-archive:${archive}`, "--db", dbDir, "--no-cache", "--format", "json"]);
      expect(intact.code).toBe(0);
      expect((JSON.parse(intact.stdout) as { findings: { id: string }[] }).findings.map((f) => f.id)).toEqual([
        "GHSA-test-0001",
      ]);

      // "fixed":"1.3.0" -> "fixed":"0.3.0": valid JSON that would make 1.0.0 look fixed.
      const generation = path.join(dbDir, readFileSync(path.join(dbDir, "CURRENT"), "utf8").trim());
      const records = path.join(generation, "records", "000.jsonl");
      const bytes = readFileSync(records);
      const at = bytes.indexOf('"fixed":"1.3.0"');
      expect(at).toBeGreaterThan(0);
      bytes[at + 9] = "0".charCodeAt(0);
      writeFileSync(records, bytes);

      const status = stowaway(["db", "status", "--db", dbDir, "--verify"]);
      expect(status.code).toBe(2);
      expect(status.stderr).toMatch(
        /^stowaway: error: .*records\/000\.jsonl: checksum mismatch; .*stowaway db update.*\n$/,
      );
      const scan = stowaway(["scan", `oci-archive:${archive}`, "--db", dbDir, "--no-cache"]);
      expect(scan.code).toBe(2);
      expect(scan.stderr.trim().split("\n")).toHaveLength(1);
      expect(scan.stderr).toMatch(/records\/000\.jsonl: record at byte \d+: checksum mismatch; .*stowaway db update/);
    })();
  }, 120_000);
});
