import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { afterAll } from "vitest";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(fileURLToPath(new URL("../../..", import.meta.url)));
export const pluginDir = path.join(root, "plugins/gitlab-ci");
export const demoImage = `oci-archive:${path.join(root, "examples/demo/demo-image.oci.tar")}`;
export const demoDb = path.join(root, "examples/demo/db");
const cli = path.join(root, "cli/dist/main.js");
const tsx = path.join(root, "node_modules/.bin/tsx");

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The stowaway CLI straight from this repository: the source of expected values. */
export function stowaway(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const run = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
  return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

/** The demo image's finding ids by severity, as the CLI's own JSON reports them (sorted). */
export type DemoFindings = Record<"critical" | "high" | "medium" | "low" | "unknown", string[]>;

export function demoFindings(): DemoFindings {
  const run = stowaway(["scan", demoImage, "--db", demoDb, "--no-cache", "--fail-on", "none", "-f", "json"], {
    XDG_CACHE_HOME: tempDir("stowaway-demo-findings-"),
  });
  if (run.code !== 0) throw new Error(`stowaway scan of the demo image exited ${run.code}: ${run.stderr}`);
  const bySeverity: DemoFindings = { critical: [], high: [], medium: [], low: [], unknown: [] };
  for (const finding of JSON.parse(run.stdout).findings as { id: string; severity: keyof DemoFindings }[]) {
    bySeverity[finding.severity].push(finding.id);
  }
  for (const ids of Object.values(bySeverity)) ids.sort();
  return bySeverity;
}

/**
 * A bin directory standing in for `npm install -g @stowaway/cli @stowaway/plugin-gitlab-ci`: the
 * commands the job calls, run from this checkout.
 */
export function installedCommands(dir: string): string {
  const bin = path.join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  const wrappers = {
    stowaway: `exec "${process.execPath}" "${cli}" "$@"`,
    "stowaway-gitlab-mr-note": `exec "${tsx}" "${path.join(pluginDir, "src/mr-note.ts")}" "$@"`,
  };
  for (const [name, command] of Object.entries(wrappers)) {
    writeFileSync(path.join(bin, name), `#!/bin/sh\n${command}\n`);
    chmodSync(path.join(bin, name), 0o755);
  }
  return bin;
}

import { tempDir } from "../../../core/test/helpers/temp-dir.js";

export { tempDir };

const buildsDirs: string[] = [];
afterAll(() => {
  for (const dir of buildsDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** gitlab-ci-local reads the pipeline from a git work tree, so each run gets its own small repository. */
export function gitRepo(files: Record<string, string>): string {
  const dir = tempDir("stowaway-gitlab-");
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  const git = (...args: string[]) => {
    const run = spawnSync("git", args, { cwd: dir, encoding: "utf8" });
    if (run.status !== 0) throw new Error(`git ${args.join(" ")}: ${run.stderr}`);
  };
  git("init", "-q", "-b", "main");
  // A job with `image:` gets CI_PROJECT_DIR=/builds/GROUP/PROJECT from the remote, even with the shell
  // executor; a remote of its own keeps each repository's database (the template keeps it under
  // CI_PROJECT_DIR for `cache:`) from being found by the next test's "fresh" runner.
  const project = path
    .basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-");
  git("remote", "add", "origin", `https://gitlab.example.com/stowaway-tests/${project}.git`);
  buildsDirs.push(path.join("/builds/stowaway-tests", project));
  git("-c", "user.email=ci@example.com", "-c", "user.name=ci", "add", "-A");
  git("-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-qm", "pipeline");
  return dir;
}

/** Asynchronous, so a fake GitLab served from this same test process can still answer the child. */
export function runAsync(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * Runs jobs with gitlab-ci-local's shell executor (the job's `image:` is not pulled), with the
 * repository's CLI on PATH and the layer cache kept inside the temp dir.
 */
export function gitlabCiLocal(dir: string, args: string[], variables: Record<string, string> = {}): Promise<Run> {
  // gitlab-ci-local copies the work tree with rsync even for the shell executor.
  if (spawnSync("rsync", ["--version"]).status !== 0) {
    throw new Error("gitlab-ci-local needs rsync on PATH (apt-get install rsync)");
  }
  const bin = installedCommands(dir);
  return runAsync(
    path.join(root, "node_modules/.bin/gitlab-ci-local"),
    [
      "--force-shell-executor",
      "--no-color",
      ...Object.entries(variables).flatMap(([key, value]) => ["--variable", `${key}=${value}`]),
      ...args,
    ],
    { cwd: dir, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, XDG_CACHE_HOME: path.join(dir, ".cache") } },
  );
}
