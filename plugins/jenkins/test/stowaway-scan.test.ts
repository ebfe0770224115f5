import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { REPORT_FILE_EXTENSIONS, REPORT_FORMATS } from "@stowaway/core";
import { afterAll, describe, expect, it } from "vitest";
import { MIRROR_EXPECTED, NO_PROXY_ENV, startDbMirror } from "../../../core/test/helpers/db-mirror.js";
import { startDemoService } from "../../../core/test/helpers/demo-service.js";
import { HAS_GROOVY, groovyEnv, run } from "./groovy.js";

const ROOT = path.resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const STEP = path.join(ROOT, "plugins/jenkins/vars/stowawayScan.groovy");
const STUBS = path.join(ROOT, "plugins/jenkins/test/stubs");
const DEMO_IMAGE = `oci-archive:${path.join(ROOT, "examples/demo/demo-image.oci.tar")}`;
const DEMO_DB = path.join(ROOT, "examples/demo/db");
const CLI = path.join(ROOT, "cli/dist/main.js");
const PASSWORD = "pa$$'w\"ord`id`";

const work = mkdtempSync(path.join(tmpdir(), "stowaway-jenkins-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `stowaway` as an agent would have it on PATH after npm install -g. */
function stowawayShim(): string {
  const file = path.join(work, "bin", "stowaway");
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `#!/bin/sh\nexec node '${CLI}' "$@"\n`);
    chmodSync(file, 0o755);
  }
  return file;
}

interface StubState {
  returned?: { outcome: string; exitCode: number; counts: Record<string, number>; reports: Record<string, string> };
  error?: string;
  result: string | null;
  sh: { script: string; status: number; output: string }[];
  junit: { testResults: string; allowEmptyResults: boolean }[];
  recordIssues: { tools: { tool: string; pattern: string }[]; enabledForFailure: boolean }[];
  archiveArtifacts: { artifacts: string }[];
  echo: string[];
}

async function runStep(
  args: Record<string, unknown>,
  agentEnv: NodeJS.ProcessEnv = {},
  credentials: Record<string, Record<string, string>> = {},
): Promise<{ state: StubState; console: string; workspace: string }> {
  const workspace = mkdtempSync(path.join(work, "ws-"));
  const argsFile = path.join(workspace, "..", `${path.basename(workspace)}.args.json`);
  const credentialsFile = path.join(workspace, "..", `${path.basename(workspace)}.credentials.json`);
  writeFileSync(argsFile, JSON.stringify({ command: stowawayShim(), cacheDir: path.join(work, "cache"), ...args }));
  writeFileSync(
    credentialsFile,
    JSON.stringify({ registry: { username: "robot", password: PASSWORD }, ...credentials }),
  );
  const child = await run(
    "groovy",
    ["-cp", STUBS, path.join(STUBS, "run-step.groovy"), STEP, argsFile, credentialsFile],
    {
      cwd: workspace,
      env: {
        ...groovyEnv(),
        XDG_CACHE_HOME: path.join(workspace, "..", `${path.basename(workspace)}.cache`),
        ...agentEnv,
      },
    },
  );
  const marker = child.stdout.split("\n").find((line) => line.startsWith("STUB_STATE "));
  if (!marker) throw new Error(`the step runner printed no state:\n${child.stdout}\n${child.stderr}`);
  return { state: JSON.parse(marker.slice("STUB_STATE ".length)) as StubState, console: child.stdout, workspace };
}

/** Expected values from the CLI itself, counted here. */
function cliCounts(args: string[]): {
  exit: number;
  counts: Record<string, number>;
  findings: { id: string; severity: string }[];
} {
  const file = path.join(work, `cli-${args.join("_")}.json`);
  const child = spawnSync("node", [CLI, "scan", DEMO_IMAGE, "--db", DEMO_DB, "--report", `json=${file}`, ...args]);
  const report = JSON.parse(readFileSync(file, "utf8")) as {
    findings: { findingId: string; id: string; severity: string }[];
    policy?: { suppressed: { findingId: string }[] };
  };
  const suppressed = new Set(report.policy?.suppressed.map((entry) => entry.findingId));
  const counts: Record<string, number> = { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
  for (const finding of report.findings) if (!suppressed.has(finding.findingId)) counts[finding.severity]! += 1;
  const findings = report.findings
    .filter((finding) => !suppressed.has(finding.findingId))
    .map(({ id, severity }) => ({ id, severity }));
  return { exit: child.status ?? -1, counts, findings };
}

function expectNoSecret(state: StubState, console: string): void {
  for (const call of state.sh) {
    expect(call.script).not.toContain(PASSWORD);
    expect(call.output).not.toContain(PASSWORD);
  }
  expect(console).not.toContain(PASSWORD);
  expect(JSON.stringify(state)).not.toContain("pa$$");
}

describe("stowawayScan parameters", () => {
  it("documents every parameter the step accepts, and the examples use only those", () => {
    const step = readFileSync(STEP, "utf8");
    const list = /PARAMETERS = \[([^\]]+)\]/.exec(step)![1]!;
    const accepted = [...list.matchAll(/'([A-Za-z]+)'/g)].map((match) => match[1]!);
    const doc = readFileSync(path.join(ROOT, "plugins/jenkins/vars/stowawayScan.txt"), "utf8");
    const documented = [...doc.matchAll(/<dt>([^<]+)<\/dt>/g)].flatMap((match) => match[1]!.split(/,\s*/));
    expect(documented.sort()).toEqual([...accepted].sort());
    for (const example of ["Jenkinsfile", "Jenkinsfile.build-and-scan", "Jenkinsfile.demo"]) {
      const text = readFileSync(path.join(ROOT, "examples/jenkins", example), "utf8");
      const call = text.slice(text.indexOf("stowawayScan("));
      const block = call.slice(0, call.search(/\n\s*\)/));
      const keys = [...block.matchAll(/^\s+([A-Za-z]+):/gm)].map((m) => m[1]!);
      expect(keys).toContain("image");
      for (const key of keys) expect(accepted, `${example}: ${key}`).toContain(key);
    }
  });
});

const suite = HAS_GROOVY ? describe : describe.skip;
const why = HAS_GROOVY ? "" : " (skipped: groovy is not installed; CI installs it with apt-get install -y groovy)";

suite(`vars/stowawayScan.groovy run on step stubs${why}`, () => {
  it("compiles with groovyc against the compiled stubs as its script base class", async () => {
    const stubClasses = path.join(work, "stub-classes");
    const out = path.join(work, "classes");
    const stubs = ["StepStubs", "StepError", "BuildStub"].map((name) => path.join(STUBS, `${name}.groovy`));
    expect((await run("groovyc", ["-d", stubClasses, ...stubs], { cwd: work })).status).toBe(0);
    // Groovy 2.4 rejects a script base class resolved from source next to @Field, so compile them apart.
    const config = path.join(work, "base-class.groovy");
    writeFileSync(config, "configuration.scriptBaseClass = 'StepStubs'\n");
    const child = await run("groovyc", ["-cp", stubClasses, "--configscript", config, "-d", out, STEP], { cwd: work });
    expect(child.stderr).toBe("");
    expect(child.status).toBe(0);
    expect(existsSync(path.join(out, "stowawayScan.class"))).toBe(true);
  });

  it("delegates to a real Stowaway service with server, the token bound from a secret-text credential", async () => {
    const expected = cliCounts([]);
    const demo = await startDemoService(mkdtempSync(path.join(work, "service-")));
    try {
      const { state, console } = await runStep(
        { image: DEMO_IMAGE, server: demo.service.url, serverTokenCredentialsId: "stowaway-service" },
        {},
        { "stowaway-service": { secret: demo.token } },
      );
      // The default gate (critical) on the service's findings, which are the CLI's.
      expect(state.result).toBe("FAILURE");
      expect(state.error).toMatch(/^Stowaway gate failed/);
      expect(state.returned).toBeUndefined();
      expect(state.sh).toHaveLength(1);
      expect(state.sh[0]!.script).toContain(`'STOWAWAY_SERVER=${demo.service.url}'`);
      // The CLI's stderr, echoed by the step: the notice that the service scanned, and no database step.
      expect(state.echo.join("\n")).toMatch(/scanned by the Stowaway service \(job [0-9a-f-]{36}/);
      expect(state.echo.join("\n")).not.toMatch(/vulnerability database/);
      const { critical, high, medium, low } = expected.counts;
      expect(state.sh[0]!.output).toContain(`: ${critical} critical, ${high} high, ${medium} medium, ${low} low,`);
      for (const text of [state.sh[0]!.script, state.sh[0]!.output, console, JSON.stringify(state)]) {
        expect(text).not.toContain(demo.token);
      }
    } finally {
      await demo.close();
    }
  });

  it("fails the build at high: FAILURE via error(), evidence recorded first, credentials never shown", async () => {
    const expected = cliCounts(["--fail-on", "high"]);
    expect(expected.exit).toBe(1);
    const { state, console } = await runStep({
      image: DEMO_IMAGE,
      db: DEMO_DB,
      failOn: "high",
      credentialsId: "registry",
    });
    expect(state.result).toBe("FAILURE");
    expect(state.error).toMatch(/^Stowaway gate failed/);
    // The demo's 9 critical and 12 high findings violate the gate; the message names the count and leads with a critical.
    const violating = expected.findings.filter((f) => f.severity === "critical" || f.severity === "high");
    expect(violating).toHaveLength(expected.counts.critical! + expected.counts.high!);
    expect(violating).toHaveLength(21);
    expect(state.error).toContain(`${violating.length} findings at or above high`);
    expect(state.error).toContain("CVE-2020-14343 in pyyaml 5.3 (critical)");
    expect(state.error).not.toContain("CVE-2023-43804");
    expect(state.sh).toHaveLength(1);
    expect(state.sh[0]!.status).toBe(1);
    expect(state.junit).toEqual([{ testResults: "stowaway-reports/stowaway.junit.xml", allowEmptyResults: true }]);
    expect(state.recordIssues[0]!.tools[0]).toMatchObject({
      tool: "sarif",
      pattern: "stowaway-reports/stowaway.sarif",
    });
    expect(state.recordIssues[0]!.enabledForFailure).toBe(true);
    expect(state.archiveArtifacts).toEqual([{ artifacts: "stowaway-reports/**", allowEmptyArchive: true }]);
    expectNoSecret(state, console);
  });

  it("passes at critical once a policy accepts the criticals: result untouched, counts equal to the CLI's", async () => {
    // The demo has critical findings, so the gate at critical fails without the policy.
    const plain = cliCounts(["--fail-on", "critical"]);
    expect(plain.exit).toBe(1);
    const criticals = [...new Set(plain.findings.filter((f) => f.severity === "critical").map((f) => f.id))];
    expect(criticals).toHaveLength(9);
    const policy = path.join(work, "accept-critical.yaml");
    writeFileSync(
      policy,
      `version: 1\nrequireExpiry: false\nexceptions:\n${criticals.map((id) => `  - id: ${id}\n    reason: accepted\n`).join("")}`,
    );
    const expected = cliCounts(["--fail-on", "critical", "--policy", policy]);
    expect(expected.exit).toBe(0);
    expect(expected.counts.critical).toBe(0);
    const { state, console } = await runStep({
      image: DEMO_IMAGE,
      db: DEMO_DB,
      failOn: "critical",
      policy,
      credentialsId: "registry",
    });
    expect(state.error).toBeUndefined();
    expect(state.result).toBeNull();
    expect(state.returned!.outcome).toBe("pass");
    expect(state.returned!.counts).toEqual(expected.counts);
    expectNoSecret(state, console);
  });

  it("marks UNSTABLE when a warn-mode policy reports violations with exit 0", async () => {
    const policy = path.join(work, "warn.yaml");
    writeFileSync(policy, "version: 1\nmode: warn\ngate:\n  failOn: high\n");
    const { state } = await runStep({ image: DEMO_IMAGE, db: DEMO_DB, policy });
    expect(state.sh[0]!.status).toBe(0);
    expect(state.error).toBeUndefined();
    expect(state.result).toBe("UNSTABLE");
    expect(state.returned!.outcome).toBe("warn");
    expect(state.echo.join("\n")).toContain("gate.failOn");
  });

  it("passes mode to the CLI: a failed gate in mode 'warn' exits 0 and marks UNSTABLE", async () => {
    const { state } = await runStep({ image: DEMO_IMAGE, db: DEMO_DB, failOn: "high", mode: "warn" });
    expect(state.sh[0]!.script).toContain("'STOWAWAY_MODE=warn'");
    expect(state.sh[0]!.status).toBe(0);
    expect(state.result).toBe("UNSTABLE");
    expect(state.returned!.outcome).toBe("warn");
  });

  it("turns exit 2 into error() with the CLI's message, before touching reports", async () => {
    const { state } = await runStep({ image: `oci-archive:${work}/missing.tar`, db: DEMO_DB, failOn: "high" });
    expect(state.sh[0]!.status).toBe(2);
    expect(state.result).toBe("FAILURE");
    expect(state.error).toMatch(/^Stowaway could not scan .* \(exit 2\): /);
    expect(state.error).toContain("missing.tar");
    expect(state.junit).toEqual([]);
  });

  it("quotes hostile values so the shell never interprets them", async () => {
    const image = `oci-archive:x'; touch pwned; echo '$(touch pwned2)\`touch pwned3\``;
    const { state, workspace } = await runStep({ image, db: DEMO_DB, ignoreFiles: "a b.txt, it's.txt" });
    expect(state.sh[0]!.script).toContain(
      `'STOWAWAY_IMAGE=oci-archive:x'"'"'; touch pwned; echo '"'"'$(touch pwned2)\`touch pwned3\`'`,
    );
    expect(state.sh[0]!.script).toContain(`'STOWAWAY_IGNORE_FILES=a b.txt, it'"'"'s.txt'`);
    for (const marker of ["pwned", "pwned2", "pwned3"]) expect(existsSync(path.join(workspace, marker))).toBe(false);
    expect(state.sh[0]!.status).toBe(2);
  });

  it("on a fresh agent with only the image (and a loopback mirror): provisions the database, default gate fails", async () => {
    const mirror = await startDbMirror();
    try {
      const { state } = await runStep({ image: DEMO_IMAGE }, { ...NO_PROXY_ENV, STOWAWAY_DB_MIRROR: mirror.url });
      expect(state.result).toBe("FAILURE");
      expect(state.error).toMatch(/^Stowaway gate failed/);
      expect(state.error).toContain(MIRROR_EXPECTED.critical[0]);
      expect(state.junit).toHaveLength(1);
    } finally {
      await mirror.close();
    }
  });

  it("an unchecked run (offline, no database) fails the build and records no SARIF", async () => {
    const { state } = await runStep({ image: DEMO_IMAGE, offline: true });
    expect(state.sh[0]!.status).toBe(2);
    expect(state.result).toBe("FAILURE");
    expect(state.error).toMatch(
      /^Stowaway checked no vulnerabilities for .*offline and no cached vulnerability database/,
    );
    expect(state.recordIssues).toEqual([]);
    expect(state.archiveArtifacts).toHaveLength(1);
  });

  it("writes every report format under the same file names as the other adapters", async () => {
    // The demo fails the default gate (critical); with the gate off the step returns its report paths.
    const { state, workspace } = await runStep({
      image: DEMO_IMAGE,
      db: DEMO_DB,
      failOn: "none",
      reports: [...REPORT_FORMATS],
    });
    expect(state.error).toBeUndefined();
    const expected = Object.fromEntries(
      REPORT_FORMATS.map((format) => [format, `stowaway-reports/stowaway.${REPORT_FILE_EXTENSIONS[format]}`]),
    );
    expect(state.returned!.reports).toEqual(expected);
    for (const file of Object.values(expected)) expect(existsSync(path.join(workspace, file))).toBe(true);
  });

  it("rejects bad parameters with a message naming them", async () => {
    expect((await runStep({})).state.error).toMatch(/image is required/);
    expect((await runStep({ image: DEMO_IMAGE, failOn: "severe" })).state.error).toMatch(
      /input fail-on: "severe" is not one of critical, high, medium, low, none/,
    );
    expect((await runStep({ image: DEMO_IMAGE, reports: "pdf" })).state.error).toMatch(
      /input reports: "pdf" is not one of/,
    );
    expect((await runStep({ image: DEMO_IMAGE, failon: "high" })).state.error).toMatch(/unknown parameter failon/);
  });
});
