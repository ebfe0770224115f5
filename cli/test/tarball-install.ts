/**
 * Stowaway installed the way a user installs it, for every test that runs installed packages: the
 * published workspaces are packed with `npm pack` (what `npm publish` uploads), served by a package
 * registry on 127.0.0.1 (npm-registry.ts), and installed with plain `npm install --global` into a
 * prefix outside the repository. Tests that run CI templates point npm at the same registry
 * (`env`), so a template's own `npm install @stowaway/cli@VERSION` installs these tarballs.
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { root } from "./harness.js";
import {
  isolatedNpmEnv,
  packWorkspacesOnce,
  startLocalRegistry,
  type LocalRegistry,
  type PackedPackage,
} from "./npm-registry.js";

/** Published to npm; every other workspace is private (install.test.ts checks both lists). */
export const PUBLISHED = ["core", "cli", "plugins/gitlab-ci", "plugins/teamcity", "plugins/bamboo"];

export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface TarballInstall {
  packed: PackedPackage[];
  registry: LocalRegistry;
  /** npm's environment: the loopback registry, a private HOME and npm cache, nothing else. */
  env: NodeJS.ProcessEnv;
  /** `npm install --global --prefix` target; its bin/ holds the installed commands. */
  globalPrefix: string;
  binDir: string;
  pkg(name: string): PackedPackage;
  /** Runs a program asynchronously (the registry answering npm lives in this process's event loop). */
  run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<ProcessRun>;
  /** `npm ARGS` in `cwd`; throws with npm's stderr when it fails. */
  npm(args: string[], cwd: string): Promise<ProcessRun>;
  close(): Promise<void>;
}

/**
 * Packs PUBLISHED (once per tree state, shared by the suites: packWorkspacesOnce), starts the registry and installs `globals` (package specs,
 * default: the CLI and every adapter entry at the packed version) with `npm install --global` from an
 * empty directory: no workspace, no lockfile, no node_modules above it.
 */
export async function installFromTarballs(scratch: string, globals?: string[]): Promise<TarballInstall> {
  const packed = packWorkspacesOnce(root, PUBLISHED);
  const registry = await startLocalRegistry(packed, path.join(root, "package-lock.json"));
  const home = mkdirSync(path.join(scratch, "home"), { recursive: true }) ?? path.join(scratch, "home");
  const env = isolatedNpmEnv(registry.url, home);
  const globalPrefix = path.join(scratch, "global");
  const pkg = (name: string): PackedPackage => {
    const found = packed.find((entry) => entry.name === name);
    if (!found) throw new Error(`${name} was not packed`);
    return found;
  };
  const run: TarballInstall["run"] = (command, args, options) =>
    new Promise((resolve, reject) => {
      const child = spawn(command, args, { cwd: options.cwd, env: { ...env, ...options.env } });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
      child.on("error", reject);
      child.on("close", (code) =>
        resolve({
          code,
          stdout: Buffer.concat(stdout).toString("utf8"),
          stderr: Buffer.concat(stderr).toString("utf8"),
        }),
      );
    });
  const npm: TarballInstall["npm"] = async (args, cwd) => {
    const result = await run("npm", args, { cwd });
    if (result.code !== 0) {
      const missing = registry.missing.length
        ? `\nnot in the npm cache (run npm ci): ${registry.missing.join(", ")}`
        : "";
      throw new Error(`npm ${args.join(" ")} failed (${result.code}):\n${result.stderr}${missing}`);
    }
    return result;
  };
  const install: TarballInstall = {
    packed,
    registry,
    env,
    globalPrefix,
    binDir: path.join(globalPrefix, "bin"),
    pkg,
    run,
    npm,
    close: () => registry.close(),
  };
  const version = pkg("@stowaway/cli").version;
  const specs = globals ?? [
    `@stowaway/cli@${version}`,
    `@stowaway/plugin-gitlab-ci@${version}`,
    `@stowaway/plugin-teamcity@${version}`,
    `@stowaway/plugin-bamboo@${version}`,
  ];
  const empty = mkdirSync(path.join(scratch, "empty"), { recursive: true }) ?? path.join(scratch, "empty");
  try {
    if (specs.length > 0) await npm(["install", "--global", "--prefix", globalPrefix, ...specs], empty);
  } catch (error) {
    await registry.close();
    throw error;
  }
  return install;
}
