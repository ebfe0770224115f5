import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  HOSTILE_MATCHED_PACKAGE,
  writeHostileFixture,
  type HostileFixture,
} from "../../../core/test/helpers/hostile-image.js";
import { unsafeLines } from "../../../core/test/helpers/log-safety.js";
import { actionHarness, annotations, type ActionRun } from "./harness.js";

const harness = actionHarness("stowaway-gha-log-safety-");
let fixture: HostileFixture;

beforeAll(async () => {
  fixture = await writeHostileFixture(path.join(harness.work(), "hostile"));
}, 60_000);

/**
 * The step's log as the runner reads it: only the action's own workflow commands may start a line
 * with `::`, and neither they (decoded, as the runner shows them) nor any other line carries a
 * command or a control byte from the image.
 */
function expectInert(run: ActionRun): void {
  expect(unsafeLines(run.stdout, "github"), "stdout").toEqual([]);
  expect(unsafeLines(run.stderr), "stderr").toEqual([]);
  for (const command of run.commands) {
    expect(unsafeLines(command.message), `::${command.command}:: message`).toEqual([]);
    for (const value of Object.values(command.properties)) expect(unsafeLines(value)).toEqual([]);
  }
  expect(
    run.commands.map((command) => command.command).filter((name) => !["error", "warning", "add-mask"].includes(name)),
  ).toEqual([]);
}

describe("the bundled action on a hostile image and advisory", () => {
  it("a failing gate: annotations, the verdict and the log lines are inert but name the package", async () => {
    const run = await harness.runAction({ image: fixture.target, db: fixture.db, "fail-on": "high" });
    expect(run.code).toBe(1);
    expect(run.outputs.outcome).toBe("fail");
    expectInert(run);
    const errors = annotations(run, "error");
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]!.message).toContain("CRITICAL CVE-2099-0001 in evil#\\#vso[task.setvariable variable=PWNED]");
    expect(errors[0]!.message).toContain("\\x1b[31mred\\x1b[0m");
    expect(errors.at(-1)!.message).toMatch(/^Stowaway policy gate failed for .*evil#\\#vso\[task\.setvariable/);
    // The summary is markdown, not a log, but it may be printed: it is inert too.
    expect(unsafeLines(run.summary)).toEqual([]);
    expect(run.summary).toContain("CVE-2099-0001");
  });

  it("warn mode: warning annotations, same rules", async () => {
    const run = await harness.runAction({ image: fixture.target, db: fixture.db, "fail-on": "high", mode: "warn" });
    expect(run.code).toBe(0);
    expectInert(run);
    expect(annotations(run, "warning").some((warning) => warning.message.includes(HOSTILE_MATCHED_PACKAGE))).toBe(
      false,
    );
    expect(annotations(run, "warning").some((warning) => warning.message.includes("evil#\\#vso["))).toBe(true);
  });

  it("a missing tag fails the step with one inert error that lists the tags as excerpts", async () => {
    const run = await harness.runAction({ image: `oci:${fixture.taggedLayout}:nope`, db: fixture.db });
    expect(run.code).toBe(1);
    expectInert(run);
    const errors = annotations(run, "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/^stowaway: .*no image tagged "nope"; tags present: /);
    expect(errors[0]!.message.split("\n")).toHaveLength(1);
    expect(errors[0]!.message).toContain("#\\#vso[task.setvariable");
  });

  it("a missing platform fails the step with one inert error", async () => {
    const run = await harness.runAction({ image: `oci:${fixture.platformLayout}`, db: fixture.db });
    expect(run.code).toBe(1);
    expectInert(run);
    const errors = annotations(run, "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/^stowaway: no image for linux\/amd64 in .*available: /);
  });
});
