import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { parseStringPromise } from "xml2js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIRROR_EXPECTED, NO_PROXY_ENV, startDbMirror } from "../../../core/test/helpers/db-mirror.js";
import {
  CLI,
  DEMO_DB,
  DEMO_IMAGE,
  cliScan,
  countsOf,
  installTask,
  runTaskAsAgent,
  type AgentRun,
  type CliScan,
} from "./helpers/task-run.js";

const KNOWN_COMMANDS = new Set([
  "task.debug",
  "task.setsecret",
  "task.setvariable",
  "task.addattachment",
  "task.uploadsummary",
  "results.publish",
  "task.logissue",
  "task.issue",
  "task.complete",
]);
const ADO_MARKDOWN_BUDGET = 150_000;
const COUNTED = ["critical", "high", "medium", "low", "negligible", "unknown"];

let taskDir: string;
let cleanupTask: () => void;
let scratch: string;
let cliFailOnCritical: CliScan;
let cliFailOnNone: CliScan;
/** The demo's critical findings (examples/demo/db, rated from GitHub-reviewed and NVD records). */
const DEMO_CRITICAL = [
  "CVE-2020-14343",
  "CVE-2020-1747",
  "CVE-2020-36242",
  "CVE-2021-35042",
  "CVE-2022-28346",
  "CVE-2022-28347",
  "CVE-2022-34265",
  "CVE-2023-31047",
  "CVE-2023-49083",
];

function freshWorkDir(name: string): string {
  const dir = path.join(scratch, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function runDemo(name: string, inputs: Record<string, string>, env: Record<string, string> = {}): AgentRun {
  return runTaskAsAgent(taskDir, {
    workDir: freshWorkDir(name),
    inputs: { image: `oci-archive:${DEMO_IMAGE}`, db: DEMO_DB, ...inputs },
    env,
  });
}

function expectCountsLikeCli(run: AgentRun, cli: CliScan): void {
  const expected = countsOf(cli.report);
  for (const severity of COUNTED) expect(run.outputs[severity], severity).toBe(String(expected[severity]));
  const total = Object.values(expected).reduce((sum, n) => sum + n, 0);
  expect(run.outputs.total).toBe(String(total));
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error("cli/dist/main.js is missing: run `npm run build` first (npm test does)");
  ({ taskDir, cleanup: cleanupTask } = await installTask());
  scratch = mkdtempSync(path.join(os.tmpdir(), "stowaway-ado-run-"));
  const home = freshWorkDir("cli-home");
  cliFailOnCritical = cliScan([`oci-archive:${DEMO_IMAGE}`, "--db", DEMO_DB, "--fail-on", "critical"], home);
  cliFailOnNone = cliScan([`oci-archive:${DEMO_IMAGE}`, "--db", DEMO_DB, "--fail-on", "none"], home);
});

afterAll(() => {
  cleanupTask?.();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("the task run as the agent runs it, on the demo image, fail-on critical", () => {
  let run: AgentRun;
  beforeAll(() => {
    // 9 critical findings: all fit within the default 10 issues per type.
    run = runDemo("fail-on-critical", { failOn: "critical", reports: "html,sarif" });
  });

  it("agrees with the CLI: the CLI exits 1 and the task completes Failed", () => {
    expect(cliFailOnCritical.exitCode).toBe(1);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.named("task.complete")).toHaveLength(1);
    expect(run.result).toBe("Failed");
    expect(run.outputs.outcome).toBe("fail");
    expectCountsLikeCli(run, cliFailOnCritical);
  });

  it("prints only well-formed commands the agent knows", () => {
    expect(run.commands.length).toBeGreaterThan(10);
    for (const command of run.commands) expect(KNOWN_COMMANDS, command.raw).toContain(command.command);
  });

  it("lists each finding that violates the gate as an error issue, as the CLI's verdict names them", () => {
    const violating = new Set(cliFailOnCritical.report.policy!.violations.flatMap((v) => v.findingIds));
    const expectedIds = cliFailOnCritical.report.findings.filter((f) => violating.has(f.findingId)).map((f) => f.id);
    expect(expectedIds.sort()).toEqual(DEMO_CRITICAL);
    const errors = run.named("task.logissue").filter((c) => c.properties.type === "error");
    expect(errors.map((c) => c.properties.code).sort()).toEqual(expectedIds);
    for (const issue of errors)
      expect(issue.message).toMatch(/^CVE-\d+-\d+ \(CRITICAL\) in \S+ \S+, fixed in \S+ \[gate\.failOn\]/);
    expect(run.named("task.logissue").filter((c) => c.properties.type === "warning")).toEqual([]);
  });

  it("publishes a JUnit file that holds one failing test per violation", async () => {
    const [publish, ...more] = run.named("results.publish");
    expect(more).toEqual([]);
    expect(publish!.properties.type).toBe("JUnit");
    expect(publish!.properties.runTitle).toBe(`Stowaway: oci-archive:${DEMO_IMAGE}`);
    const file = publish!.properties.resultFiles!;
    expect(file).toBe(run.outputs.reportJunit);
    const junit = await parseStringPromise(readFileSync(file, "utf8"));
    // The 9 violating findings, and the verdict test case that fails with the gate.
    expect(Number(junit.testsuites.$.failures)).toBe(DEMO_CRITICAL.length + 1);
    const failing = (junit.testsuites.testsuite as { testcase?: { $: { name: string }; failure?: unknown }[] }[])
      .flatMap((suite) => suite.testcase ?? [])
      .filter((testcase) => testcase.failure)
      .map((testcase) => testcase.$.name)
      .sort();
    expect(failing).toEqual([...DEMO_CRITICAL, "verdict"]);
  });

  it("uploads the markdown summary, within Azure's 150,000 character budget", () => {
    const [summary, ...more] = run.named("task.uploadsummary");
    expect(more).toEqual([]);
    expect(summary!.message).toBe(run.outputs.reportMarkdown);
    const text = readFileSync(summary!.message, "utf8");
    expect(statSync(summary!.message).size).toBeLessThanOrEqual(ADO_MARKDOWN_BUDGET);
    expect(text).toContain("FAIL");
    expect(text).toContain("CVE-2023-49083");
  });

  it("attaches every report and exposes its path as an output variable", () => {
    const attachments = run.named("task.addattachment");
    expect(attachments.map((a) => a.properties.type)).toEqual(attachments.map(() => "stowaway-report"));
    const attached = Object.fromEntries(attachments.map((a) => [a.properties.name, a.message]));
    for (const [variable, file] of [
      ["reportJson", "stowaway.json"],
      ["reportHtml", "stowaway.html"],
      ["reportSarif", "stowaway.sarif"],
      ["reportMarkdown", "stowaway.md"],
      ["reportJunit", "stowaway.junit.xml"],
    ] as const) {
      expect(path.basename(run.outputs[variable]!)).toBe(file);
      expect(attached[file]).toBe(run.outputs[variable]);
      expect(existsSync(run.outputs[variable]!)).toBe(true);
    }
    expect(path.dirname(run.outputs.reportJson!)).toMatch(/[/\\]a[/\\]stowaway$/);
  });

  it("writes a JSON report whose counts and verdict are the CLI's", () => {
    const report = JSON.parse(readFileSync(run.outputs.reportJson!, "utf8")) as CliScan["report"];
    expect(countsOf(report)).toEqual(countsOf(cliFailOnCritical.report));
    expect(report.policy!.outcome).toBe(cliFailOnCritical.report.policy!.outcome);
  });

  it("says why it failed on the timeline", () => {
    const errors = run.named("task.issue").filter((c) => c.properties.type === "error");
    expect(errors.map((e) => e.message)).toEqual([
      `Stowaway policy gate failed for oci-archive:${DEMO_IMAGE}: 1 violation(s) of gate.failOn; see the Stowaway summary`,
    ]);
  });
});

describe("other verdicts", () => {
  it("succeeds on fail-on none, as the CLI exits 0", () => {
    const run = runDemo("fail-on-none", { failOn: "none" });
    expect(cliFailOnNone.exitCode).toBe(0);
    expect(run.result).toBe("Succeeded");
    expect(run.outputs.outcome).toBe("pass");
    expectCountsLikeCli(run, cliFailOnNone);
    expect(run.named("task.logissue")).toEqual([]);
  });

  it("succeeds with issues in warn mode, listing the violations as warnings", () => {
    const run = runDemo("warn", { failOn: "critical", mode: "warn" });
    expect(run.result).toBe("SucceededWithIssues");
    expect(run.outputs.outcome).toBe("warn");
    expectCountsLikeCli(run, cliFailOnCritical);
    const issues = run.named("task.logissue");
    expect(issues.map((c) => c.properties.type)).toEqual(DEMO_CRITICAL.map(() => "warning"));
    expect(issues.map((c) => c.properties.code).sort()).toEqual(DEMO_CRITICAL);
  });

  it("caps the issues per type and counts the rest in one more line", () => {
    const cli = cliScan([`oci-archive:${DEMO_IMAGE}`, "--db", DEMO_DB, "--fail-on", "low"], freshWorkDir("cli-low"));
    const violating = new Set(cli.report.policy!.violations.flatMap((v) => v.findingIds)).size;
    // 9 critical, 12 high, 13 medium and 1 low finding.
    expect(violating).toBe(35);
    const run = runDemo("capped", { failOn: "low", maxIssues: "2" });
    expect(run.result).toBe("Failed");
    const errors = run.named("task.logissue").filter((c) => c.properties.type === "error");
    expect(errors).toHaveLength(3);
    // Worst first: two CRITICAL findings are listed, the other 33 are counted.
    expect(errors.slice(0, 2).every((c) => c.message.includes("(CRITICAL)"))).toBe(true);
    expect(errors[2]!.message).toBe(
      `${violating - 2} more policy violations not listed here; see the Stowaway summary and reports`,
    );
  });

  it("applies the default gate (critical) without failOn: the demo image's critical findings fail it", () => {
    const run = runDemo("no-gate", {});
    expect(run.result).toBe("Failed");
    expect(run.outputs.outcome).toBe("fail");
    expectCountsLikeCli(run, cliFailOnCritical);
    const errors = run.named("task.logissue").filter((c) => c.properties.type === "error");
    expect(errors.map((c) => c.properties.code).sort()).toEqual(DEMO_CRITICAL);
  });

  it("on a fresh agent with only the image (and a loopback mirror): provisions the database, the default gate fails", async () => {
    const mirror = await startDbMirror();
    try {
      const run = runTaskAsAgent(taskDir, {
        workDir: freshWorkDir("fresh"),
        inputs: { image: `oci-archive:${DEMO_IMAGE}` },
        env: { ...NO_PROXY_ENV, STOWAWAY_DB_MIRROR: mirror.url },
      });
      expect(run.result, run.stdout).toBe("Failed");
      expect(run.outputs.outcome).toBe(MIRROR_EXPECTED.outcome);
      expect(run.outputs.critical).toBe(String(MIRROR_EXPECTED.critical.length));
    } finally {
      await mirror.close();
    }
  });

  it("fails with the core's one-line message on a bad input", () => {
    const run = runDemo("bad-input", { failOn: "severe" });
    expect(run.result).toBe("Failed");
    expect(run.named("task.complete")[0]!.message).toBe(
      'input fail-on: "severe" is not one of critical, high, medium, low, none',
    );
    expect(run.named("task.setvariable")).toEqual([]);
  });

  it("reports a run without a database as unchecked, a failure, never a pass, and writes no SARIF", () => {
    const run = runDemo("no-db", { failOn: "none", db: path.join(scratch, "missing-db") });
    expect(run.result).toBe("Failed");
    expect(run.outputs.outcome).toBe("unchecked");
    expect(run.named("task.complete")[0]!.message).toMatch(
      /^Stowaway checked no vulnerabilities for .*: no vulnerability database at .*missing-db \(input db\)/,
    );
    expect(run.outputs.reportSarif).toBeUndefined();
  });
});

/** A 127.0.0.1 port that refuses connections: a Stowaway service that is down. */
async function deadUrl(): Promise<string> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((resolve) => probe.close(resolve));
  return url;
}

describe("the server and serverToken inputs", () => {
  it("delegates to the service and keeps the token out of every line, debug included", async () => {
    const token = "stw_Az-server-token-5d1e%;]x";
    const server = await deadUrl();
    const run = runTaskAsAgent(taskDir, {
      workDir: freshWorkDir("server"),
      inputs: { image: `oci-archive:${DEMO_IMAGE}`, server, serverToken: token },
      env: { SYSTEM_DEBUG: "true" },
    });
    expect(run.result).toBe("Failed");
    // The service was asked (and no database step ran first): its address is in the one error line.
    expect(run.named("task.complete")[0]!.message).toMatch(
      /^Stowaway service http:\/\/127\.0\.0\.1:\d+: cannot connect \(ECONNREFUSED\); check the server input$/,
    );
    expect(run.stdout).not.toContain("vulnerability database");
    // The token reaches stdout only as the payload of task.setsecret, before any input is logged.
    expect(run.named("task.setsecret").map((command) => command.message)).toEqual([token]);
    const others = run.stdout.split(/\r?\n/).filter((line) => !line.startsWith("##vso[task.setsecret]"));
    for (const fragment of ["Az-server-token", "5d1e"]) {
      expect(others.join("\n")).not.toContain(fragment);
      expect(run.stderr).not.toContain(fragment);
    }
    expect(run.named("task.debug").map((command) => command.message)).toContainEqual(`server=${server}`);
  });
});

describe("logging-command escaping, read back exactly", () => {
  it("escapes % ; ] in properties and %, CR, LF in messages the way the agent decodes them", () => {
    const outputDir = path.join(scratch, "odd 100%;dir]");
    const run = runDemo("escaping", { failOn: "none", outputDir });
    expect(run.result).toBe("Succeeded");
    const junit = path.join(outputDir, "stowaway.junit.xml");
    const publish = run.named("results.publish")[0]!;
    expect(publish.properties.resultFiles).toBe(junit);
    expect(publish.raw).toContain(`resultFiles=${junit.replace("100%;dir]", "100%AZP25%3Bdir%5D")};`);
    const summary = run.named("task.uploadsummary")[0]!;
    // Messages keep ';' and ']' as they are: only the first ']' closes the properties.
    expect(summary.raw).toBe(`##vso[task.uploadsummary]${path.join(outputDir, "stowaway.md").replace("%", "%AZP25")}`);
    expect(existsSync(summary.message)).toBe(true);
    expect(readdirSync(outputDir).sort()).toEqual([
      "stowaway-outcome.json",
      "stowaway.json",
      "stowaway.junit.xml",
      "stowaway.md",
    ]);
  });

  it("keeps a multi-line message on one command line", () => {
    const run = runDemo("multiline", { failOn: "high\r\n100%" });
    const complete = run.named("task.complete")[0]!;
    // CR and LF are shown as \r\n by core's log neutraliser (docs/log-safety.md); % is still escaped.
    expect(complete.raw).toBe(
      '##vso[task.complete result=Failed;]input fail-on: "high\\r\\n100%AZP25" is not one of critical, high, medium, low, none',
    );
    expect(complete.message).toBe('input fail-on: "high\\r\\n100%" is not one of critical, high, medium, low, none');
  });
});
