import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeHostileFixture, type HostileFixture } from "../../../core/test/helpers/hostile-image.js";
import { HOSTILE, unsafeLines } from "../../../core/test/helpers/log-safety.js";
import { runInsightsCli } from "../src/insights-cli.js";
import { ROOT } from "./demo.js";
import { startRecordingServer } from "./recording-server.js";

const spec = yaml.load(readFileSync(path.join(ROOT, "plugins/bamboo/bamboo-specs/bamboo.yml"), "utf8")) as Record<
  string,
  unknown
>;
const scanScript = (spec["Image scan"] as { tasks: { script?: { scripts: string[] } }[] }).tasks[0]!.script!
  .scripts[0]!;
const work = mkdtempSync(path.join(tmpdir(), "stowaway-bamboo-log-safety-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let fixture: HostileFixture;

beforeAll(async () => {
  fixture = await writeHostileFixture(path.join(work, "hostile"));
}, 60_000);

/** The plan's variables as Bamboo exports them, and `stowaway` on PATH as the agent's install provides it. */
function agentEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const bin = path.join(work, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(path.join(bin, "stowaway"), `#!/bin/sh\nexec node '${path.join(ROOT, "cli/dist/main.js")}' "$@"\n`);
  chmodSync(path.join(bin, "stowaway"), 0o755);
  const env: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env.PATH}`, HOME: work };
  for (const [name, value] of Object.entries(spec.variables as Record<string, string>)) {
    env[`bamboo_${name.replace(/\./g, "_")}`] = value;
  }
  return { ...env, ...overrides };
}

function scanTask(image: string): { status: number | null; log: string; cwd: string } {
  const cwd = mkdtempSync(path.join(work, "job-"));
  const env = agentEnv({
    bamboo_stowaway_image: image,
    bamboo_stowaway_db: fixture.db,
    bamboo_stowaway_fail_on: "high",
  });
  const run = spawnSync("/bin/sh", ["-c", scanScript], { cwd, env, encoding: "utf8" });
  return { status: run.status, log: run.stdout + run.stderr, cwd };
}

describe("the plan on a hostile image and advisory: the build log stays inert", () => {
  it("the scan task with a failing gate", () => {
    const run = scanTask(fixture.target);
    expect(run.status, run.log).toBe(1);
    expect(unsafeLines(run.log)).toEqual([]);
    expect(run.log).toContain("evil#\\#vso[task.setvariable variable=PWNED]azure-injected");
  });

  it("the scan task on a missing tag: one inert error line", () => {
    const run = scanTask(`oci:${fixture.taggedLayout}:nope`);
    expect(run.status).toBe(2);
    expect(unsafeLines(run.log)).toEqual([]);
    expect(run.log.split("\n").filter((line) => line.includes("no image tagged"))).toHaveLength(1);
  });

  it("the Code Insights uploader prints Bitbucket's refusal, which quotes the report, neutralised", async () => {
    const scanned = scanTask(fixture.target);
    const server = await startRecordingServer(() => ({
      status: 400,
      body: { errors: [{ message: `annotation rejected: ${HOSTILE.azure} ${HOSTILE.ansi}\n${HOSTILE.github}` }] },
    }));
    const lines: string[] = [];
    try {
      const code = await runInsightsCli({
        argv: [
          ...["--url", server.url, "--project", "SEC", "--repo", "app", "--commit", "abc123"],
          ...["--report", path.join(scanned.cwd, "stowaway-reports/stowaway.json")],
        ],
        env: { STOWAWAY_BITBUCKET_TOKEN: "t0ken" },
        out: (line) => lines.push(line),
        err: (line) => lines.push(line),
      });
      expect(code).toBe(2);
    } finally {
      await server.close();
    }
    expect(lines).toHaveLength(1);
    expect(unsafeLines(lines[0]!)).toEqual([]);
    expect(lines[0]).toContain("annotation rejected: #\\#vso[task.setvariable");
    expect(scanned.status).toBe(1);
  });
});
