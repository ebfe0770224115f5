import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import { afterAll, beforeAll } from "vitest";
import { parseOutputFile, parseWorkflowCommands, type WorkflowCommand } from "./runner-protocol.js";

export const root = path.resolve(fileURLToPath(new URL("../../..", import.meta.url)));
export const pluginDir = path.join(root, "plugins/github-action");
export const cliEntry = path.join(root, "cli/dist/main.js");
export const demoArchive = path.join(root, "examples/demo/demo-image.oci.tar");
export const demoDb = path.join(root, "examples/demo/db");

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  commands: WorkflowCommand[];
  outputs: Record<string, string>;
  summary: string;
  /** Where this run's HOME, RUNNER_TEMP and workspace live. */
  dir: string;
}

export interface ActionHarness {
  /** Runs dist/index.js as the runner does: `with:` inputs become INPUT_<NAME> variables. */
  runAction(
    inputs: Record<string, string>,
    env?: NodeJS.ProcessEnv,
    prepare?: (workspace: string, home: string) => void,
  ): Promise<ActionRun>;
  /** The built CLI on the same image, for expected values. */
  cliJson(args: string[]): { code: number | null; result: CliResult };
  work(): string;
}

export interface CliResult {
  findings: Array<{ findingId: string; severity: string; id: string }>;
  packages: Array<{ type: string }>;
  policy?: { outcome: string; violations: Array<{ findingIds: string[] }> };
}

interface ActionMetadata {
  inputs: Record<string, { default?: string }>;
}

export function actionMetadata(): ActionMetadata {
  return yaml.load(readFileSync(path.join(pluginDir, "action.yml"), "utf8")) as ActionMetadata;
}

/** What the runner passes for `with:`: the given values over the defaults action.yml declares. */
function withDefaults(inputs: Record<string, string>): Record<string, string> {
  const defaults = Object.entries(actionMetadata().inputs).flatMap(([name, input]) =>
    input.default === undefined ? [] : [[name, String(input.default)] as const],
  );
  return { ...Object.fromEntries(defaults), ...inputs };
}

/** GitHub's naming: upper-case, spaces to underscores, hyphens kept (INPUT_FAIL-ON). */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, "_").toUpperCase()}`;
}

/**
 * Copies the committed dist/ into an empty folder with no node_modules above it, so every test also
 * proves the bundle is self-contained, then runs it there.
 */
export function actionHarness(prefix: string): ActionHarness {
  let work = "";
  let entry = "";
  let runs = 0;
  beforeAll(() => {
    for (const needed of [path.join(pluginDir, "dist/index.js"), cliEntry]) {
      if (!existsSync(needed)) throw new Error(`${needed} is missing: run \`npm run build\` first (npm test does)`);
    }
    work = mkdtempSync(path.join(os.tmpdir(), prefix));
    cpSync(path.join(pluginDir, "dist"), path.join(work, "action/dist"), { recursive: true });
    entry = path.join(work, "action/dist/index.js");
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  return {
    work: () => work,
    async runAction(inputs, env = {}, prepare) {
      const dir = path.join(work, `run-${++runs}`);
      for (const sub of ["home", "temp", "workspace"]) mkdirSync(path.join(dir, sub), { recursive: true });
      prepare?.(path.join(dir, "workspace"), path.join(dir, "home"));
      const outputFile = path.join(dir, "github_output");
      const summaryFile = path.join(dir, "step_summary");
      writeFileSync(outputFile, "");
      writeFileSync(summaryFile, "");
      const variables: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: path.join(dir, "home"),
        RUNNER_TEMP: path.join(dir, "temp"),
        GITHUB_WORKSPACE: path.join(dir, "workspace"),
        GITHUB_OUTPUT: outputFile,
        GITHUB_STEP_SUMMARY: summaryFile,
        GITHUB_ACTIONS: "true",
        CI: "true",
        ...Object.fromEntries(
          Object.entries(withDefaults(inputs)).map(([name, value]) => [inputVariable(name), value]),
        ),
        ...env,
      };
      const child = spawn(process.execPath, [entry], { cwd: path.join(dir, "workspace"), env: variables });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
      // Asynchronous, so a test can serve HTTP (the fake GitHub API) while the action runs.
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      return {
        code,
        stdout,
        stderr,
        commands: parseWorkflowCommands(stdout),
        outputs: parseOutputFile(readFileSync(outputFile, "utf8")),
        summary: readFileSync(summaryFile, "utf8"),
        dir,
      };
    },
    cliJson(args) {
      const out = path.join(work, `cli-${++runs}.json`);
      const result = spawnSync(process.execPath, [cliEntry, "scan", ...args, "--format", "json", "--output", out], {
        encoding: "utf8",
        env: { PATH: process.env.PATH, HOME: work, CI: "true" },
        cwd: root,
      });
      return { code: result.status, result: JSON.parse(readFileSync(out, "utf8")) as CliResult };
    },
  };
}

export function severityCountsOf(result: CliResult): Record<string, number> {
  const counts: Record<string, number> = { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
  for (const finding of result.findings) counts[finding.severity] = (counts[finding.severity] ?? 0) + 1;
  return counts;
}

export function annotations(run: ActionRun, level: "error" | "warning"): WorkflowCommand[] {
  return run.commands.filter((command) => command.command === level);
}
