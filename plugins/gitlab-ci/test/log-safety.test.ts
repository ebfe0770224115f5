import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeHostileFixture, type HostileFixture } from "../../../core/test/helpers/hostile-image.js";
import { HOSTILE, unsafeLines } from "../../../core/test/helpers/log-safety.js";
import { main as mrNote } from "../src/mr-note.js";
import { gitRepo, gitlabCiLocal, pluginDir, tempDir } from "./harness.js";
import { readFileSync } from "node:fs";

const classic = readFileSync(path.join(pluginDir, "templates/stowaway.gitlab-ci.yml"), "utf8");
let fixture: HostileFixture;

beforeAll(async () => {
  fixture = await writeHostileFixture(path.join(tempDir("stowaway-gitlab-hostile-"), "hostile"));
}, 60_000);

function project(): string {
  return gitRepo({
    "ci/stowaway.gitlab-ci.yml": classic,
    ".gitlab-ci.yml": "include:\n  - local: ci/stowaway.gitlab-ci.yml\n",
  });
}

/**
 * GitLab's runner log reacts to ANSI escapes and CR (its `section_start:` markers are built from
 * them); the job log, as gitlab-ci-local prints it, must carry neither, nor any other platform's
 * command, wherever the image's text appears.
 */
describe("the template job on a hostile image and advisory (gitlab-ci-local, shell executor)", () => {
  it("a failing gate: the job log is inert and still names the package", async () => {
    const run = await gitlabCiLocal(project(), ["stowaway_scan"], {
      STOWAWAY_IMAGE: fixture.target,
      STOWAWAY_DB: fixture.db,
    });
    const log = run.stdout + run.stderr;
    expect(run.code, log).toBe(1);
    expect(unsafeLines(log)).toEqual([]);
    expect(log).toContain("evil#\\#vso[task.setvariable variable=PWNED]azure-injected");
  });

  it("a missing tag fails the job (exit 2) with one inert error line", async () => {
    const run = await gitlabCiLocal(project(), ["stowaway_scan"], {
      STOWAWAY_IMAGE: `oci:${fixture.taggedLayout}:nope`,
      STOWAWAY_DB: fixture.db,
    });
    const log = run.stdout + run.stderr;
    expect(log).toMatch(/stowaway_scan.*FAIL 2/);
    expect(unsafeLines(log)).toEqual([]);
    // The job's own output (gitlab-ci-local repeats a failed job's last lines in its summary).
    const errors = log
      .split("\n")
      .filter((line) => line.startsWith("stowaway_scan > ") && line.includes("no image tagged"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("#\\#vso[task.setvariable");
  });
});

describe("the merge request note command", () => {
  it("prints its one failure line neutralised, whatever the argument held", async () => {
    const lines: string[] = [];
    const code = await mrNote(["--severity", `${HOSTILE.azure}${HOSTILE.ansi}`], {}, (line) => lines.push(line));
    expect(code).toBe(2);
    expect(lines).toHaveLength(1);
    expect(unsafeLines(lines[0]!)).toEqual([]);
    expect(lines[0]).toContain("#\\#vso[task.setvariable");
  });
});
