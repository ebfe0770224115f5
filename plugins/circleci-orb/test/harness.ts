import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { packOrb } from "../scripts/pack.js";

export const root = path.resolve(fileURLToPath(new URL("../../..", import.meta.url)));
export const pluginDir = path.join(root, "plugins/circleci-orb");
export const srcDir = path.join(pluginDir, "src");
export const demoImage = `oci-archive:${path.join(root, "examples/demo/demo-image.oci.tar")}`;
export const demoDb = path.join(root, "examples/demo/db");
const cli = path.join(root, "cli/dist/main.js");

export interface Run {
  code: number;
  output: string;
}

import { tempDir } from "../../../core/test/helpers/temp-dir.js";

export { tempDir };

/** The demo image's finding ids by severity, as the CLI's own JSON reports them (sorted). */
export type DemoFindings = Record<"critical" | "high" | "medium" | "low" | "unknown", string[]>;

export function demoFindings(): DemoFindings {
  const run = spawnSync(
    process.execPath,
    [cli, "scan", demoImage, "--db", demoDb, "--no-cache", "--fail-on", "none", "-f", "json"],
    { encoding: "utf8", env: { ...process.env, XDG_CACHE_HOME: tempDir("stowaway-demo-findings-") } },
  );
  if (run.status !== 0) throw new Error(`stowaway scan of the demo image exited ${run.status}: ${run.stderr}`);
  const bySeverity: DemoFindings = { critical: [], high: [], medium: [], low: [], unknown: [] };
  for (const finding of JSON.parse(run.stdout).findings as { id: string; severity: keyof DemoFindings }[]) {
    bySeverity[finding.severity].push(finding.id);
  }
  for (const ids of Object.values(bySeverity)) ids.sort();
  return bySeverity;
}

type Step = { run?: { name: string; environment?: Record<string, string>; command: string } };

/**
 * The environment CircleCI gives one `run` step of the packed scan command: its `environment:`
 * map with `<< parameters.x >>` filled from the parameter defaults and the given values.
 */
export function stepEnvironment(stepName: string, values: Record<string, string | boolean>): Record<string, string> {
  const command = (
    packOrb(srcDir).commands as Record<string, { parameters: Record<string, { default?: unknown }>; steps: Step[] }>
  ).scan!;
  const params: Record<string, unknown> = Object.fromEntries(
    Object.entries(command.parameters).map(([name, spec]) => [name, spec.default]),
  );
  Object.assign(params, values);
  const step = command.steps.find((candidate) => candidate.run?.name === stepName)!.run!;
  return Object.fromEntries(
    Object.entries(step.environment ?? {}).map(([key, value]) => [
      key,
      value.replace(/<<\s*parameters\.([\w-]+)\s*>>/g, (_, name: string) => {
        if (!(name in params) || params[name] === undefined) throw new Error(`parameter ${name} has no value`);
        return String(params[name]);
      }),
    ]),
  );
}

/** A job's shell: bash, a throwaway HOME, CircleCI's own variables, the repository's CLI on PATH. */
export function jobEnvironment(work: string): NodeJS.ProcessEnv {
  const bin = path.join(work, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(path.join(bin, "stowaway"), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`);
  chmodSync(path.join(bin, "stowaway"), 0o755);
  return {
    PATH: `${bin}:${process.env.PATH}`,
    HOME: work,
    XDG_CACHE_HOME: path.join(work, ".cache"),
    BASH_ENV: path.join(work, ".bash_env"),
    CI: "true",
    CIRCLECI: "true",
    CIRCLE_SHA1: "0123456789abcdef0123456789abcdef01234567",
    CIRCLE_BRANCH: "main",
    CIRCLE_PROJECT_REPONAME: "app",
  };
}

/** Asynchronous, so fake servers living in the test process can answer the script. */
export function bash(script: string, env: NodeJS.ProcessEnv, cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [script], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, output }));
  });
}
