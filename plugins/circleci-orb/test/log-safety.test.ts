import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeHostileFixture, type HostileFixture } from "../../../core/test/helpers/hostile-image.js";
import { unsafeLines } from "../../../core/test/helpers/log-safety.js";
import { bash, jobEnvironment, srcDir, stepEnvironment, tempDir } from "./harness.js";

let fixture: HostileFixture;

beforeAll(async () => {
  fixture = await writeHostileFixture(path.join(tempDir("stowaway-orb-hostile-"), "hostile"));
}, 60_000);

/** scan.sh run the way the orb's "Stowaway scan" step runs it, minus the deferred exit. */
async function scanStep(values: Record<string, string | boolean>) {
  const work = tempDir("stowaway-orb-log-safety-");
  const { STOWAWAY_PARAM_EXIT_CODE_FILE: _deferred, ...env } = stepEnvironment("Stowaway scan", {
    db: fixture.db,
    ...values,
  });
  return bash(path.join(srcDir, "scripts", "scan.sh"), { ...jobEnvironment(work), ...env }, work);
}

describe("scan.sh on a hostile image and advisory: the job log stays inert", () => {
  it("a failing gate", async () => {
    const run = await scanStep({ image: fixture.target, "fail-on": "high" });
    expect(run.code, run.output).toBe(1);
    expect(unsafeLines(run.output)).toEqual([]);
    expect(run.output).toContain("evil#\\#vso[task.setvariable variable=PWNED]azure-injected");
  });

  it("a missing tag: one neutralised error line", async () => {
    const run = await scanStep({ image: `oci:${fixture.taggedLayout}:nope` });
    expect(run.code).toBe(2);
    expect(unsafeLines(run.output)).toEqual([]);
    const errors = run.output.split("\n").filter((line) => line.includes("no image tagged"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("#\\#vso[task.setvariable");
  });

  it("a missing platform: one neutralised error line", async () => {
    const run = await scanStep({ image: `oci:${fixture.platformLayout}` });
    expect(run.code).toBe(2);
    expect(unsafeLines(run.output)).toEqual([]);
    expect(run.output.split("\n").filter((line) => line.includes("no image for linux/amd64"))).toHaveLength(1);
  });
});
