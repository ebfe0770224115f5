import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeHostileFixture, type HostileFixture } from "../../../core/test/helpers/hostile-image.js";
import { unsafeLines } from "../../../core/test/helpers/log-safety.js";
import { runTeamCity } from "../src/run.js";
import { parseOutput, type ParsedMessage } from "./service-message-parser.js";

const work = mkdtempSync(path.join(tmpdir(), "stowaway-teamcity-log-safety-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let fixture: HostileFixture;

beforeAll(async () => {
  fixture = await writeHostileFixture(path.join(work, "hostile"));
}, 60_000);

const KNOWN = new Set([
  "blockOpened",
  "blockClosed",
  "message",
  "publishArtifacts",
  "testSuiteStarted",
  "testSuiteFinished",
  "testStarted",
  "testFailed",
  "testIgnored",
  "testStdOut",
  "testFinished",
  "buildStatisticValue",
  "buildProblem",
  "buildStatus",
]);

async function scan(env: Record<string, string>): Promise<{ code: number; output: string; messages: ParsedMessage[] }> {
  const lines: string[] = [];
  const code = await runTeamCity({
    env: {
      STOWAWAY_DB: fixture.db,
      STOWAWAY_OUTPUT_DIR: mkdtempSync(path.join(work, "out-")),
      STOWAWAY_CACHE_DIR: path.join(work, "cache"),
      ...env,
    },
    writeLine: (line) => lines.push(line),
  });
  const output = lines.join("\n");
  const { messages, other } = parseOutput(output);
  // Every line is one of the adapter's own service messages: nothing from the image starts a line.
  expect(other).toEqual([]);
  expect(unsafeLines(output, "teamcity")).toEqual([]);
  for (const message of messages) {
    expect(KNOWN.has(message.name), message.name).toBe(true);
    // What TeamCity decodes and shows (|0x001B would become ESC again) is inert as well.
    for (const value of [message.value ?? "", ...Object.values(message.attributes)]) {
      expect(unsafeLines(value), `${message.name}: ${JSON.stringify(value)}`).toEqual([]);
    }
  }
  return { code, output, messages };
}

const named = (messages: ParsedMessage[], name: string) => messages.filter((message) => message.name === name);

describe("TeamCity entry on a hostile image and advisory", () => {
  it("a failing gate: tests, problems and messages are inert but name the package", async () => {
    const { code, messages } = await scan({ STOWAWAY_IMAGE: fixture.target, STOWAWAY_FAIL_ON: "high" });
    expect(code).toBe(0);
    expect(named(messages, "buildStatus")).toEqual([]);
    const failed = named(messages, "testFailed");
    expect(failed).toHaveLength(1);
    expect(failed[0]!.attributes.message).toContain("CVE-2099-0001 in evil#\\#vso[task.setvariable variable=PWNED]");
    expect(failed[0]!.attributes.details).toContain("\\x1b[31mred\\x1b[0m");
    expect(failed[0]!.attributes.details).toContain("#\\#teamcity[buildStatus status='SUCCESS'");
    expect(named(messages, "buildProblem")).toHaveLength(1);
    const warnings = named(messages, "message").filter((message) => message.attributes.status === "WARNING");
    expect(warnings.some((warning) => warning.attributes.text!.includes("tc#\\#teamcity[buildStatus"))).toBe(true);
  });

  it("warn mode: the only buildStatus is the adapter's own", async () => {
    const { messages } = await scan({
      STOWAWAY_IMAGE: fixture.target,
      STOWAWAY_FAIL_ON: "high",
      STOWAWAY_MODE: "warn",
    });
    const statuses = named(messages, "buildStatus");
    expect(statuses).toHaveLength(1);
    expect(statuses[0]!.attributes).toEqual({
      text: expect.stringMatching(/^\{build\.status\.text\}; Stowaway: WARN/),
    });
  });

  it("a missing tag is one buildProblem whose description is one inert line", async () => {
    const { code, messages } = await scan({ STOWAWAY_IMAGE: `oci:${fixture.taggedLayout}:nope` });
    expect(code).toBe(2);
    const problems = named(messages, "buildProblem");
    expect(problems).toHaveLength(1);
    expect(problems[0]!.attributes.description!.split("\n")).toHaveLength(1);
    expect(problems[0]!.attributes.description).toMatch(/no image tagged "nope"; tags present: .*#\\#vso\[/);
  });

  it("a missing platform is one inert buildProblem", async () => {
    const { code, messages } = await scan({ STOWAWAY_IMAGE: `oci:${fixture.platformLayout}` });
    expect(code).toBe(2);
    expect(named(messages, "buildProblem")[0]!.attributes.description).toMatch(
      /no image for linux\/amd64 in .*available: /,
    );
  });
});
