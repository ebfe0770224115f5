import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import xml2js from "xml2js";
import { afterAll, describe, expect, it } from "vitest";
import { describeWithShared, sharedPath } from "../../../core/test/helpers/shared.js";
import { compileDraft07, errorsOf } from "../../../core/test/helpers/schema.js";
import { MIRROR_EXPECTED, NO_PROXY_ENV, startDbMirror } from "../../../core/test/helpers/db-mirror.js";
import { startDemoService } from "../../../core/test/helpers/demo-service.js";
import { acceptingPolicy, cliScan, DEMO_DB, DEMO_IMAGE, idsAt, ROOT } from "./demo.js";
import { startRecordingServer } from "./recording-server.js";

const SPEC_FILE = path.join(ROOT, "plugins/bamboo/bamboo-specs/bamboo.yml");
const EXAMPLE_FILE = path.join(ROOT, "examples/bamboo/bamboo-specs/bamboo.yml");
const example = yaml.load(readFileSync(EXAMPLE_FILE, "utf8")) as Record<string, unknown>;
const INSIGHTS_ENTRY = path.join(ROOT, "plugins/bamboo/dist/main.js");
const spec = yaml.load(readFileSync(SPEC_FILE, "utf8")) as Record<string, unknown>;

interface Job {
  tasks: { script?: { scripts: string[] } }[];
  "final-tasks": { script?: { scripts: string[] }; "test-parser"?: { type: string; "test-results": string } }[];
  artifacts: { name: string; location: string; pattern: string; shared: boolean }[];
}
const job = spec["Image scan"] as Job;

const work = mkdtempSync(path.join(tmpdir(), "stowaway-bamboo-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describeWithShared("bamboo.yml against SchemaStore's bamboo-spec schema", () => {
  const validate = compileDraft07(sharedPath("schemas/schemastore/bamboo-spec.json"));

  it("validates, and so does an upstream sample (the validator is not vacuous)", () => {
    expect(validate(spec), errorsOf(validate)).toBe(true);
    const sample = yaml.load(
      readFileSync(sharedPath("testvectors/schemastore-samples/bamboo-spec/test/bamboo-spec-12.1.2-plan.yaml"), "utf8"),
    );
    expect(validate(sample), errorsOf(validate)).toBe(true);
    expect(validate({ ...spec, version: "two" })).toBe(false);
    const badArtifact = { ...job, artifacts: [{ ...job.artifacts[0], shared: "yes" }] };
    expect(validate({ ...spec, "Image scan": badArtifact })).toBe(false);
  });

  it("validates the minimal example too", () => {
    expect(validate(example), errorsOf(validate)).toBe(true);
  });

  it("uses a test parser type the schema knows (its task items are too loose to check it)", () => {
    const schema = JSON.parse(readFileSync(sharedPath("schemas/schemastore/bamboo-spec.json"), "utf8")) as {
      definitions: { testParser: { enum: string[] } };
    };
    const parser = job["final-tasks"].find((task) => task["test-parser"])!["test-parser"]!;
    expect(schema.definitions.testParser.enum).toContain(parser.type);
  });
});

/** Bamboo exports plan variables to scripts as bamboo_<name with dots as underscores>. */
function bambooEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: `${shims()}:${process.env.PATH}`, HOME: work };
  for (const [name, value] of Object.entries(spec.variables as Record<string, string>)) {
    env[`bamboo_${name.replace(/\./g, "_")}`] = value;
  }
  return { ...env, ...overrides };
}

/** `stowaway` and `stowaway-bamboo-insights` on PATH, as the agent's npm install would provide. */
function shims(): string {
  const dir = path.join(work, "bin");
  if (existsSync(dir)) return dir;
  mkdirSync(dir);
  const shim = (name: string, entry: string): void => {
    writeFileSync(path.join(dir, name), `#!/bin/sh\nexec node '${entry}' "$@"\n`);
    chmodSync(path.join(dir, name), 0o755);
  };
  shim("stowaway", path.join(ROOT, "cli/dist/main.js"));
  shim("stowaway-bamboo-insights", INSIGHTS_ENTRY);
  return dir;
}

function runScript(script: string, cwd: string, env: NodeJS.ProcessEnv) {
  return spawnSync("/bin/sh", ["-c", script], { cwd, env, encoding: "utf8" });
}

/** For scripts that talk to the in-process recording server, which a blocking spawn would starve. */
function runScriptAsync(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", script], { cwd, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

async function junitFailures(file: string): Promise<string[]> {
  const doc = (await xml2js.parseStringPromise(readFileSync(file, "utf8"))) as {
    testsuites: { testsuite: { testcase?: { $: { name: string }; failure?: unknown[] }[] }[] };
  };
  return doc.testsuites.testsuite.flatMap((suite) =>
    (suite.testcase ?? []).filter((testcase) => testcase.failure).map((testcase) => testcase.$.name),
  );
}

describe("the plan's tasks, run as a Bamboo agent would", () => {
  const scanScript = job.tasks[0]!.script!.scripts[0]!;
  const parser = job["final-tasks"].find((task) => task["test-parser"])!["test-parser"]!;
  const uploadScript = job["final-tasks"].find((task) => task.script)!.script!.scripts[0]!;

  it("fails the script task at high and leaves the JUnit file where the test parser looks", async () => {
    const cwd = mkdtempSync(path.join(work, "job-"));
    const expected = cliScan(["--fail-on", "high"], path.join(work, "cli-high.json"));
    const run = runScript(
      scanScript,
      cwd,
      bambooEnv({ bamboo_stowaway_image: DEMO_IMAGE, bamboo_stowaway_db: DEMO_DB, bamboo_stowaway_fail_on: "high" }),
    );
    expect(run.status).toBe(expected.exit);
    expect(run.status).toBe(1);
    expect(parser.type).toBe("junit");
    const [dir, glob] = [path.dirname(parser["test-results"]), path.basename(parser["test-results"])];
    const matches = readdirSync(path.join(cwd, dir)).filter((file) => file.endsWith(glob.replace("*", "")));
    expect(matches).toEqual(["stowaway.junit.xml"]);
    const failed = await junitFailures(path.join(cwd, dir, matches[0]!));
    const violating = expected.result.policy!.violations.flatMap((v) => v.findingIds).map((id) => id.split("/")[1]);
    // Every violating finding, and the verdict test case, failed.
    expect(failed.sort()).toEqual([...violating, "verdict"].sort());
    const artifact = job.artifacts[0]!;
    expect(artifact.shared).toBe(true);
    expect(readdirSync(path.join(cwd, artifact.location)).sort()).toEqual([
      "stowaway-outcome.json",
      "stowaway.html",
      "stowaway.json",
      "stowaway.junit.xml",
      "stowaway.sarif",
    ]);
  });

  it("passes the script task at critical once a policy accepts the demo's critical findings", () => {
    const cwd = mkdtempSync(path.join(work, "job-"));
    const env = { bamboo_stowaway_image: DEMO_IMAGE, bamboo_stowaway_db: DEMO_DB, bamboo_stowaway_fail_on: "critical" };
    // Without the policy the same task fails: the demo has critical findings.
    const plain = cliScan(["--fail-on", "critical"], path.join(work, "cli-critical.json"));
    expect(plain.exit).toBe(1);
    expect(runScript(scanScript, cwd, bambooEnv(env)).status).toBe(1);

    const criticals = idsAt(plain.result, "critical");
    expect(criticals).toHaveLength(9);
    const policy = acceptingPolicy(criticals, path.join(work, "accept-critical.yaml"));
    const accepted = cliScan(["--fail-on", "critical", "--policy", policy], path.join(work, "cli-accepted.json"));
    expect(accepted.exit).toBe(0);
    const run = runScript(
      scanScript,
      mkdtempSync(path.join(work, "job-")),
      bambooEnv({ ...env, bamboo_stowaway_policy: policy }),
    );
    expect(run.status, run.stderr).toBe(0);
  });

  it("on a fresh agent with only the image (and a loopback mirror): provisions the database, default gate fails", async () => {
    const mirror = await startDbMirror();
    try {
      const cwd = mkdtempSync(path.join(work, "job-"));
      const run = await runScriptAsync(
        scanScript,
        cwd,
        bambooEnv({
          bamboo_stowaway_image: DEMO_IMAGE,
          ...NO_PROXY_ENV,
          STOWAWAY_DB_MIRROR: mirror.url,
          HOME: cwd,
        }),
      );
      expect(run.status, run.stderr).toBe(1);
      const outcome = JSON.parse(readFileSync(path.join(cwd, "stowaway-reports/stowaway-outcome.json"), "utf8"));
      expect(outcome).toMatchObject({ outcome: MIRROR_EXPECTED.outcome, gate: { failOn: "critical" } });
    } finally {
      await mirror.close();
    }
  });

  it("delegates to a real Stowaway service with stowaway.server, the token from stowaway.server.secret", async () => {
    const demo = await startDemoService(mkdtempSync(path.join(work, "service-")));
    try {
      const cwd = mkdtempSync(path.join(work, "job-"));
      const run = await runScriptAsync(
        scanScript,
        cwd,
        bambooEnv({
          bamboo_stowaway_image: DEMO_IMAGE,
          bamboo_stowaway_server: demo.service.url,
          bamboo_stowaway_server_secret: demo.token,
          HOME: cwd,
        }),
      );
      // The default gate (critical) on the service's findings: the demo has 9 critical ones.
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/scanned by the Stowaway service \(job [0-9a-f-]{36}/);
      expect(`${run.stdout}${run.stderr}`).not.toContain(demo.token);
      const outcome = JSON.parse(readFileSync(path.join(cwd, "stowaway-reports/stowaway-outcome.json"), "utf8"));
      expect(outcome).toMatchObject({ outcome: "fail", counts: { critical: 9 }, database: { state: "given" } });
    } finally {
      await demo.close();
    }
  });

  it("keeps image names with shell syntax inert (they arrive as env vars, not script text)", () => {
    const cwd = mkdtempSync(path.join(work, "job-"));
    const marker = path.join(cwd, "pwned");
    const run = runScript(scanScript, cwd, bambooEnv({ bamboo_stowaway_image: `oci-archive:x$(touch ${marker})` }));
    expect(run.status).toBe(2);
    expect(existsSync(marker)).toBe(false);
  });

  it("skips the Code Insights upload when no Bitbucket URL is set", () => {
    const cwd = mkdtempSync(path.join(work, "job-"));
    const run = runScript(uploadScript, cwd, bambooEnv({}));
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("skipped");
  });

  it.skipIf(!existsSync(INSIGHTS_ENTRY))("uploads to Code Insights in the final task, token masked", async () => {
    const cwd = mkdtempSync(path.join(work, "job-"));
    runScript(
      scanScript,
      cwd,
      bambooEnv({ bamboo_stowaway_image: DEMO_IMAGE, bamboo_stowaway_db: DEMO_DB, bamboo_stowaway_fail_on: "high" }),
    );
    const server = await startRecordingServer();
    try {
      const secret = "bbs-secret-token";
      const run = await runScriptAsync(
        uploadScript,
        cwd,
        bambooEnv({
          bamboo_stowaway_bitbucket_url: server.url,
          bamboo_stowaway_bitbucket_project: "SEC",
          bamboo_stowaway_bitbucket_repo: "shop",
          bamboo_stowaway_bitbucket_secret: secret,
          bamboo_planRepository_revision: "0123abcd",
          bamboo_resultsUrl: "https://bamboo.example.com/browse/SEC-IMGSCAN-7",
        }),
      );
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      expect(server.requests.map((r) => r.method)).toEqual(["PUT", "DELETE", "POST"]);
      expect(server.requests[0]!.url).toBe(
        "/rest/insights/1.0/projects/SEC/repos/shop/commits/0123abcd/reports/stowaway",
      );
      expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${secret}`);
      expect((server.requests[0]!.body as { link: string }).link).toBe(
        "https://bamboo.example.com/browse/SEC-IMGSCAN-7",
      );
      expect(`${run.stdout}${run.stderr}`).not.toContain(secret);
    } finally {
      await server.close();
    }
  });
});

describe("examples/bamboo: the minimal plan's scan task", () => {
  it("sets only the image and fails on the demo image's critical findings (the default gate)", async () => {
    expect(Object.keys(example.variables as Record<string, string>)).toEqual(["stowaway.image"]);
    const scanJob = example["Image scan"] as Job;
    const scan = scanJob.tasks.map((task) => task.script?.scripts[0]).find((text) => text?.includes("stowaway ci"))!;
    const cwd = mkdtempSync(path.join(work, "minimal-"));
    // The agent's own database (STOWAWAY_DB) stands in for the provisioned one here; the
    // provisioning path is exercised by cli/test/ci-examples.test.ts with a loopback mirror.
    const env = bambooEnv({ bamboo_stowaway_image: DEMO_IMAGE, STOWAWAY_DB: DEMO_DB });
    const run = runScript(scan, cwd, env);
    expect(run.status).toBe(1);
    const expected = cliScan(["--fail-on", "critical"], path.join(work, "cli-minimal-plan.json"));
    expect(expected.exit).toBe(1);
    const violating = idsAt(expected.result, "critical");
    expect(violating).toHaveLength(9);
    const failed = await junitFailures(path.join(cwd, "stowaway-reports/stowaway.junit.xml"));
    expect(failed.sort()).toEqual([...violating, "verdict"].sort());
  });
});
