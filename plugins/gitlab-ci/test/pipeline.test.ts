import { cpSync, existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCredentialProbeRegistry, type TestHttpServer } from "../../../core/test/helpers/registry-server.js";
import { HAS_SHARED, sharedPath } from "../../../core/test/helpers/shared.js";
import { compileDraft07 } from "../../../core/test/helpers/schema.js";
import { MIRROR_EXPECTED, NO_PROXY_ENV, startDbMirror, type DbMirror } from "../../../core/test/helpers/db-mirror.js";
import { startFakeGitlab } from "./fake-gitlab.js";
import { demoDb, demoFindings, demoImage, gitRepo, gitlabCiLocal, pluginDir, stowaway, tempDir } from "./harness.js";

const classic = readFileSync(path.join(pluginDir, "templates/stowaway.gitlab-ci.yml"), "utf8");
const component = readFileSync(path.join(pluginDir, "templates/stowaway/template.yml"), "utf8");
/** These runs ask for the high gate, which the demo image's CRITICAL and HIGH findings fail. */
const demo = { STOWAWAY_IMAGE: demoImage, STOWAWAY_DB: demoDb, STOWAWAY_FAIL_ON: "high" };
/** The demo image's findings by severity, from the CLI's own JSON. */
const DEMO = demoFindings();
/** The findings the high gate fails on. */
const HIGH_IDS = [...DEMO.critical, ...DEMO.high].sort();

/** A project whose .gitlab-ci.yml includes the template from inside the repository (include:local). */
function project(extra = ""): string {
  return gitRepo({
    "ci/stowaway.gitlab-ci.yml": classic,
    ".gitlab-ci.yml": `include:\n  - local: ci/stowaway.gitlab-ci.yml\n${extra}`,
  });
}

const read = (dir: string, file: string) => readFileSync(path.join(dir, file), "utf8");
const gitlabIds = (report: { vulnerabilities: { identifiers: { value: string }[] }[] }) =>
  report.vulnerabilities.map((vulnerability) => vulnerability.identifiers[0]!.value).sort();

/** What the CLI itself reports for the demo image: the expected values for the job's reports. */
function cliGitlabReport(extra: string[] = []) {
  const run = stowaway(["scan", demoImage, "--db", demoDb, "--no-cache", "-f", "gitlab", ...extra], {
    XDG_CACHE_HOME: tempDir("stowaway-cache-"),
  });
  return JSON.parse(run.stdout) as { vulnerabilities: { identifiers: { value: string }[] }[] };
}

describe("the template job on the demo image (gitlab-ci-local, shell executor)", () => {
  let failed: { dir: string; code: number; log: string };
  beforeAll(async () => {
    const dir = project();
    const run = await gitlabCiLocal(dir, ["stowaway_scan"], demo);
    failed = { dir, code: run.code, log: run.stdout + run.stderr };
  });

  it("fails the job on the HIGH findings with fail-on high (exit 1)", () => {
    expect(failed.code, failed.log).toBe(1);
    expect(failed.log).toMatch(/stowaway_scan.*FAIL 1/);
    for (const id of HIGH_IDS) expect(failed.log).toContain(id);
  });

  it("writes every report even though the gate failed", () => {
    for (const file of [
      "gl-container-scanning-report.json",
      "stowaway-reports/stowaway.junit.xml",
      "stowaway-reports/stowaway.cdx.json",
      "stowaway-reports/stowaway.json",
      "stowaway-reports/stowaway.html",
      "stowaway-reports/stowaway-outcome.json",
    ]) {
      expect(existsSync(path.join(failed.dir, file)), file).toBe(true);
    }
    const result = JSON.parse(read(failed.dir, "stowaway-reports/stowaway.json"));
    expect(result.policy.outcome).toBe("fail");
    expect(JSON.parse(read(failed.dir, "stowaway-reports/stowaway-outcome.json")).outcome).toBe("fail");
    const junit = read(failed.dir, "stowaway-reports/stowaway.junit.xml");
    expect(junit).toMatch(/^<\?xml/);
    for (const id of HIGH_IDS) expect(junit).toContain(id);
    expect(JSON.parse(read(failed.dir, "stowaway-reports/stowaway.cdx.json")).bomFormat).toBe("CycloneDX");
  });

  it("the container-scanning report matches the CLI's and validates against schema 15.2.1", () => {
    const report = JSON.parse(read(failed.dir, "gl-container-scanning-report.json"));
    expect(gitlabIds(report)).toEqual(gitlabIds(cliGitlabReport()));
    for (const id of HIGH_IDS) expect(gitlabIds(report)).toContain(id);
    if (HAS_SHARED) {
      const validate = compileDraft07(sharedPath("schemas/gitlab/container-scanning-report-format-15.2.1.json"));
      expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  it("passes with STOWAWAY_FAIL_ON=critical (exit 0) once a policy excepts every CRITICAL finding", async () => {
    expect(DEMO.critical.length).toBeGreaterThan(0);
    const exceptions = DEMO.critical.map(
      (id) => `  - id: ${id}\n    reason: "accepted for this test"\n    expires: 2099-12-31\n`,
    );
    const dir = gitRepo({
      "ci/stowaway.gitlab-ci.yml": classic,
      ".gitlab-ci.yml": "include:\n  - local: ci/stowaway.gitlab-ci.yml\n",
      "policy.yaml": `version: 1\nexceptions:\n${exceptions.join("")}`,
    });
    const run = await gitlabCiLocal(dir, ["stowaway_scan"], {
      ...demo,
      STOWAWAY_FAIL_ON: "critical",
      STOWAWAY_POLICY: "policy.yaml",
    });
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/PASS\s+stowaway_scan/);
    const result = JSON.parse(read(dir, "stowaway-reports/stowaway.json"));
    expect(result.policy.outcome).toBe("pass");
    // The HIGH findings stay below the critical gate, so only the exceptions let the job pass.
    expect(DEMO.high.length).toBeGreaterThan(0);
  });

  it("mode warn reports the violated gate and exits 0", async () => {
    const dir = project();
    const run = await gitlabCiLocal(dir, ["stowaway_scan"], { ...demo, STOWAWAY_MODE: "warn" });
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout + run.stderr).toContain("stowaway: WARN ");
    expect(JSON.parse(read(dir, "stowaway-reports/stowaway.json")).policy.outcome).toBe("warn");
  });

  it("without STOWAWAY_MODE a policy file's own mode applies", async () => {
    const dir = gitRepo({
      "ci/stowaway.gitlab-ci.yml": classic,
      ".gitlab-ci.yml": "include:\n  - local: ci/stowaway.gitlab-ci.yml\n",
      "policy.yaml": "version: 1\nmode: warn\ngate:\n  failOn: high\n",
    });
    const warned = await gitlabCiLocal(dir, ["stowaway_scan"], { ...demo, STOWAWAY_POLICY: "policy.yaml" });
    expect(warned.code, warned.stdout).toBe(0);
    expect(JSON.parse(read(dir, "stowaway-reports/stowaway.json")).policy.outcome).toBe("warn");
    const enforced = await gitlabCiLocal(dir, ["stowaway_scan"], {
      ...demo,
      STOWAWAY_POLICY: "policy.yaml",
      STOWAWAY_MODE: "enforce",
    });
    expect(enforced.code).toBe(1);
  });

  it("allow_failure exit_codes [1] turns a failed gate into a warning, not a failed pipeline", async () => {
    const dir = project("stowaway_scan:\n  allow_failure:\n    exit_codes: [1]\n");
    const run = await gitlabCiLocal(dir, [], demo);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/WARN\s+stowaway_scan/);
  });

  it("a scan that cannot run exits 2, which allow_failure exit_codes [1] does not excuse", async () => {
    const dir = project("stowaway_scan:\n  allow_failure:\n    exit_codes: [1]\n");
    const run = await gitlabCiLocal(dir, [], { ...demo, STOWAWAY_IMAGE: "oci-archive:/nonexistent/image.tar" });
    const log = run.stdout + run.stderr;
    expect(log).toMatch(/stowaway_scan.*FAIL 2/);
    // GitLab fails the pipeline here; gitlab-ci-local 4.73 marks the job FAIL (not WARN) but exits 0
    // for any allow_failure object, so the job's verdict is what is checked.
    expect(log).toMatch(/ FAIL\s+stowaway_scan/);
    expect(log).not.toMatch(/WARN\s+stowaway_scan/);
  });

  it("STOWAWAY_DISABLED and CONTAINER_SCANNING_DISABLED keep the job out of the pipeline", async () => {
    const switches: Record<string, string>[] = [{ STOWAWAY_DISABLED: "true" }, { CONTAINER_SCANNING_DISABLED: "true" }];
    for (const variables of switches) {
      const dir = project("noop:\n  script: [echo other job]\n");
      const run = await gitlabCiLocal(dir, [], { ...demo, ...variables });
      expect(run.code, run.stdout).toBe(0);
      expect(run.stdout).toContain("noop");
      expect(run.stdout).not.toContain("stowaway_scan");
      expect(existsSync(path.join(dir, "gl-container-scanning-report.json"))).toBe(false);
    }
  });

  it("one pipeline per change: a branch with an open merge request leaves the scan to the MR pipeline", async () => {
    const dir = project("noop:\n  script: [echo other job]\n");
    const listed = async (variables: Record<string, string>) => {
      const run = await gitlabCiLocal(dir, ["--list"], { ...demo, ...variables });
      expect(run.code, run.stderr).toBe(0);
      return run.stdout.includes("stowaway_scan");
    };
    expect(await listed({})).toBe(true); // a branch pipeline without a merge request
    expect(await listed({ CI_OPEN_MERGE_REQUESTS: "group/app!7" })).toBe(false); // its duplicate
    expect(await listed({ CI_OPEN_MERGE_REQUESTS: "group/app!7", CI_PIPELINE_SOURCE: "merge_request_event" })).toBe(
      true,
    );
  });

  it("honours GitLab's CS_ variables: CS_IMAGE, and CS_SEVERITY_THRESHOLD as a report filter only", async () => {
    const dir = project();
    const run = await gitlabCiLocal(dir, ["stowaway_scan"], {
      CS_IMAGE: demoImage,
      STOWAWAY_DB: demoDb,
      STOWAWAY_FAIL_ON: "high",
      CS_SEVERITY_THRESHOLD: "HIGH",
    });
    // The filter thins the reports; the gate (fail-on high) still sees everything.
    expect(run.code, run.stdout).toBe(1);
    const report = JSON.parse(read(dir, "gl-container-scanning-report.json"));
    expect(gitlabIds(report)).toEqual(gitlabIds(cliGitlabReport(["--severity", "high"])));
    expect(gitlabIds(report)).toEqual(HIGH_IDS);
    for (const id of DEMO.medium) expect(gitlabIds(report)).not.toContain(id);
  });

  it("runs as a CI/CD component with inputs (include:local with inputs)", async () => {
    const dir = gitRepo({
      "templates/stowaway/template.yml": component,
      ".gitlab-ci.yml": [
        "include:",
        "  - local: templates/stowaway/template.yml",
        "    inputs:",
        `      image: ${demoImage}`,
        `      db: ${demoDb}`,
        "      fail-on: none",
        "      job-name: scan_demo",
        "",
      ].join("\n"),
    });
    // The default gate (critical) fails on the demo image, so exit 0 shows the fail-on input took effect.
    const run = await gitlabCiLocal(dir, ["scan_demo"]);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/PASS\s+scan_demo/);
    expect(gitlabIds(JSON.parse(read(dir, "gl-container-scanning-report.json")))).toEqual(gitlabIds(cliGitlabReport()));
    expect(JSON.parse(read(dir, "stowaway-reports/stowaway-outcome.json"))).toMatchObject({
      outcome: "pass",
      gate: { failOn: "none" },
    });
  });
});

describe("a fresh runner: only the image (and a loopback database mirror)", () => {
  let mirror: DbMirror;
  beforeAll(async () => {
    mirror = await startDbMirror();
  });
  afterAll(() => mirror.close());

  it("provisions the database, applies the default gate (critical), fails, and caches the database", async () => {
    const dir = project();
    const run = await gitlabCiLocal(dir, ["stowaway_scan"], {
      STOWAWAY_IMAGE: demoImage,
      STOWAWAY_DB_MIRROR: mirror.url,
      ...NO_PROXY_ENV,
    });
    expect(run.code, run.stdout).toBe(1);
    const outcome = JSON.parse(read(dir, "stowaway-reports/stowaway-outcome.json"));
    expect(outcome).toMatchObject({ outcome: MIRROR_EXPECTED.outcome, gate: { failOn: "critical" } });
    // gitlab-ci-local keeps the job's `cache:` between pipelines as GitLab does, so a database an
    // earlier pipeline saved today may be restored instead of downloaded: either way it is provisioned.
    expect(["updated", "cached"]).toContain(outcome.database.state);
    expect(gitlabIds(JSON.parse(read(dir, "gl-container-scanning-report.json")))).toEqual(
      [...MIRROR_EXPECTED.critical, ...MIRROR_EXPECTED.medium].sort(),
    );
    expect(run.stdout).toContain(`stowaway: FAIL ${demoImage}: 1 critical`);
  });

  it("CS_DEFAULT_BRANCH_IMAGE becomes each finding's default_branch_image and identity", async () => {
    const main = "registry.example/app:main";
    type Report = { vulnerabilities: { id: string; location: { image: string; default_branch_image?: string } }[] };
    // The same image under two names (a branch build and a copy): with the default branch image
    // given, GitLab sees the same findings, not new ones.
    const copy = path.join(tempDir("stowaway-branch-"), "branch.tar");
    cpSync(demoImage.slice("oci-archive:".length), copy);
    const reports: Report[] = [];
    for (const image of [demoImage, `oci-archive:${copy}`]) {
      const dir = project();
      const run = await gitlabCiLocal(dir, ["stowaway_scan"], {
        ...demo,
        STOWAWAY_IMAGE: image,
        CS_DEFAULT_BRANCH_IMAGE: main,
      });
      expect(run.code, run.stdout).toBe(1);
      const report = JSON.parse(read(dir, "gl-container-scanning-report.json")) as Report;
      for (const vulnerability of report.vulnerabilities) {
        expect(vulnerability.location).toMatchObject({ image, default_branch_image: main });
      }
      reports.push(report);
    }
    expect(reports[0]!.vulnerabilities.length).toBeGreaterThan(0);
    expect(reports[1]!.vulnerabilities.map((v) => v.id)).toEqual(reports[0]!.vulnerabilities.map((v) => v.id));
  });
});

describe("registry credentials", () => {
  const USER = "ci-bot";
  const PASSWORD = "Pa55-w0rd-never-logged";
  let registry: TestHttpServer;
  beforeAll(async () => {
    registry = await startCredentialProbeRegistry();
  });
  afterAll(() => registry.close());

  it("CS_REGISTRY_USER/PASSWORD reach the registry and never the log or the reports", async () => {
    const dir = project();
    const run = await gitlabCiLocal(dir, ["stowaway_scan"], {
      CS_IMAGE: `${registry.host}/team/app:1.0`,
      CS_REGISTRY_USER: USER,
      CS_REGISTRY_PASSWORD: PASSWORD,
      CS_REGISTRY_INSECURE: "true",
      STOWAWAY_DB: demoDb,
    });
    expect(run.stdout + run.stderr).toMatch(/stowaway_scan.*FAIL 2/);
    const sent = registry.requests.map((request) => request.headers.authorization).filter(Boolean);
    expect(sent).toContain(`Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
    for (const file of ["gl-container-scanning-report.json", "stowaway-reports/stowaway.json"]) {
      if (existsSync(path.join(dir, file))) expect(read(dir, file), file).not.toContain(PASSWORD);
    }
  });
});

describe("the merge request note from the job", () => {
  const TOKEN = "glpat-job-token-XyZ123";
  let gitlab: Awaited<ReturnType<typeof startFakeGitlab>>;
  beforeAll(async () => {
    gitlab = await startFakeGitlab();
  });
  afterAll(() => gitlab.close());

  it("posts the note in merge request pipelines, updates it on the next, and keeps the gate's exit code", async () => {
    const variables = {
      ...demo,
      CI_MERGE_REQUEST_IID: "12",
      CI_PROJECT_ID: "99",
      CI_API_V4_URL: gitlab.apiUrl,
      STOWAWAY_GITLAB_TOKEN: TOKEN,
    };
    const first = await gitlabCiLocal(project(), ["stowaway_scan"], variables);
    expect(first.code, first.stdout).toBe(1);
    expect(first.stdout).toMatch(/created note (\d+) on merge request !12/);
    const second = await gitlabCiLocal(project(), ["stowaway_scan"], variables);
    expect(second.stdout).toMatch(/updated note (\d+) on merge request !12/);
    const notesPath = "/api/v4/projects/99/merge_requests/12/notes";
    expect(gitlab.calls.map((call) => `${call.method} ${call.path}`)).toEqual([
      `GET ${notesPath}`,
      `POST ${notesPath}`,
      `GET ${notesPath}`,
      `PUT ${notesPath}/100`,
    ]);
    expect(first.stdout + first.stderr + second.stdout + second.stderr).not.toContain(TOKEN);
  });

  it("stays silent without a token", async () => {
    const calls = gitlab.calls.length;
    const run = await gitlabCiLocal(project(), ["stowaway_scan"], {
      ...demo,
      CI_MERGE_REQUEST_IID: "12",
      CI_API_V4_URL: gitlab.apiUrl,
    });
    expect(run.code).toBe(1);
    expect(run.stdout).not.toContain("note");
    expect(gitlab.calls.length).toBe(calls);
  });
});
