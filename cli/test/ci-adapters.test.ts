import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIRROR_EXPECTED, NO_PROXY_ENV, startDbMirror, type DbMirror } from "../../core/test/helpers/db-mirror.js";
import { gitRepo, gitlabCiLocal } from "../../plugins/gitlab-ci/test/harness.js";
import { bash, jobEnvironment, srcDir as orbSrc, stepEnvironment } from "../../plugins/circleci-orb/test/harness.js";
import { HAS_GROOVY, groovyEnv, run as runProcess } from "../../plugins/jenkins/test/groovy.js";
import { runTeamCity } from "../../plugins/teamcity/src/run.js";
import { cliEntry, demoArchive, root } from "./harness.js";

/**
 * The CI contract's promise: every adapter, run as its own harness runs it on a fresh runner with
 * only the image set (and the database mirror, a runner-wide STOWAWAY_DB_MIRROR, on loopback),
 * provisions a database, scans, and reports the same verdict. Each adapter's outcome and counts
 * are read from what it published (stowaway-outcome.json, or its platform outputs) and compared
 * with `stowaway ci` itself and with the verdict the mirror's data implies.
 *
 * The GitHub Action and the Azure DevOps task run here no differently from ci-examples.test.ts (the
 * same committed bundle / bundled task, the same inputs, a mirror): they are checked there only.
 * What stays here differs from the examples: the workspace build on PATH instead of the tarball
 * install, the GitLab template with the CLI already installed, the orb's scan step on its own, the
 * plugin's own Bamboo specs, the TeamCity runner in process, the Jenkins step's `command`.
 */
const image = `oci-archive:${demoArchive}`;
const work = mkdtempSync(path.join(os.tmpdir(), "stowaway-adapters-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Verdict {
  outcome: string;
  counts: Record<string, number>;
}
const verdicts = new Map<string, Verdict>();
let mirror: DbMirror;

function fresh(name: string): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function outcomeFile(file: string): Verdict {
  const document = JSON.parse(readFileSync(file, "utf8")) as Verdict;
  return { outcome: document.outcome, counts: document.counts };
}

function spawnAsync(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** `stowaway` on PATH, as an agent's npm install would provide. */
function shimDir(): string {
  const bin = path.join(work, "bin");
  if (!existsSync(bin)) {
    mkdirSync(bin);
    writeFileSync(path.join(bin, "stowaway"), `#!/bin/sh\nexec "${process.execPath}" "${cliEntry}" "$@"\n`);
    chmodSync(path.join(bin, "stowaway"), 0o755);
  }
  return bin;
}

describe("every adapter on a fresh runner reports the same verdict", () => {
  beforeAll(async () => {
    mirror = await startDbMirror();
  });
  afterAll(() => mirror.close());
  const runner = () => ({ ...NO_PROXY_ENV, STOWAWAY_DB_MIRROR: mirror.url });

  it("stowaway ci", async () => {
    const home = fresh("cli");
    const run = await spawnAsync(process.execPath, [cliEntry, "ci"], {
      cwd: home,
      env: { PATH: process.env.PATH, HOME: home, CI: "true", STOWAWAY_IMAGE: image, ...runner() },
    });
    expect(run.code, run.output).toBe(1);
    verdicts.set("cli", outcomeFile(path.join(home, "stowaway-reports/stowaway-outcome.json")));
  });

  it("GitLab template (gitlab-ci-local)", async () => {
    const classic = readFileSync(path.join(root, "plugins/gitlab-ci/templates/stowaway.gitlab-ci.yml"), "utf8");
    const dir = gitRepo({
      "ci/stowaway.gitlab-ci.yml": classic,
      ".gitlab-ci.yml": "include:\n  - local: ci/stowaway.gitlab-ci.yml\n",
    });
    const run = await gitlabCiLocal(dir, ["stowaway_scan"], { STOWAWAY_IMAGE: image, ...runner() });
    expect(run.code, run.stdout).toBe(1);
    verdicts.set("gitlab", outcomeFile(path.join(dir, "stowaway-reports/stowaway-outcome.json")));
  });

  it("CircleCI orb (the scan step's script)", async () => {
    const dir = fresh("circleci");
    const { STOWAWAY_PARAM_EXIT_CODE_FILE: _deferred, ...params } = stepEnvironment("Stowaway scan", { image });
    const run = await bash(
      path.join(orbSrc, "scripts/scan.sh"),
      { ...jobEnvironment(dir), ...params, ...runner() },
      dir,
    );
    expect(run.code, run.output).toBe(1);
    verdicts.set("circleci", outcomeFile(path.join(dir, "stowaway-reports/stowaway-outcome.json")));
  });

  it("Bamboo specs (the scan task's script)", async () => {
    const dir = fresh("bamboo");
    const spec = load(readFileSync(path.join(root, "plugins/bamboo/bamboo-specs/bamboo.yml"), "utf8")) as Record<
      string,
      { tasks: { script?: { scripts: string[] } }[] }
    >;
    const script = spec["Image scan"]!.tasks[0]!.script!.scripts[0]!;
    const run = await spawnAsync("/bin/sh", ["-c", script], {
      cwd: dir,
      env: { PATH: `${shimDir()}:${process.env.PATH}`, HOME: dir, bamboo_stowaway_image: image, ...runner() },
    });
    expect(run.code, run.output).toBe(1);
    verdicts.set("bamboo", outcomeFile(path.join(dir, "stowaway-reports/stowaway-outcome.json")));
  });

  it("TeamCity runner", async () => {
    const dir = fresh("teamcity");
    const lines: string[] = [];
    const code = await runTeamCity({
      env: { ...runner(), STOWAWAY_IMAGE: image, STOWAWAY_OUTPUT_DIR: path.join(dir, "out"), HOME: dir },
      writeLine: (line) => lines.push(line),
    });
    expect(code).toBe(0);
    expect(lines.join("\n")).toContain("##teamcity[buildProblem");
    verdicts.set("teamcity", outcomeFile(path.join(dir, "out/stowaway-outcome.json")));
  });

  it.skipIf(!HAS_GROOVY)("Jenkins step (Groovy on the step stubs)", async () => {
    const dir = fresh("jenkins");
    const stubs = path.join(root, "plugins/jenkins/test/stubs");
    const argsFile = path.join(work, "jenkins-args.json");
    writeFileSync(argsFile, JSON.stringify({ image, command: path.join(shimDir(), "stowaway") }));
    const run = await runProcess(
      "groovy",
      [
        "-cp",
        stubs,
        path.join(stubs, "run-step.groovy"),
        path.join(root, "plugins/jenkins/vars/stowawayScan.groovy"),
        argsFile,
      ],
      { cwd: dir, env: { ...groovyEnv(), HOME: dir, XDG_CACHE_HOME: path.join(dir, ".cache"), ...runner() } },
    );
    const state = JSON.parse(
      run.stdout
        .split("\n")
        .find((line) => line.startsWith("STUB_STATE "))!
        .slice(11),
    ) as {
      result: string;
    };
    expect(state.result).toBe("FAILURE");
    verdicts.set("jenkins", outcomeFile(path.join(dir, "stowaway-reports/stowaway-outcome.json")));
  });

  it("all agree with stowaway ci and with the mirror's data: fail, 1 critical, 1 medium", () => {
    const expected: Verdict = {
      outcome: MIRROR_EXPECTED.outcome,
      counts: { critical: 1, high: 0, medium: 1, low: 0, negligible: 0, unknown: 0 },
    };
    expect(verdicts.get("cli")).toEqual(expected);
    const adapters = ["gitlab", "circleci", "bamboo", "teamcity", ...(HAS_GROOVY ? ["jenkins"] : [])];
    expect([...verdicts.keys()].sort()).toEqual(["cli", ...adapters].sort());
    for (const adapter of adapters) expect(verdicts.get(adapter), adapter).toEqual(expected);
  });
});
