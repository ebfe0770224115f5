/**
 * docker/Dockerfile without a Docker engine: its structure is checked as a linter would, and its
 * stages are replayed step by step as plain shell in a temp directory (COPY from a build context,
 * RUN with the stage's ARG/ENV), installing the packed tarballs with npm from a registry on
 * 127.0.0.1. What only an engine can show (the base image, apt-get, USER, ENTRYPOINT at run time) is
 * checked statically here and listed as untested in docs/container-image.md.
 */
import { cpSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../../core/test/helpers/temp-dir.js";
import { parseDockerfile, replayStage, type Instruction, type Stage } from "./dockerfile.js";
import { demoArchive, demoDb, root } from "./harness.js";
import {
  isolatedNpmEnv,
  packWorkspacesOnce,
  startLocalRegistry,
  type LocalRegistry,
  type PackedPackage,
} from "./npm-registry.js";

const dockerfile = path.join(root, "docker/Dockerfile");
const parsed = parseDockerfile(dockerfile);
const stage = (name: string): Stage => {
  const found = parsed.stages.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`docker/Dockerfile has no stage ${name}`);
  return found;
};
const all = (target: Stage, keyword: string): Instruction[] =>
  target.instructions.filter((instruction) => instruction.keyword === keyword);

function run(command: string, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, args, { env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }),
    );
  });
}

describe("docker/Dockerfile, read as a linter would", () => {
  it("builds on node:20-bookworm-slim, pinned by a build argument, never an unpinned or latest base", () => {
    expect(parsed.globalArgs.get("NODE_IMAGE")).toBe("node:20-bookworm-slim");
    expect(parsed.stages.map((candidate) => candidate.from)).toEqual(["${NODE_IMAGE}", "cli", "cli"]);
  });

  it("the default target is the image without a database; with-db is opt-in", () => {
    expect(parsed.stages.map((candidate) => candidate.name)).toEqual(["cli", "with-db", undefined]);
    expect(parsed.stages.at(-1)!.instructions).toEqual([]);
  });

  it("runs as the non-root node user with no ENTRYPOINT, so CI `script:` lines and `cat` keep-alives work", () => {
    for (const name of ["cli", "with-db"]) {
      const users = all(stage(name), "USER");
      expect(users.at(-1)?.args, name).toBe("node");
    }
    expect(all(stage("cli"), "ENTRYPOINT").map((entry) => entry.args)).toEqual(["[]"]);
    expect(all(stage("with-db"), "ENTRYPOINT")).toEqual([]);
    const cmd = all(stage("cli"), "CMD").map((entry) => JSON.parse(entry.args));
    expect(cmd).toEqual([["stowaway", "--help"]]);
  });

  it("defaults to the version of the CLI in this repository and puts its bin folder on PATH", () => {
    const version = JSON.parse(readFileSync(path.join(root, "cli/package.json"), "utf8")).version;
    expect(all(stage("cli"), "ARG").map((entry) => entry.args)).toContain(`STOWAWAY_VERSION=${version}`);
    expect(all(stage("cli"), "ENV").map((entry) => entry.args)).toContain(
      "PATH=${STOWAWAY_HOME}/node_modules/.bin:${PATH}",
    );
    expect(all(stage("with-db"), "ENV").map((entry) => entry.args)).toContain("STOWAWAY_DB_DIR=${STOWAWAY_HOME}/db");
  });

  it("uses no ADD, no piped downloads, and keeps apt-get lean and cleaned up", () => {
    const instructions = parsed.stages.flatMap((candidate) => candidate.instructions);
    expect(instructions.filter((entry) => entry.keyword === "ADD")).toEqual([]);
    const runs = instructions.filter((entry) => entry.keyword === "RUN").map((entry) => entry.args);
    expect(runs.filter((command) => /\b(curl|wget)\b/.test(command))).toEqual([]);
    const apt = runs.filter((command) => command.includes("apt-get install"));
    expect(apt).toHaveLength(1);
    expect(apt[0]).toMatch(/apt-get update && apt-get install -y --no-install-recommends /);
    expect(apt[0]).toMatch(/rm -rf \/var\/lib\/apt\/lists\/\*$/);
    // What CI job containers need: TLS roots, checkouts (CircleCI, Jenkins), caches and artifacts.
    for (const tool of ["ca-certificates", "git", "openssh-client", "tar", "gzip"]) expect(apt[0]).toContain(tool);
  });

  it("every COPY source is in the build context and not excluded by .dockerignore", () => {
    const ignore = readFileSync(path.join(root, ".dockerignore"), "utf8")
      .split("\n")
      .filter((line) => line && !line.startsWith("#"));
    expect(ignore).toEqual(["*", "!docker/"]);
    const sources = parsed.stages
      .flatMap((candidate) => all(candidate, "COPY"))
      .map((entry) => entry.args.split(/\s+/)[0]!);
    expect(sources).toEqual(["docker/packages/", "${STOWAWAY_DB_BUNDLE}"]);
    expect(existsSync(path.join(root, "docker/packages"))).toBe(true);
    const bundle = all(stage("with-db"), "ARG").find((entry) => entry.args.startsWith("STOWAWAY_DB_BUNDLE="));
    expect(bundle?.args).toMatch(/^STOWAWAY_DB_BUNDLE=docker\//);
  });
});

describe("docker/Dockerfile's steps replayed as shell against the packed tarballs", () => {
  const scratch = tempDir("stowaway-image-");
  const context = path.join(scratch, "context");
  const home = path.join(scratch, "home");
  let packed: PackedPackage[] = [];
  let registry: LocalRegistry;
  let imageEnv: NodeJS.ProcessEnv;
  let skipped: string[] = [];

  beforeAll(async () => {
    // The build context as a release job prepares it: the tarballs in docker/packages, a DB bundle.
    mkdirSync(path.join(context, "docker/packages"), { recursive: true });
    mkdirSync(path.join(context, "docker/db"), { recursive: true });
    mkdirSync(home, { recursive: true });
    packed = packWorkspacesOnce(
      root,
      ["core", "cli", "plugins/gitlab-ci", "plugins/teamcity", "plugins/bamboo"],
      path.join(context, "docker/packages"),
    );
    // The registry knows only third-party packages: ours can come from nowhere but the tarballs.
    registry = await startLocalRegistry([], path.join(root, "package-lock.json"));
    const base = isolatedNpmEnv(registry.url, home);
    const exported = await run(
      process.execPath,
      [path.join(root, "cli/bin/stowaway.js"), "db", "export", path.join(context, "docker/db/stowaway-db.tgz")],
      { ...base, STOWAWAY_DB_DIR: demoDb },
    );
    if (exported.code !== 0) throw new Error(`db export failed: ${exported.stderr}`);

    const options = {
      context,
      env: base,
      overrides: { STOWAWAY_HOME: path.join(scratch, "opt/stowaway") },
      // apt-get changes the machine this test runs on; the linter checks above cover that step.
      skipRun: (command: string) => command.includes("apt-get"),
    };
    const cli = await replayStage(dockerfile, stage("cli"), options);
    const withDb = await replayStage(dockerfile, stage("with-db"), { ...options, env: cli.env });
    imageEnv = { ...withDb.env, HOME: path.join(scratch, "job-home") };
    skipped = [...cli.skipped, ...withDb.skipped];
  }, 400_000);

  afterAll(async () => {
    await registry?.close();
  });

  it("installs every package from the tarballs, none from the registry, and leaves no npm cache behind", () => {
    expect(skipped).toHaveLength(1);
    expect(registry.served.filter((id) => id.startsWith("@stowaway/"))).toEqual([]);
    const installed = path.join(imageEnv.STOWAWAY_HOME!, "node_modules");
    for (const entry of packed) {
      const manifest = JSON.parse(readFileSync(path.join(installed, entry.name, "package.json"), "utf8"));
      expect(manifest.version, entry.name).toBe(entry.version);
    }
    // One copy of core, shared by the CLI and the adapters (the reason the recipe avoids --global).
    for (const dependent of packed.filter((entry) => entry.name !== "@stowaway/core")) {
      expect(existsSync(path.join(installed, dependent.name, "node_modules/@stowaway/core")), dependent.name).toBe(
        false,
      );
    }
    expect(existsSync(path.join(imageEnv.STOWAWAY_HOME!, "packages"))).toBe(false);
    expect(existsSync(path.join(imageEnv.STOWAWAY_HOME!, ".npm-cache"))).toBe(false);
  });

  it("`stowaway` and the adapters' entries are on the image's PATH", async () => {
    for (const bin of ["stowaway", "stowaway-gitlab-mr-note", "stowaway-teamcity", "stowaway-bamboo-insights"]) {
      const which = await run("/bin/sh", ["-c", `command -v ${bin}`], imageEnv);
      expect(which.stdout.trim(), bin).toBe(path.join(imageEnv.STOWAWAY_HOME!, "node_modules/.bin", bin));
    }
  });

  it("the with-db image scans with its baked database and no --db: the demo's findings, gate exit 1", async () => {
    const args = ["scan", `oci-archive:${demoArchive}`, "--no-cache", "-f", "json", "--fail-on", "high"];
    const scan = await run("stowaway", args, imageEnv);
    expect(scan.code, scan.stderr).toBe(1);
    const result = JSON.parse(scan.stdout);
    expect(result.database).toBeDefined();
    // Django 3.2.0 in the demo image, CVE-2021-31542 fixed in 3.2.1 (PYSEC-2021-7).
    expect(result.findings).toContainEqual(
      expect.objectContaining({ id: "CVE-2021-31542", installedVersion: "3.2.0", fixedVersion: "3.2.1" }),
    );
  });

  it("the baked database is the exported one, checked by db status", async () => {
    const status = await run("stowaway", ["db", "status"], imageEnv);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout + status.stderr).toContain(path.join(imageEnv.STOWAWAY_HOME!, "db"));
    const original = await run(process.execPath, [path.join(root, "cli/bin/stowaway.js"), "db", "status"], {
      ...imageEnv,
      STOWAWAY_DB_DIR: demoDb,
    });
    const records = (text: string) => /^records:\s+(\d+)$/m.exec(text)?.[1];
    expect(records(status.stdout + status.stderr)).toBeDefined();
    expect(records(status.stdout + status.stderr)).toBe(records(original.stdout + original.stderr));
  });
});

describe("docker/Dockerfile's registry path", () => {
  const scratch = tempDir("stowaway-image-registry-");
  let registry: LocalRegistry;

  afterAll(async () => {
    await registry?.close();
  });

  it("without tarballs in docker/packages installs @stowaway/*@STOWAWAY_VERSION from the registry", async () => {
    const packed = packWorkspacesOnce(root, ["core", "cli", "plugins/gitlab-ci", "plugins/teamcity", "plugins/bamboo"]);
    registry = await startLocalRegistry(packed, path.join(root, "package-lock.json"));
    const context = path.join(scratch, "context");
    cpSync(path.join(root, "docker/packages"), path.join(context, "docker/packages"), { recursive: true });
    const home = mkdirSync(path.join(scratch, "home"), { recursive: true })!;
    const result = await replayStage(dockerfile, stage("cli"), {
      context,
      env: isolatedNpmEnv(registry.url, home),
      overrides: { STOWAWAY_HOME: path.join(scratch, "opt/stowaway") },
      skipRun: (command) => command.includes("apt-get"),
    });
    for (const entry of packed) expect(registry.served).toContain(`${entry.name}@${entry.version}`);
    const version = await run("stowaway", ["--version"], result.env);
    expect(version.stdout.trim()).toBe(packed.find((entry) => entry.name === "@stowaway/cli")!.version);
  }, 400_000);
});
