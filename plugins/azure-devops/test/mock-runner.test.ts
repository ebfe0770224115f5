import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { MockTestRunner } from "azure-pipelines-task-lib/mock-test.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleTask } from "../scripts/bundle.js";
import { DEMO_DB, DEMO_IMAGE, TASK_SOURCE_DIR } from "./helpers/task-run.js";

const require = createRequire(import.meta.url);

/**
 * task-lib's own harness: an L0 script drives the task through TaskMockRunner (inputs, the mock
 * task library), MockTestRunner runs it and reads the result back. MockTestRunner downloads the
 * Node version named in task.json unless `nodePath` is set, so it is pointed at this Node: the
 * tests stay offline and the bundle targets Node 20, which this runtime satisfies.
 */
describe("task-lib's mock runner (MockTestRunner + TaskMockRunner), offline", () => {
  let scratch: string;
  let taskDir: string;

  function writeL0(name: string, inputs: Record<string, string>): string {
    const home = path.join(scratch, `${name}-home`);
    mkdirSync(home, { recursive: true });
    const file = path.join(scratch, `${name}.cjs`);
    const lines = [
      `process.env.HOME = ${JSON.stringify(home)};`,
      `process.env.AGENT_TEMPDIRECTORY = ${JSON.stringify(home)};`,
      `const { TaskMockRunner } = require(${JSON.stringify(require.resolve("azure-pipelines-task-lib/mock-run"))});`,
      `const runner = new TaskMockRunner(${JSON.stringify(path.join(taskDir, "dist/index.js"))});`,
      ...Object.entries(inputs).map(
        ([key, value]) => `runner.setInput(${JSON.stringify(key)}, ${JSON.stringify(value)});`,
      ),
      // The library reads its inputs when first loaded, so the mock is loaded after setInput. The
      // bundle asks for it by its ESM-style path; the mock must answer to that name too.
      `runner.registerMock("azure-pipelines-task-lib/task.js", require(${JSON.stringify(require.resolve("azure-pipelines-task-lib/mock-task"))}));`,
      // The task reads its secret input from the library's vault (internal.js); the mock has none,
      // so the real module is answered with its vault never loaded and the task falls back to getInput.
      `runner.registerMock("azure-pipelines-task-lib/internal.js", require(${JSON.stringify(require.resolve("azure-pipelines-task-lib/internal"))}));`,
      "runner.run();",
    ];
    writeFileSync(file, `${lines.join("\n")}\n`);
    return file;
  }

  async function run(name: string, inputs: Record<string, string>): Promise<MockTestRunner> {
    const runner = new MockTestRunner(writeL0(name, inputs), path.join(taskDir, "task.json"));
    runner.nodePath = process.execPath;
    await runner.runAsync();
    return runner;
  }

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "stowaway-ado-mock-"));
    taskDir = path.join(scratch, "task");
    mkdirSync(taskDir, { recursive: true });
    cpSync(path.join(TASK_SOURCE_DIR, "task.json"), path.join(taskDir, "task.json"));
    await bundleTask(taskDir, { externalTaskLib: true });
  });

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const demo = (outputDir: string) => ({ image: `oci-archive:${DEMO_IMAGE}`, db: DEMO_DB, outputDir });

  it("fails on fail-on high with the gate's error issue", async () => {
    const runner = await run("fail", { ...demo(path.join(scratch, "fail-out")), failOn: "high" });
    expect(runner.failed, runner.stdout).toBe(true);
    expect(runner.errorIssues).toEqual([
      `Stowaway policy gate failed for oci-archive:${DEMO_IMAGE}: 1 violation(s) of gate.failOn; see the Stowaway summary`,
    ]);
    // A critical finding is listed; a medium one (CVE-2023-43804 in urllib3) is below the gate.
    expect(runner.stdOutContained("##vso[task.logissue type=error;code=CVE-2023-49083;]")).toBe(true);
    expect(runner.stdOutContained("code=CVE-2023-43804;")).toBe(false);
  });

  it("succeeds on fail-on none (the demo has findings of every severity, critical included)", async () => {
    const runner = await run("pass", { ...demo(path.join(scratch, "pass-out")), failOn: "none" });
    expect(runner.succeeded, runner.stdout).toBe(true);
    expect(runner.errorIssues).toEqual([]);
    expect(runner.warningIssues).toEqual([]);
  });

  it("succeeds with a warning issue in warn mode", async () => {
    const runner = await run("warn", { ...demo(path.join(scratch, "warn-out")), failOn: "high", mode: "warn" });
    expect(runner.succeeded, runner.stdout).toBe(true);
    expect(runner.warningIssues).toHaveLength(1);
    expect(runner.warningIssues[0]).toMatch(/^Stowaway policy gate would fail for .* \(mode warn\)/);
    expect(runner.stdOutContained("##vso[task.complete result=SucceededWithIssues;]")).toBe(true);
  });
});
