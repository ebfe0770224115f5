import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCredentialProbeRegistry, type TestHttpServer } from "../../../core/test/helpers/registry-server.js";
import { MIRROR_EXPECTED, NO_PROXY_ENV, startDbMirror } from "../../../core/test/helpers/db-mirror.js";
import { startDemoService } from "../../../core/test/helpers/demo-service.js";
import {
  bash,
  demoDb,
  demoFindings,
  demoImage,
  jobEnvironment,
  root,
  srcDir,
  stepEnvironment,
  tempDir,
} from "./harness.js";

const script = (name: string) => path.join(srcDir, "scripts", name);
/** The demo image's findings by severity, from the CLI's own JSON. */
const DEMO = demoFindings();
/** The findings the high gate fails on. */
const HIGH_IDS = [...DEMO.critical, ...DEMO.high];

/** scan.sh run the way the orb's "Stowaway scan" step runs it, minus the deferred exit. */
async function scanStep(values: Record<string, string | boolean>, extraEnv: Record<string, string> = {}) {
  const work = tempDir("stowaway-orb-job-");
  const { STOWAWAY_PARAM_EXIT_CODE_FILE: _deferred, ...env } = stepEnvironment("Stowaway scan", {
    db: demoDb,
    ...values,
  });
  const run = await bash(script("scan.sh"), { ...jobEnvironment(work), ...env, ...extraEnv }, work);
  return { ...run, work };
}

/** The independent expectation: the CLI's own JSON for the demo image. */
function cliFindings(): string[] {
  const work = tempDir("stowaway-orb-cli-");
  const run = spawnSync(
    process.execPath,
    [path.join(root, "cli/dist/main.js"), "scan", demoImage, "--db", demoDb, "--no-cache", "-f", "json"],
    { encoding: "utf8", env: { ...process.env, XDG_CACHE_HOME: work } },
  );
  return (JSON.parse(run.stdout).findings as { id: string }[]).map((finding) => finding.id).sort();
}

describe("scan.sh on the demo image", () => {
  it("exits 1 with fail-on high and leaves every report behind", async () => {
    const run = await scanStep({ image: demoImage, "fail-on": "high" });
    expect(run.code, run.output).toBe(1);
    const out = path.join(run.work, "stowaway-reports");
    for (const file of [
      "stowaway.json",
      "junit/stowaway.xml",
      "stowaway.sarif",
      "stowaway.html",
      "stowaway.cdx.json",
      "stowaway-outcome.json",
    ]) {
      expect(existsSync(path.join(out, file)), file).toBe(true);
    }
    const result = JSON.parse(readFileSync(path.join(out, "stowaway.json"), "utf8"));
    expect(result.policy.outcome).toBe("fail");
    expect((result.findings as { id: string }[]).map((finding) => finding.id).sort()).toEqual(cliFindings());
    const junit = readFileSync(path.join(out, "junit/stowaway.xml"), "utf8");
    for (const id of HIGH_IDS) expect(junit).toContain(id);
    expect(JSON.parse(readFileSync(path.join(out, "stowaway.sarif"), "utf8")).version).toBe("2.1.0");
  });

  it("exits 0 with fail-on critical once a policy excepts every CRITICAL finding", async () => {
    expect(DEMO.critical.length).toBeGreaterThan(0);
    const policy = path.join(tempDir("stowaway-orb-policy-"), "policy.yaml");
    const exceptions = DEMO.critical.map(
      (id) => `  - id: ${id}\n    reason: "accepted for this test"\n    expires: 2099-12-31\n`,
    );
    writeFileSync(policy, `version: 1\nexceptions:\n${exceptions.join("")}`);
    const run = await scanStep({ image: demoImage, "fail-on": "critical", policy });
    expect(run.code, run.output).toBe(0);
    const outcome = JSON.parse(readFileSync(path.join(run.work, "stowaway-reports/stowaway-outcome.json"), "utf8"));
    expect(outcome).toMatchObject({ outcome: "pass", gate: { failOn: "critical" } });
  });

  it("defaults to the contract's gate, fail-on critical, which the demo image's CRITICAL findings fail", async () => {
    const run = await scanStep({ image: demoImage });
    expect(run.code, run.output).toBe(1);
    const outcome = JSON.parse(readFileSync(path.join(run.work, "stowaway-reports/stowaway-outcome.json"), "utf8"));
    expect(outcome).toMatchObject({ outcome: "fail", gate: { failOn: "critical" } });
    const result = JSON.parse(readFileSync(path.join(run.work, "stowaway-reports/stowaway.json"), "utf8"));
    const critical = (result.findings as { id: string; severity: string }[])
      .filter((finding) => finding.severity === "critical")
      .map((finding) => finding.id)
      .sort();
    expect(critical).toEqual(DEMO.critical);
  });

  it("exits 0 with fail-on none and still reports every finding", async () => {
    const run = await scanStep({ image: demoImage, "fail-on": "none" });
    expect(run.code, run.output).toBe(0);
    const result = JSON.parse(readFileSync(path.join(run.work, "stowaway-reports/stowaway.json"), "utf8"));
    expect((result.findings as { id: string }[]).map((finding) => finding.id).sort()).toEqual(cliFindings());
  });

  it("on a fresh runner with only the image (and a loopback mirror): provisions the database and fails", async () => {
    const mirror = await startDbMirror();
    try {
      const work = tempDir("stowaway-orb-fresh-");
      const { STOWAWAY_PARAM_EXIT_CODE_FILE: _deferred, ...env } = stepEnvironment("Stowaway scan", {
        image: demoImage,
      });
      const run = await bash(
        script("scan.sh"),
        { ...jobEnvironment(work), ...env, ...NO_PROXY_ENV, STOWAWAY_DB_MIRROR: mirror.url },
        work,
      );
      expect(run.code, run.output).toBe(1);
      const outcome = JSON.parse(readFileSync(path.join(work, "stowaway-reports/stowaway-outcome.json"), "utf8"));
      expect(outcome).toMatchObject({ outcome: MIRROR_EXPECTED.outcome, database: { state: "updated" } });
    } finally {
      await mirror.close();
    }
  });

  it("mode warn reports the violated gate and exits 0", async () => {
    const run = await scanStep({ image: demoImage, mode: "warn", "fail-on": "high" });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain("stowaway: WARN ");
    const result = JSON.parse(readFileSync(path.join(run.work, "stowaway-reports/stowaway.json"), "utf8"));
    expect(result.policy.outcome).toBe("warn");
  });

  it("the report filter never loosens the gate", async () => {
    const run = await scanStep({ image: demoImage, severity: "critical", "fail-on": "high" });
    expect(run.code).toBe(1);
  });

  it("exits 2 without an image, and for a scan that cannot run", async () => {
    expect((await scanStep({ image: "" })).code).toBe(2);
    expect((await scanStep({ image: "oci-archive:/nonexistent/image.tar" })).code).toBe(2);
  });

  it("expands CircleCI variables in parameters (circleci env subst), as jobs pass $CIRCLE_SHA1", async () => {
    const work = tempDir("stowaway-orb-subst-");
    // A stand-in for the CircleCI agent's `circleci env subst`, which is not installed here.
    const fake = [
      `#!${process.execPath}`,
      'if (process.argv.slice(2).join(" ") !== "env subst") process.exit(64);',
      'const text = require("fs").readFileSync(0, "utf8");',
      'process.stdout.write(text.replace(/\\$\\{?(\\w+)\\}?/g, (_, name) => process.env[name] ?? ""));',
    ].join("\n");
    const bin = path.join(work, "bin");
    const env = jobEnvironment(work);
    writeFileSync(path.join(bin, "circleci"), fake);
    chmodSync(path.join(bin, "circleci"), 0o755);
    const { STOWAWAY_PARAM_EXIT_CODE_FILE: _deferred, ...params } = stepEnvironment("Stowaway scan", {
      image: "oci-archive:${DEMO_DIR}/demo-image.oci.tar",
      db: demoDb,
      "fail-on": "none",
    });
    const run = await bash(script("scan.sh"), { ...env, ...params, DEMO_DIR: path.dirname(demoImage.slice(12)) }, work);
    // An unexpanded path could not be scanned (exit 2); the expanded one is, and fail-on none passes.
    expect(run.code, run.output).toBe(0);
    const result = JSON.parse(readFileSync(path.join(work, "stowaway-reports/stowaway.json"), "utf8"));
    expect((result.findings as { id: string }[]).map((finding) => finding.id).sort()).toEqual(cliFindings());
  });
});

describe("the command's steps in order: install, scan (deferred), store, verdict", () => {
  it("stores reports first, then fails the build with the gate's exit code", async () => {
    const work = tempDir("stowaway-orb-steps-");
    const env = jobEnvironment(work);
    const values = { image: demoImage, db: demoDb, "fail-on": "high" };
    const install = await bash(script("install.sh"), { ...env, ...stepEnvironment("Install Stowaway", values) }, work);
    expect(install.code, install.output).toBe(0);
    expect(install.output).toContain("stowaway: using");
    const scan = await bash(script("scan.sh"), { ...env, ...stepEnvironment("Stowaway scan", values) }, work);
    // The step itself succeeds so store_test_results / store_artifacts run after it...
    expect(scan.code, scan.output).toBe(0);
    expect(existsSync(path.join(work, "stowaway-reports/junit/stowaway.xml"))).toBe(true);
    // ...and the verdict step replays the gate.
    const verdict = await bash(script("verdict.sh"), { ...env, ...stepEnvironment("Stowaway verdict", values) }, work);
    expect(verdict.code).toBe(1);
    expect(verdict.output).toContain("the policy gate failed");
  });

  it("the verdict fails (exit 2) when the scan never recorded a result", async () => {
    const work = tempDir("stowaway-orb-steps-");
    const env = { ...jobEnvironment(work), STOWAWAY_PARAM_EXIT_CODE_FILE: path.join(work, "missing") };
    expect((await bash(script("verdict.sh"), env, work)).code).toBe(2);
  });
});

describe("registry secrets", () => {
  const PASSWORD = "circle-Pa55word-do-not-print";
  const TOKEN = "circle-static-token-do-not-print";
  let registry: TestHttpServer;
  beforeAll(async () => {
    registry = await startCredentialProbeRegistry();
  });
  afterAll(() => registry.close());

  it("reads the password from the named variable, sends it to the registry, and never prints it", async () => {
    const run = await scanStep(
      {
        image: `${registry.host}/team/app:1.0`,
        insecure: true,
        "registry-username": "ci-bot",
        "registry-password-var": "MY_REGISTRY_PASSWORD",
      },
      { MY_REGISTRY_PASSWORD: PASSWORD },
    );
    expect(run.code).toBe(2);
    const sent = registry.requests.map((request) => request.headers.authorization);
    expect(sent).toContain(`Basic ${Buffer.from(`ci-bot:${PASSWORD}`).toString("base64")}`);
    expect(run.output).not.toContain(PASSWORD);
  });

  it("refuses a username whose password variable is empty, naming the variable and not a value", async () => {
    const run = await scanStep({
      image: demoImage,
      "registry-username": "ci-bot",
      "registry-password-var": "UNSET_PASSWORD_VAR",
    });
    expect(run.code).toBe(2);
    expect(run.output).toContain("$UNSET_PASSWORD_VAR is empty");
  });

  it("hands the token from the named variable to the registry without printing it", async () => {
    const run = await scanStep(
      { image: `${registry.host}/team/app:2.0`, insecure: true, "registry-token-var": "MY_TOKEN" },
      { MY_TOKEN: TOKEN },
    );
    expect(run.code).toBe(2);
    expect(registry.requests.map((request) => request.headers.authorization)).toContain(`Bearer ${TOKEN}`);
    expect(run.output).not.toContain(TOKEN);
  });

  it("reads the token from the named variable and keeps it out of the output and the reports", async () => {
    const run = await scanStep(
      { image: demoImage, "registry-token-var": "MY_TOKEN", "fail-on": "none" },
      { MY_TOKEN: TOKEN },
    );
    expect(run.code, run.output).toBe(0);
    expect(run.output).not.toContain(TOKEN);
    for (const file of ["stowaway.json", "stowaway.html", "junit/stowaway.xml", "stowaway.sarif"]) {
      expect(readFileSync(path.join(run.work, "stowaway-reports", file), "utf8"), file).not.toContain(TOKEN);
    }
  });
});

describe("scan.sh with the server parameters", () => {
  it("delegates to a real Stowaway service, the token read from the named variable and never printed", async () => {
    const demo = await startDemoService(tempDir("stowaway-orb-service-"));
    try {
      const run = await scanStep(
        { image: demoImage, db: "", server: demo.service.url, "server-token-var": "MY_SERVER_TOKEN" },
        { MY_SERVER_TOKEN: demo.token },
      );
      // The default gate (critical) on the service's findings: the demo has critical ones.
      expect(run.code, run.output).toBe(1);
      expect(run.output).toMatch(/scanned by the Stowaway service \(job [0-9a-f-]{36}/);
      expect(run.output).not.toContain(demo.token);
      const outcome = JSON.parse(
        readFileSync(path.join(run.work, "stowaway-reports", "stowaway-outcome.json"), "utf8"),
      ) as { outcome: string; counts: { critical: number }; database: { state: string } };
      expect(outcome).toMatchObject({ outcome: "fail", counts: { critical: DEMO.critical.length } });
      expect(outcome.database.state).toBe("given");
    } finally {
      await demo.close();
    }
  });

  it("passes require-signature to the CLI, which names the parameter on a bad value", async () => {
    const run = await scanStep({ image: demoImage, "require-signature": "maybe" });
    expect(run.code).toBe(2);
    expect(run.output).toContain('input require-signature: "maybe" is not a boolean; use true or false');
  });
});
