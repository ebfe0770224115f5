import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect } from "vitest";
import { secdb, type SecFixes } from "../../core/test/inventory/fixtures.js";

export const root = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const cliEntry = path.join(root, "cli/dist/main.js");
export const demoArchive = path.join(root, "examples/demo/demo-image.oci.tar");
export const demoDb = path.join(root, "examples/demo/db");

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI as a user would, in a private HOME (so no personal docker config, cache or
 * database leaks in) with CI=true. Registers the temp dir's setup and clean-up with the suite.
 * `stowawayAsync` is for suites whose servers (token server, Kubernetes API) live in this process and
 * must answer while the CLI runs; `buildAlpineDb` builds a database from Alpine secdb fixes.
 */
export function cliHarness(prefix: string): {
  stowaway: (args: string[], env?: NodeJS.ProcessEnv) => CliRun;
  stowawayAsync: (args: string[], env?: NodeJS.ProcessEnv) => Promise<CliRun>;
  buildAlpineDb: (input: string, fixes: SecFixes, db: string) => void;
  work: () => string;
} {
  let work = "";
  beforeAll(() => {
    if (!existsSync(cliEntry))
      throw new Error("cli/dist/main.js is missing: run `npm run build` first (npm test does)");
    work = mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const environment = (env: NodeJS.ProcessEnv) => ({ PATH: process.env.PATH, HOME: work, CI: "true", ...env });
  const stowaway = (args: string[], env: NodeJS.ProcessEnv = {}): CliRun => {
    const result = spawnSync(process.execPath, [cliEntry, ...args], {
      encoding: "utf8",
      env: environment(env),
      cwd: root,
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  return {
    work: () => work,
    stowaway,
    stowawayAsync: (args, env = {}) =>
      new Promise((resolve) => {
        execFile(
          process.execPath,
          [cliEntry, ...args],
          { encoding: "utf8", cwd: root, env: environment(env) },
          (error, stdout, stderr) => {
            const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
            resolve({ code, stdout, stderr });
          },
        );
      }),
    buildAlpineDb: (input, fixes, db) => {
      const dir = path.join(work, input);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, "alpine-v3.19-main.json"), secdb(fixes));
      const built = stowaway(["db", "build", "--from", dir, "--db", db]);
      expect(built.code, built.stderr).toBe(0);
    },
  };
}
