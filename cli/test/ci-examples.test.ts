/**
 * Issue 10's done-when, example by example: each CI's main example under examples/ sets only the
 * image name, and run as its platform's harness runs it on a fresh runner (empty HOME and cache, no
 * `stowaway` on PATH, no network but a loopback mirror of the demo database as a runner-wide
 * STOWAWAY_DB_MIRROR), it provisions a database, scans the bundled demo image and reports the same
 * verdict as every other adapter: the demo's 9 critical, 12 high, 13 medium, 1 low under the default
 * gate (critical), so `fail`.
 *
 * Packages come the way each README says: templates that npm-install the pinned CLI (GitLab, the
 * CircleCI orb) install the `npm pack` tarballs from a registry on 127.0.0.1; agents whose README
 * says `npm install --global` (TeamCity, Bamboo, Jenkins) get that install from the same tarballs;
 * GitHub and Azure run their committed/bundled task as the platform does.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEMO_EXPECTED,
  NO_PROXY_ENV,
  demoDbFeeds,
  startDbMirror,
  type DbMirror,
} from "../../core/test/helpers/db-mirror.js";
import { tempDir } from "../../core/test/helpers/temp-dir.js";
import { actionHarness } from "../../plugins/github-action/test/harness.js";
import { gitRepo } from "../../plugins/gitlab-ci/test/harness.js";
import { jobEnvironment, srcDir as orbSrc, stepEnvironment } from "../../plugins/circleci-orb/test/harness.js";
import { HAS_GROOVY, groovyEnv, run as runProcess } from "../../plugins/jenkins/test/groovy.js";
import { installTask, runTaskAsAgent } from "../../plugins/azure-devops/test/helpers/task-run.js";
import { demoArchive, root } from "./harness.js";
import { installFromTarballs, type TarballInstall } from "./tarball-install.js";

const image = `oci-archive:${demoArchive}`;
const scratch = tempDir("stowaway-examples-");
const github = actionHarness("stowaway-examples-gha-");
const example = (file: string): string => readFileSync(path.join(root, "examples", file), "utf8");

interface Verdict {
  outcome: string;
  counts: Record<string, number>;
}
const verdicts = new Map<string, Verdict>();
let installed: TarballInstall;
let mirror: DbMirror;

function outcomeFile(file: string): Verdict {
  const document = JSON.parse(readFileSync(file, "utf8")) as Verdict;
  return { outcome: document.outcome, counts: document.counts };
}

function fresh(name: string): string {
  return mkdirSync(path.join(scratch, name), { recursive: true }) ?? path.join(scratch, name);
}

/**
 * PATH of a fresh runner: node, npm and the system's tools, but no `stowaway` (this repository's
 * node_modules/.bin, which vitest puts on PATH, would otherwise stand in for the install).
 */
function runnerPath(): string {
  const dirs = (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((dir) => dir && !dir.includes("node_modules") && !existsSync(path.join(dir, "stowaway")));
  return [path.dirname(process.execPath), ...dirs].join(path.delimiter);
}

/** A fresh runner: own HOME and cache, npm pointed at the loopback registry, the demo DB mirror. */
function runner(dir: string, withGlobalInstall = false): NodeJS.ProcessEnv {
  return {
    ...installed.env,
    PATH: withGlobalInstall ? `${installed.binDir}${path.delimiter}${runnerPath()}` : runnerPath(),
    HOME: path.join(dir, "home"),
    XDG_CACHE_HOME: path.join(dir, ".cache"),
    CI: "true",
    ...NO_PROXY_ENV,
    STOWAWAY_DB_MIRROR: mirror.url,
  };
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

beforeAll(async () => {
  installed = await installFromTarballs(scratch);
  mirror = await startDbMirror({ feeds: demoDbFeeds() });
}, 300_000);

afterAll(async () => {
  await mirror?.close();
  await installed?.close();
});

describe("each CI's main example, run as its platform runs it with only the image name", () => {
  it("stowaway ci from the global install (the reference)", async () => {
    const dir = fresh("cli");
    const run = await spawnAsync("stowaway", ["ci"], {
      cwd: dir,
      env: { ...runner(dir, true), STOWAWAY_IMAGE: image },
    });
    expect(run.code, run.output).toBe(1);
    const verdict = outcomeFile(path.join(dir, "stowaway-reports/stowaway-outcome.json"));
    verdicts.set("cli", verdict);
    expect(run.output).toContain("9 critical, 12 high, 13 medium, 1 low");
  });

  it("GitHub Actions: examples/github/scan.yml (the committed action bundle)", async () => {
    const workflow = load(example("github/scan.yml")) as {
      jobs: Record<string, { steps: { uses?: string; with?: Record<string, string> }[] }>;
    };
    const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
    expect(steps).toHaveLength(1);
    expect(Object.keys(steps[0]!.with ?? {})).toEqual(["image"]);
    const run = await github.runAction({ image }, { ...NO_PROXY_ENV, STOWAWAY_DB_MIRROR: mirror.url });
    expect(run.code, run.stdout).toBe(1);
    verdicts.set("github", outcomeFile(path.join(run.dir, "temp/stowaway/stowaway-outcome.json")));
    expect(run.outputs.outcome).toBe("fail");
    expect(Number(run.outputs.critical)).toBe(DEMO_EXPECTED.counts.critical);
  });

  it("Azure Pipelines: examples/azure-devops/azure-pipelines.yml (the task as the agent runs it)", async () => {
    const pipeline = load(example("azure-devops/azure-pipelines.yml")) as {
      steps: { task?: string; inputs?: Record<string, string> }[];
    };
    expect(pipeline.steps).toHaveLength(1);
    expect(pipeline.steps[0]!.task).toBe("StowawayScan@0");
    expect(Object.keys(pipeline.steps[0]!.inputs ?? {})).toEqual(["image"]);
    const { taskDir, cleanup } = await installTask();
    try {
      const workDir = fresh("azure");
      const run = runTaskAsAgent(taskDir, {
        workDir,
        inputs: { image },
        env: { ...NO_PROXY_ENV, STOWAWAY_DB_MIRROR: mirror.url },
      });
      expect(run.result, run.stdout).toBe("Failed");
      verdicts.set("azure", outcomeFile(path.join(workDir, "a/stowaway/stowaway-outcome.json")));
      expect(run.outputs.outcome).toBe("fail");
    } finally {
      cleanup();
    }
  });

  it("GitLab CI: examples/gitlab/minimal.gitlab-ci.yml (gitlab-ci-local; the template npm-installs the CLI)", async () => {
    const text = example("gitlab/minimal.gitlab-ci.yml");
    const pipeline = load(text) as { include: { remote: string }[]; variables: Record<string, string> };
    expect(Object.keys(pipeline.variables)).toEqual(["STOWAWAY_IMAGE"]);
    expect(pipeline.include).toHaveLength(1);
    const remote = pipeline.include[0]!.remote;
    expect(remote).toMatch(/\/templates\/stowaway\.gitlab-ci\.yml$/);
    // The remote include is this repository's template, included locally (gitlab-ci-local would fetch
    // it over the network); the image variable names the demo image instead of the project's.
    const local = text
      .replace(`remote: ${remote}`, "local: ci/stowaway.gitlab-ci.yml")
      .replace(pipeline.variables.STOWAWAY_IMAGE!, image);
    const dir = gitRepo({
      "ci/stowaway.gitlab-ci.yml": readFileSync(
        path.join(root, "plugins/gitlab-ci/templates/stowaway.gitlab-ci.yml"),
        "utf8",
      ),
      ".gitlab-ci.yml": local,
    });
    const prefix = path.join(dir, ".npm-global");
    const env = runner(dir);
    const run = await spawnAsync(
      path.join(root, "node_modules/.bin/gitlab-ci-local"),
      ["--force-shell-executor", "--no-color", "stowaway_scan"],
      // `npm install --global` in the job goes to this runner's prefix, whose bin/ is on PATH.
      { cwd: dir, env: { ...env, npm_config_prefix: prefix, PATH: `${prefix}/bin${path.delimiter}${env.PATH}` } },
    );
    expect(run.code, run.output).toBe(1);
    expect(existsSync(path.join(prefix, "bin/stowaway")), run.output).toBe(true);
    verdicts.set("gitlab", outcomeFile(path.join(dir, "stowaway-reports/stowaway-outcome.json")));
  });

  it("CircleCI: examples/circleci/config.yml (the orb's steps; its install step npm-installs the CLI)", async () => {
    const config = load(example("circleci/config.yml")) as {
      workflows: Record<string, { jobs: (string | Record<string, Record<string, unknown>>)[] }>;
    };
    const jobs = Object.values(config.workflows).flatMap((workflow) => workflow.jobs);
    expect(jobs).toHaveLength(1);
    const parameters = (jobs[0] as Record<string, Record<string, unknown>>)["stowaway/scan"]!;
    expect(Object.keys(parameters)).toEqual(["image"]);
    const dir = fresh("circleci");
    const exitCodeFile = path.join(dir, "exit-code");
    // CircleCI's job shell, with the runner's PATH (no stowaway) rather than the harness's shim.
    const job = { ...jobEnvironment(dir), ...runner(dir), BASH_ENV: path.join(dir, ".bash_env") };
    const step = async (name: string, script: string, values: Record<string, string> = {}) =>
      spawnAsync("bash", [path.join(orbSrc, "scripts", script)], {
        cwd: dir,
        env: { ...job, ...stepEnvironment(name, values), STOWAWAY_PARAM_EXIT_CODE_FILE: exitCodeFile },
      });
    const install = await step("Install Stowaway", "install.sh");
    expect(install.code, install.output).toBe(0);
    expect(existsSync(path.join(dir, "home/.stowaway/node_modules/.bin/stowaway"))).toBe(true);
    const scan = await step("Stowaway scan", "scan.sh", { image });
    expect(scan.code, scan.output).toBe(0); // the verdict waits for the Tests tab and artifacts
    const verdict = await step("Stowaway verdict", "verdict.sh");
    expect(verdict.code, verdict.output).toBe(1);
    verdicts.set("circleci", outcomeFile(path.join(dir, "stowaway-reports/stowaway-outcome.json")));
  });

  it("TeamCity: examples/teamcity/.teamcity/settings.kts (the meta-runner's script on an agent)", async () => {
    const settings = example("teamcity/.teamcity/settings.kts");
    const params = Object.fromEntries(
      [...settings.matchAll(/^\s+param\("([^"]+)", "([^"]*)"\)/gm)].map((match) => [match[1]!, match[2]!]),
    );
    expect(Object.keys(params)).toEqual(["env.STOWAWAY_IMAGE"]);
    const metaRunner = readFileSync(path.join(root, "plugins/teamcity/meta-runners/Stowaway_Scan.xml"), "utf8");
    // TeamCity hands the step every env.* parameter: the meta-runner's defaults, then the build's
    // values. The runner-wide mirror is an env.STOWAWAY_DB_MIRROR the administrator sets on the Root
    // project (here: the agent environment), which an empty default does not replace.
    const defaults = Object.fromEntries(
      [...metaRunner.matchAll(/<param name="([\w.]+)" value="([^"]*)"/g)]
        .filter((match) => match[2] !== "")
        .map((match) => [match[1]!, match[2]!]),
    );
    const merged: Record<string, string> = { ...defaults, ...params, "env.STOWAWAY_IMAGE": image };
    const script = /<param name="script\.content"><!\[CDATA\[([\s\S]*?)\]\]>/
      .exec(metaRunner)![1]!
      .replace(/%([\w.]+)%/g, (_, name: string) => merged[name]!);
    const dir = fresh("teamcity");
    const env: NodeJS.ProcessEnv = { ...runner(dir, true) };
    for (const [name, value] of Object.entries(merged)) if (name.startsWith("env.")) env[name.slice(4)] = value;
    const run = await spawnAsync("/bin/sh", ["-c", script], { cwd: dir, env });
    // TeamCity fails the build on the build problem, not on the exit code.
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/^##teamcity\[buildProblem .*identity='stowaway_gate/m);
    verdicts.set("teamcity", outcomeFile(path.join(dir, "stowaway-reports/stowaway-outcome.json")));
  });

  it("Bamboo: examples/bamboo/bamboo-specs/bamboo.yml (the scan task's script on an agent)", async () => {
    const plan = load(example("bamboo/bamboo-specs/bamboo.yml")) as Record<string, unknown> & {
      variables: Record<string, string>;
    };
    expect(Object.keys(plan.variables)).toEqual(["stowaway.image"]);
    const job = plan["Image scan"] as { tasks: { script?: { scripts: string[] } }[] };
    const script = job.tasks.find((task) => task.script)!.script!.scripts[0]!;
    const dir = fresh("bamboo");
    const env: NodeJS.ProcessEnv = { ...runner(dir, true) };
    // Bamboo exports plan variables as bamboo_<name with dots as underscores>.
    for (const [name, value] of Object.entries(plan.variables)) env[`bamboo_${name.replace(/\./g, "_")}`] = value;
    env.bamboo_stowaway_image = image;
    const run = await spawnAsync("/bin/sh", ["-c", script], { cwd: dir, env });
    expect(run.code, run.output).toBe(1);
    verdicts.set("bamboo", outcomeFile(path.join(dir, "stowaway-reports/stowaway-outcome.json")));
  });

  it.skipIf(!HAS_GROOVY)("Jenkins: examples/jenkins/Jenkinsfile (the step on Groovy step stubs)", async () => {
    const text = example("jenkins/Jenkinsfile");
    const call = /stowawayScan\(([\s\S]*?)\)/.exec(text)![1]!;
    expect([...call.matchAll(/^\s*([A-Za-z]+):/gm)].map((match) => match[1])).toEqual(["image"]);
    const dir = fresh("jenkins");
    const stubs = path.join(root, "plugins/jenkins/test/stubs");
    const argsFile = path.join(dir, "args.json");
    writeFileSync(argsFile, JSON.stringify({ image }));
    const env = runner(dir, true);
    const run = await runProcess(
      "groovy",
      [
        "-cp",
        stubs,
        path.join(stubs, "run-step.groovy"),
        path.join(root, "plugins/jenkins/vars/stowawayScan.groovy"),
        argsFile,
      ],
      { cwd: dir, env: { ...groovyEnv(), ...env } },
    );
    const state = JSON.parse(
      run.stdout
        .split("\n")
        .find((line) => line.startsWith("STUB_STATE "))!
        .slice(11),
    ) as { result: string };
    expect(state.result).toBe("FAILURE");
    verdicts.set("jenkins", outcomeFile(path.join(dir, "stowaway-reports/stowaway-outcome.json")));
  });

  it("all report the demo's verdict: fail, 9 critical, 12 high, 13 medium, 1 low", () => {
    const adapters = [
      "github",
      "azure",
      "gitlab",
      "circleci",
      "teamcity",
      "bamboo",
      ...(HAS_GROOVY ? ["jenkins"] : []),
    ];
    expect([...verdicts.keys()].sort()).toEqual(["cli", ...adapters].sort());
    for (const [name, verdict] of verdicts) expect(verdict, name).toEqual(DEMO_EXPECTED);
  });
});
