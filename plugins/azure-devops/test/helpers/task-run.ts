import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bundleTask } from "../../scripts/bundle.js";
import { parseVsoCommands, type VsoCommand } from "./vso-commands.js";

export const REPO_ROOT = path.resolve(fileURLToPath(new URL("../../../..", import.meta.url)));
export const PLUGIN_DIR = path.join(REPO_ROOT, "plugins/azure-devops");
export const TASK_SOURCE_DIR = path.join(PLUGIN_DIR, "tasks/stowaway-scan");
export const DEMO_IMAGE = path.join(REPO_ROOT, "examples/demo/demo-image.oci.tar");
export const DEMO_DB = path.join(REPO_ROOT, "examples/demo/db");
export const CLI = path.join(REPO_ROOT, "cli/dist/main.js");

/**
 * The task folder as the agent gets it from the extension: task.json plus the bundle, copied
 * under the system temp directory, away from this repository's node_modules.
 */
export async function installTask(): Promise<{ taskDir: string; cleanup: () => void }> {
  const root = mkdtempSync(path.join(os.tmpdir(), "stowaway-ado-task-"));
  const taskDir = path.join(root, "StowawayScan_04169e70", "0.1.0");
  mkdirSync(taskDir, { recursive: true });
  cpSync(path.join(TASK_SOURCE_DIR, "task.json"), path.join(taskDir, "task.json"));
  await bundleTask(taskDir);
  return { taskDir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export interface AgentRun {
  stdout: string;
  stderr: string;
  status: number | null;
  commands: VsoCommand[];
  /** The commands named `name` (e.g. `task.logissue`). */
  named(name: string): VsoCommand[];
  /** Output variables by name. */
  outputs: Record<string, string>;
  result: string | undefined;
}

export interface AgentContext {
  workDir: string;
  inputs: Record<string, string>;
  /** Extra environment: endpoints, variables. */
  env?: Record<string, string>;
}

/** The environment variable the agent sets for a task input: upper case, '.' and ' ' as '_'. */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/[. ]/g, "_").toUpperCase()}`;
}

/** Runs `node <taskDir>/dist/index.js` with the variables the agent would set, and reads its commands. */
export function runTaskAsAgent(taskDir: string, context: AgentContext): AgentRun {
  const temp = path.join(context.workDir, "_temp");
  const staging = path.join(context.workDir, "a");
  const sources = path.join(context.workDir, "s");
  for (const dir of [temp, staging, sources]) mkdirSync(dir, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: path.join(context.workDir, "home"),
    AGENT_TEMPDIRECTORY: temp,
    AGENT_WORKFOLDER: context.workDir,
    SYSTEM_DEFAULTWORKINGDIRECTORY: sources,
    BUILD_SOURCESDIRECTORY: sources,
    BUILD_ARTIFACTSTAGINGDIRECTORY: staging,
    SYSTEM_COLLECTIONURI: "https://dev.azure.com/contoso/",
    SYSTEM_TEAMPROJECT: "Shop Front",
    BUILD_BUILDID: "4711",
    TF_BUILD: "True",
    ...Object.fromEntries(Object.entries(context.inputs).map(([name, value]) => [inputVariable(name), value])),
    ...context.env,
  };
  const child = spawnSync(process.execPath, [path.join(taskDir, "dist/index.js")], {
    cwd: sources,
    env,
    encoding: "utf8",
    timeout: 120_000,
  });
  const commands = parseVsoCommands(child.stdout);
  const named = (name: string) => commands.filter((command) => command.command === name);
  const outputs = Object.fromEntries(
    named("task.setvariable")
      .filter((command) => command.properties.isOutput === "true")
      .map((command) => [command.properties.variable ?? "", command.message]),
  );
  return {
    stdout: child.stdout,
    stderr: child.stderr,
    status: child.status,
    commands,
    named,
    outputs,
    result: named("task.complete").at(-1)?.properties.result,
  };
}

export interface CliScan {
  exitCode: number | null;
  report: {
    findings: { findingId: string; id: string; severity: string }[];
    policy?: {
      outcome: string;
      violations: { rule: string; findingIds: string[] }[];
      suppressed: { findingId: string }[];
    };
  };
}

/** The CLI's verdict and JSON report for the same scan: the reference the task must agree with. */
export function cliScan(args: string[], home: string): CliScan {
  const child = spawnSync(process.execPath, [CLI, "scan", ...args, "-f", "json", "--no-cache"], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: home },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.status !== 0 && child.status !== 1) throw new Error(`stowaway scan failed: ${child.stderr}`);
  return { exitCode: child.status, report: JSON.parse(child.stdout) as CliScan["report"] };
}

/** Counts per severity from a JSON report, suppressed findings left out (what the outputs promise). */
export function countsOf(report: CliScan["report"]): Record<string, number> {
  const suppressed = new Set(report.policy?.suppressed.map((entry) => entry.findingId));
  const counts: Record<string, number> = { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
  for (const finding of report.findings) if (!suppressed.has(finding.findingId)) counts[finding.severity]! += 1;
  return counts;
}
