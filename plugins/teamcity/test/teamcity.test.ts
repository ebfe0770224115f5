import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runTeamCity } from "../src/run.js";
import { MIRROR_EXPECTED, NO_PROXY_ENV, startDbMirror } from "../../../core/test/helpers/db-mirror.js";
import { startDemoService } from "../../../core/test/helpers/demo-service.js";
import { cliExpectations, DEMO_DB, DEMO_IMAGE, type CliFinding } from "./demo.js";
import { parseOutput, type ParsedMessage } from "./service-message-parser.js";

const work = mkdtempSync(path.join(tmpdir(), "stowaway-teamcity-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SECRET = "s3cr'et|[pw]\u00e9";

async function scan(
  extra: Record<string, string>,
): Promise<{ code: number; output: string; messages: ParsedMessage[] }> {
  const lines: string[] = [];
  const outputDir = mkdtempSync(path.join(work, "out-"));
  const code = await runTeamCity({
    env: {
      STOWAWAY_IMAGE: DEMO_IMAGE,
      STOWAWAY_DB: DEMO_DB,
      STOWAWAY_OUTPUT_DIR: outputDir,
      STOWAWAY_CACHE_DIR: path.join(work, "cache"),
      STOWAWAY_USERNAME: "robot",
      STOWAWAY_PASSWORD: SECRET,
      ...extra,
    },
    writeLine: (line) => lines.push(line),
  });
  const output = lines.join("\n");
  const { messages, other } = parseOutput(output);
  expect(other).toEqual([]);
  return { code, output, messages };
}

const RANK = ["unknown", "negligible", "low", "medium", "high", "critical"];
/** The adapter's test names of the CLI's unsuppressed findings at or above `floor`, sorted. */
const atOrAbove = (findings: CliFinding[], floor: string): string[] =>
  findings
    .filter((finding) => !finding.suppressed && RANK.indexOf(finding.severity) >= RANK.indexOf(floor))
    .map((finding) => finding.testName)
    .sort();

const named = (messages: ParsedMessage[], name: string): ParsedMessage[] => messages.filter((m) => m.name === name);
const statistics = (messages: ParsedMessage[]): Record<string, number> =>
  Object.fromEntries(
    named(messages, "buildStatisticValue").map((m) => [
      m.attributes.key!.replace("stowaway.", ""),
      Number(m.attributes.value),
    ]),
  );

describe("TeamCity entry on a fresh agent", () => {
  it("with only the image (and a loopback mirror): provisions the database, the default gate fails", async () => {
    const mirror = await startDbMirror();
    try {
      const lines: string[] = [];
      const code = await runTeamCity({
        env: {
          ...NO_PROXY_ENV,
          STOWAWAY_IMAGE: DEMO_IMAGE,
          STOWAWAY_DB_MIRROR: mirror.url,
          STOWAWAY_OUTPUT_DIR: mkdtempSync(path.join(work, "out-")),
          HOME: mkdtempSync(path.join(work, "home-")),
        },
        writeLine: (line) => lines.push(line),
      });
      expect(code).toBe(0);
      const { messages, other } = parseOutput(lines.join("\n"));
      expect(other).toEqual([]);
      expect(named(messages, "buildProblem")[0]!.attributes.description).toContain(MIRROR_EXPECTED.critical[0]);
      expect(statistics(messages).critical).toBe(MIRROR_EXPECTED.critical.length);
    } finally {
      await mirror.close();
    }
  });

  it("unchecked (offline, no database): one stowaway_unchecked problem, never a pass", async () => {
    const lines: string[] = [];
    await runTeamCity({
      env: {
        STOWAWAY_IMAGE: DEMO_IMAGE,
        STOWAWAY_OFFLINE: "true",
        STOWAWAY_OUTPUT_DIR: mkdtempSync(path.join(work, "out-")),
        HOME: mkdtempSync(path.join(work, "home-")),
      },
      writeLine: (line) => lines.push(line),
    });
    const problems = named(parseOutput(lines.join("\n")).messages, "buildProblem");
    expect(problems.map((problem) => problem.attributes.identity)).toEqual(["stowaway_unchecked"]);
    expect(problems[0]!.attributes.description).toMatch(/^Stowaway checked no vulnerabilities: offline/);
  });
});

describe("TeamCity entry on the demo image", () => {
  it("fails the gate at high: one failed test per critical or high finding, one stable buildProblem, CLI-equal statistics", async () => {
    const expected = cliExpectations(["--fail-on", "high"], path.join(work, "cli-high.json"));
    expect(expected.exit).toBe(1);
    const violating = atOrAbove(expected.findings, "high");
    // The demo's data: 9 critical and 12 high findings, among them cryptography's CVE-2023-49083 (critical).
    expect(violating).toHaveLength(21);
    expect(violating).toContain("cryptography: CVE-2023-49083");
    expect(violating).not.toContain("urllib3: CVE-2023-43804");
    const { code, output, messages } = await scan({ STOWAWAY_FAIL_ON: "high", STOWAWAY_REPORTS: "html,sarif,junit" });
    expect(code).toBe(0);

    const failed = named(messages, "testFailed")
      .map((m) => m.attributes.name)
      .sort();
    expect(failed).toEqual(violating);
    expect(named(messages, "testStarted")).toHaveLength(expected.findings.length);
    expect(named(messages, "testFinished")).toHaveLength(expected.findings.length);
    expect(named(messages, "testIgnored")).toHaveLength(0);

    const problems = named(messages, "buildProblem");
    expect(problems).toHaveLength(1);
    expect(problems[0]!.attributes.identity).toBe("stowaway_gate_failOn");
    expect(problems[0]!.attributes.identity!.length).toBeLessThanOrEqual(60);
    expect(problems[0]!.attributes.description!.length).toBeLessThanOrEqual(4_000);
    expect(problems[0]!.attributes.description).toContain(`${violating.length} findings at or above high`);
    expect(problems[0]!.attributes.description).toContain("CVE-2020-14343 in pyyaml 5.3 (critical)");
    expect(problems[0]!.attributes.description).not.toContain("CVE-2023-43804");

    const stats = statistics(messages);
    for (const [severity, count] of Object.entries(expected.counts)) expect(stats[severity]).toBe(count);
    expect(stats.suppressed).toBe(0);

    const artifacts = named(messages, "publishArtifacts").map((m) => m.value!);
    expect(artifacts.map((a) => path.basename(a.split(" => ")[0]!)).sort()).toEqual([
      "stowaway-outcome.json",
      "stowaway.html",
      "stowaway.json",
      "stowaway.junit.xml",
      "stowaway.sarif",
    ]);
    for (const artifact of artifacts) {
      const [file, target] = artifact.split(" => ");
      expect(target).toBe("stowaway");
      expect(readFileSync(file!, "utf8").length).toBeGreaterThan(0);
    }
    // Reports and tests are emitted before the verdict so a failed gate keeps its evidence.
    const order = messages.map((m) => m.name);
    expect(order.indexOf("publishArtifacts")).toBeLessThan(order.indexOf("buildProblem"));
    expect(output).not.toContain("s3cr");
  });

  it("passes at critical, once every critical finding is accepted, with no problem and no failed test", async () => {
    // The demo has critical findings, so the gate at critical passes only when they are suppressed.
    const unfiltered = cliExpectations(["--fail-on", "critical"], path.join(work, "cli-critical.json"));
    expect(unfiltered.exit).toBe(1);
    const criticals = unfiltered.findings.filter((finding) => finding.severity === "critical");
    expect(criticals).toHaveLength(9);
    const ignore = path.join(work, "critical.trivyignore");
    writeFileSync(ignore, `# accepted for the test\n${criticals.map((finding) => finding.id).join("\n")}\n`);

    const expected = cliExpectations(
      ["--fail-on", "critical", "--ignore-file", ignore],
      path.join(work, "cli-critical-accepted.json"),
    );
    expect(expected.exit).toBe(0);
    const { code, messages } = await scan({ STOWAWAY_FAIL_ON: "critical", STOWAWAY_IGNORE_FILES: ignore });
    expect(code).toBe(0);
    expect(named(messages, "buildProblem")).toEqual([]);
    expect(named(messages, "testFailed")).toEqual([]);
    expect(named(messages, "buildStatus")).toEqual([]);
    expect(
      named(messages, "testIgnored")
        .map((m) => m.attributes.name)
        .sort(),
    ).toEqual(criticals.map((finding) => finding.testName).sort());
    const stats = statistics(messages);
    for (const [severity, count] of Object.entries(expected.counts)) expect(stats[severity]).toBe(count);
    expect(stats.critical).toBe(0);
    expect(stats.suppressed).toBe(9);
  });

  it("warn mode: build status text and warnings, never a failed test or problem", async () => {
    const expected = cliExpectations(["--fail-on", "high"], path.join(work, "cli-warn.json"));
    const { code, messages } = await scan({ STOWAWAY_FAIL_ON: "high", STOWAWAY_MODE: "warn" });
    expect(code).toBe(0);
    expect(named(messages, "buildProblem")).toEqual([]);
    expect(named(messages, "testFailed")).toEqual([]);
    const status = named(messages, "buildStatus");
    expect(status).toHaveLength(1);
    expect(status[0]!.attributes.text).toMatch(/^\{build\.status\.text\}; Stowaway: WARN/);
    expect(status[0]!.attributes.status).toBeUndefined();
    expect(named(messages, "message").some((m) => m.attributes.status === "WARNING")).toBe(true);
    expect(
      named(messages, "testStdOut")
        .map((m) => m.attributes.name)
        .sort(),
    ).toEqual(atOrAbove(expected.findings, "high"));
  });

  it("reports a suppressed finding as an ignored test with its reason", async () => {
    const ignore = path.join(work, ".trivyignore");
    writeFileSync(ignore, "# accepted [until the rebuild] | it's fine\nCVE-2023-49083\n");
    const expected = cliExpectations(
      ["--fail-on", "high", "--ignore-file", ignore],
      path.join(work, "cli-ignore.json"),
    );
    const { messages } = await scan({ STOWAWAY_FAIL_ON: "high", STOWAWAY_IGNORE_FILES: ignore });
    const ignored = named(messages, "testIgnored");
    expect(ignored.map((m) => m.attributes.name)).toEqual(["cryptography: CVE-2023-49083"]);
    expect(ignored[0]!.attributes.message).toMatch(/^suppressed by /);
    expect(
      named(messages, "testFailed")
        .map((m) => m.attributes.name)
        .sort(),
    ).toEqual(atOrAbove(expected.findings, "high"));
    expect(atOrAbove(expected.findings, "high")).not.toContain("cryptography: CVE-2023-49083");
    const stats = statistics(messages);
    for (const [severity, count] of Object.entries(expected.counts)) expect(stats[severity]).toBe(count);
    expect(stats.suppressed).toBe(1);
  });

  it("keeps the problem identity and test names stable across two runs", async () => {
    const first = await scan({ STOWAWAY_FAIL_ON: "high" });
    const second = await scan({ STOWAWAY_FAIL_ON: "high" });
    const identities = (messages: ParsedMessage[]) => named(messages, "buildProblem").map((m) => m.attributes.identity);
    const tests = (messages: ParsedMessage[]) => named(messages, "testStarted").map((m) => m.attributes.name);
    expect(identities(second.messages)).toEqual(identities(first.messages));
    expect(tests(second.messages)).toEqual(tests(first.messages));
    // One distinct test name per finding of the demo (35).
    expect(new Set(tests(first.messages)).size).toBe(35);
  });

  it("lists only findings at or above the report filter, plus every violation", async () => {
    const expected = cliExpectations(["--fail-on", "high"], path.join(work, "cli-filter.json"));
    const listed = (messages: ParsedMessage[]) =>
      named(messages, "testStarted")
        .map((m) => m.attributes.name)
        .sort();
    // The filter drops the one low finding.
    const medium = await scan({ STOWAWAY_FAIL_ON: "high", STOWAWAY_SEVERITY: "medium" });
    expect(listed(medium.messages)).toEqual(atOrAbove(expected.findings, "medium"));
    expect(listed(medium.messages)).toHaveLength(expected.findings.length - 1);
    // Below a critical filter, the high findings are still listed because they violate the gate at high...
    const critical = await scan({ STOWAWAY_FAIL_ON: "high", STOWAWAY_SEVERITY: "critical" });
    expect(listed(critical.messages)).toEqual(atOrAbove(expected.findings, "high"));
    // ...and are not once they pass.
    const none = await scan({ STOWAWAY_FAIL_ON: "none", STOWAWAY_SEVERITY: "critical" });
    expect(listed(none.messages)).toEqual(atOrAbove(expected.findings, "critical"));
    expect(listed(none.messages)).toHaveLength(9);
  });

  it("delegates to a real Stowaway service with env.STOWAWAY_SERVER, its token redacted from every line", async () => {
    const demo = await startDemoService(mkdtempSync(path.join(work, "service-")));
    try {
      const delegated = { STOWAWAY_DB: "", STOWAWAY_SERVER: demo.service.url, STOWAWAY_SERVER_TOKEN: demo.token };
      const { code, output, messages } = await scan(delegated);
      // A failed gate is a buildProblem and exit 0; the default gate (critical) fails on the demo.
      expect(code).toBe(0);
      expect(named(messages, "buildProblem").map((problem) => problem.attributes.identity)).toEqual([
        "stowaway_gate_failOn",
      ]);
      expect(output).toMatch(/scanned by the Stowaway service \(job [0-9a-f-]{36}/);
      expect(output).not.toContain(demo.token);
      // A message that would quote the token (here, in a missing archive's path) shows *** instead.
      const missing = await scan({ ...delegated, STOWAWAY_IMAGE: `oci-archive:${work}/missing-${demo.token}.tar` });
      expect(missing.code).toBe(2);
      expect(named(missing.messages, "buildProblem")[0]!.attributes.description).toContain("missing-***.tar");
      expect(missing.output).not.toContain(demo.token);
    } finally {
      await demo.close();
    }
  });

  it("turns an unusable input into a stowaway_error problem and exit 2, without leaking secrets", async () => {
    const { code, output, messages } = await scan({ STOWAWAY_IMAGE: `oci-archive:${work}/missing-${SECRET}.tar` });
    expect(code).toBe(2);
    const problems = named(messages, "buildProblem");
    expect(problems).toHaveLength(1);
    expect(problems[0]!.attributes.identity).toBe("stowaway_error");
    expect(problems[0]!.attributes.description).toContain("***");
    expect(output).not.toContain("s3cr");

    const bad = await scan({ STOWAWAY_FAIL_ON: "severe" });
    expect(bad.code).toBe(2);
    expect(named(bad.messages, "buildProblem")[0]!.attributes.description).toMatch(/fail-on/);
  });
});
