import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeHostileFixture, type HostileFixture } from "../../../core/test/helpers/hostile-image.js";
import { unsafeLines } from "../../../core/test/helpers/log-safety.js";
import { CLI, installTask, runTaskAsAgent, type AgentRun } from "./helpers/task-run.js";

const KNOWN_COMMANDS = new Set([
  "task.debug",
  "task.setsecret",
  "task.setvariable",
  "task.addattachment",
  "task.uploadsummary",
  "results.publish",
  "task.logissue",
  "task.issue",
  "task.complete",
]);

let taskDir: string;
let cleanupTask: () => void;
let scratch: string;
let fixture: HostileFixture;
let runs = 0;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error("cli/dist/main.js is missing: run `npm run build` first (npm test does)");
  ({ taskDir, cleanup: cleanupTask } = await installTask());
  scratch = mkdtempSync(path.join(os.tmpdir(), "stowaway-ado-log-safety-"));
  fixture = await writeHostileFixture(path.join(scratch, "hostile"));
}, 120_000);

afterAll(() => {
  cleanupTask?.();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function runTask(inputs: Record<string, string>): AgentRun {
  const workDir = path.join(scratch, `run-${++runs}`);
  mkdirSync(workDir, { recursive: true });
  return runTaskAsAgent(taskDir, { workDir, inputs: { db: fixture.db, ...inputs } });
}

/**
 * The agent reacts to `##vso[` anywhere in a line and formats `##[`: only the task's own commands
 * may carry them, at the start of their line, and what they say (decoded as the agent decodes it)
 * is inert as well.
 */
function expectInert(run: AgentRun): void {
  expect(unsafeLines(run.stdout, "azure"), "stdout").toEqual([]);
  expect(unsafeLines(run.stderr), "stderr").toEqual([]);
  for (const command of run.commands) {
    expect(KNOWN_COMMANDS.has(command.command), command.raw).toBe(true);
    expect(command.raw.indexOf("##vso["), command.raw).toBe(0);
    expect(unsafeLines(command.message), command.raw).toEqual([]);
    for (const value of Object.values(command.properties)) expect(unsafeLines(value), command.raw).toEqual([]);
  }
  expect(Object.keys(run.outputs)).not.toContain("PWNED");
}

describe("the task run as the agent runs it, on a hostile image and advisory", () => {
  it("a failing gate: issues, the verdict and the log are inert, the package still named", () => {
    const run = runTask({ image: fixture.target, failOn: "high" });
    expect(run.status).toBe(0);
    expect(run.result).toBe("Failed");
    expectInert(run);
    const issues = run.named("task.logissue").map((command) => command.message);
    expect(issues.some((message) => message.includes("evil#\\#vso[task.setvariable variable=PWNED]"))).toBe(true);
    expect(issues.some((message) => message.includes("::error title=pwned::github-injected"))).toBe(true);
  });

  it("a missing tag completes Failed with one inert line listing the tags as excerpts", () => {
    const run = runTask({ image: `oci:${fixture.taggedLayout}:nope` });
    expect(run.result).toBe("Failed");
    expectInert(run);
    const complete = run.named("task.complete").at(-1)!;
    expect(complete.message.split("\n")).toHaveLength(1);
    expect(complete.message).toMatch(/no image tagged "nope"; tags present: .*#\\#vso\[task\.setvariable/);
  });

  it("a missing platform completes Failed with one inert line", () => {
    const run = runTask({ image: `oci:${fixture.platformLayout}` });
    expect(run.result).toBe("Failed");
    expectInert(run);
    expect(run.named("task.complete").at(-1)!.message).toMatch(/^no image for linux\/amd64 in .*available: /);
  });
});
