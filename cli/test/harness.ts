import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll } from "vitest";

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
 */
export function cliHarness(prefix: string): {
  stowaway: (args: string[], env?: NodeJS.ProcessEnv) => CliRun;
  work: () => string;
} {
  let work = "";
  beforeAll(() => {
    if (!existsSync(cliEntry))
      throw new Error("cli/dist/main.js is missing: run `npm run build` first (npm test does)");
    work = mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  return {
    work: () => work,
    stowaway: (args, env = {}) => {
      const result = spawnSync(process.execPath, [cliEntry, ...args], {
        encoding: "utf8",
        env: { PATH: process.env.PATH, HOME: work, CI: "true", ...env },
        cwd: root,
      });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    },
  };
}
