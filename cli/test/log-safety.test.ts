import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { HOSTILE, unsafeLines } from "../../core/test/helpers/log-safety.js";
import {
  HOSTILE_MATCHED_PACKAGE,
  HOSTILE_NPM_PACKAGE,
  HOSTILE_PRETTY_NAME,
  HOSTILE_SUMMARY,
  writeHostileFixture,
  type HostileFixture,
} from "../../core/test/helpers/hostile-image.js";
import { cliHarness, type CliRun } from "./harness.js";

const { stowaway, work } = cliHarness("stowaway-log-safety-");
let fixture: HostileFixture;

beforeAll(async () => {
  fixture = await writeHostileFixture(path.join(work(), "hostile"));
}, 60_000);

/** The whole log a CI job would show: stdout and stderr, each line checked on its own. */
function expectInert(run: CliRun): void {
  expect(unsafeLines(run.stdout), "stdout").toEqual([]);
  expect(unsafeLines(run.stderr), "stderr").toEqual([]);
}

describe("stowaway on an image whose metadata and advisory carry CI commands and terminal escapes", () => {
  it("sbom table: every line inert, the hostile names still readable", () => {
    const run = stowaway(["sbom", fixture.target, "--no-cache"]);
    expect(run.code).toBe(0);
    expectInert(run);
    expect(run.stdout).toContain("OS: \\::error title=pwned::github-injected \\x1b[31mred\\x1b[0m");
    expect(run.stdout).toContain("evil#\\#vso[task.setvariable variable=PWNED]azure-injected");
    expect(run.stdout).toContain("ansi\\x1b[31mred\\x1b[0m\\x9b31mcsi");
    expect(run.stdout).toContain("tc#\\#teamcity[buildStatus");
    expect(run.stdout).toContain("ghline\\u2028break");
  });

  it("sbom --format json: inert on stdout, and the document holds the exact hostile values", () => {
    const run = stowaway(["sbom", fixture.target, "--no-cache", "-f", "json"]);
    expect(run.code).toBe(0);
    expectInert(run);
    const result = JSON.parse(run.stdout);
    expect(result.artifact.os.prettyName).toBe(HOSTILE_PRETTY_NAME);
    const names = result.packages.map((pkg: { name: string }) => pkg.name);
    expect(names).toContain(HOSTILE_MATCHED_PACKAGE);
    expect(names).toContain(HOSTILE_NPM_PACKAGE.name);
    expect(run.stdout).toContain("evil#\\u0023vso[task.setvariable");
  });

  it("scan table with a failing gate: findings, policy lines, warnings and the summary line are inert", () => {
    const run = stowaway(["scan", fixture.target, "--db", fixture.db, "--no-cache", "--fail-on", "high"]);
    expect(run.code).toBe(1);
    expectInert(run);
    expect(run.stdout).toMatch(/CVE-2099-0001 +evil#\\#vso\[task\.setvariable variable=PWNED\]azure-injected +1\.0-1/);
    expect(run.stdout).toContain("\\::error title=pwned::github-injected   ::set-output");
    expect(run.stdout).toMatch(/^warning: match: tc#\\#teamcity\[buildStatus/m);
    expect(run.stderr).toMatch(/policy: FAIL/);
  });

  for (const format of ["json", "sarif", "gitlab", "cyclonedx", "spdx", "markdown", "junit", "html"]) {
    it(`scan --format ${format} on stdout, with warnings on stderr: inert`, () => {
      const run = stowaway(["scan", fixture.target, "--db", fixture.db, "--no-cache", "-f", format]);
      expect(run.code).toBe(0);
      expectInert(run);
      expect(run.stderr).toMatch(/^warning: match: /m);
      if (["json", "sarif", "gitlab"].includes(format)) {
        expect(run.stdout).toContain("#\\u0023vso[task.setvariable");
      }
      if (format === "json") {
        const finding = JSON.parse(run.stdout).findings[0];
        expect(finding.summary).toBe(HOSTILE_SUMMARY);
        expect(finding.packageName).toBe(HOSTILE_MATCHED_PACKAGE);
      }
    });
  }

  it("a missing tag is one neutralised error line that lists the image's tags as short excerpts", () => {
    const run = stowaway(["sbom", `oci:${fixture.taggedLayout}:nope`, "--no-cache"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expectInert(run);
    const lines = run.stderr.split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^stowaway: error: .*: no image tagged "nope"; tags present: /);
    expect(lines[0]).toContain('"v1over\\rwrite::error title=pwned::github-injected"');
    expect(lines[0]).toContain("#\\#vso[task.setvariable");
  });

  it("a missing platform is one neutralised error line naming the image's platforms", () => {
    const run = stowaway(["sbom", `oci:${fixture.platformLayout}`, "--platform", "linux/amd64", "--no-cache"]);
    expect(run.code).toBe(2);
    expectInert(run);
    const lines = run.stderr.split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^stowaway: error: no image for linux\/amd64 in .*; available: .*; pass --platform$/);
    expect(lines[0]).toContain("linux/arm64#\\#vso[task.setvariable");
  });

  it("an image reference typed with a CI command in it is refused on one inert line", () => {
    const run = stowaway(["sbom", `registry:${HOSTILE.github}\n${HOSTILE.azure}`, "--no-cache"]);
    expect(run.code).toBe(2);
    expectInert(run);
    expect(run.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  });
});
