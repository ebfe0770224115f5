import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ScanResult } from "@stowaway/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAnnotations, buildInsightReport, MAX_ANNOTATIONS } from "../src/code-insights.js";
import { runInsightsCli } from "../src/insights-cli.js";
import { acceptingPolicy, cliScan, countBySeverity, idsAt } from "./demo.js";
import { startRecordingServer, type RecordedRequest } from "./recording-server.js";

const TOKEN = "BBS-t0ken-'\"$(x)";
const work = mkdtempSync(path.join(tmpdir(), "stowaway-insights-"));
let failing: { exit: number; result: ScanResult; file: string };
let passing: { exit: number; result: ScanResult; file: string };

beforeAll(() => {
  const failFile = path.join(work, "fail.json");
  const passFile = path.join(work, "pass.json");
  failing = { ...cliScan(["--fail-on", "high"], failFile), file: failFile };
  // The demo has critical findings: the gate at critical passes once a policy accepts them.
  const policy = acceptingPolicy(idsAt(failing.result, "critical"), path.join(work, "accept-critical.yaml"));
  passing = { ...cliScan(["--fail-on", "critical", "--policy", policy], passFile), file: passFile };
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function upload(
  args: string[],
  respond?: (request: RecordedRequest) => { status: number; body?: unknown },
): Promise<{ code: number; requests: RecordedRequest[]; output: string }> {
  const server = await startRecordingServer(respond);
  const lines: string[] = [];
  try {
    const code = await runInsightsCli({
      argv: [
        "--url",
        `${server.url}/bitbucket`,
        "--project",
        "SEC",
        "--repo",
        "shop app",
        "--commit",
        "abc123",
        ...args,
      ],
      env: { STOWAWAY_BITBUCKET_TOKEN: TOKEN },
      out: (line) => lines.push(line),
      err: (line) => lines.push(line),
    });
    return { code, requests: server.requests, output: lines.join("\n") };
  } finally {
    await server.close();
  }
}

const REPORT = "/bitbucket/rest/insights/1.0/projects/SEC/repos/shop%20app/commits/abc123/reports/stowaway";

describe("Code Insights upload on the demo image", () => {
  it("PUTs a FAIL report, then replaces the annotations (DELETE, POST)", async () => {
    expect(failing.exit).toBe(1);
    const { code, requests, output } = await upload(["--report", failing.file, "--dockerfile", "Dockerfile:3"]);
    expect(code).toBe(0);
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `PUT ${REPORT}`,
      `DELETE ${REPORT}/annotations`,
      `POST ${REPORT}/annotations`,
    ]);
    for (const request of requests) {
      expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(request.headers["x-atlassian-token"]).toBe("no-check");
    }
    const report = requests[0]!.body as ReturnType<typeof buildInsightReport>;
    expect(report.result).toBe("FAIL");
    expect(report.data.length).toBeLessThanOrEqual(6);
    const counts = countBySeverity(failing.result);
    const field = (title: string) => report.data.find((item) => item.title === title)!.value;
    expect(field("Critical")).toBe(counts.critical);
    expect(field("High")).toBe(counts.high);
    expect(field("Medium")).toBe(counts.medium);
    expect(field("Low and other")).toBe(counts.low! + counts.negligible! + counts.unknown!);
    expect(field("Policy")).toBe("FAIL");

    const { annotations } = requests[2]!.body as { annotations: ReturnType<typeof buildAnnotations> };
    expect(annotations).toHaveLength(failing.result.findings!.length);
    expect(new Set(annotations.map((a) => a.severity))).toEqual(new Set(["HIGH", "MEDIUM", "LOW"]));
    // Violations first: the demo's 9 critical and 12 high findings, then the rest.
    const violating = [...idsAt(failing.result, "critical"), ...idsAt(failing.result, "high")];
    expect(violating).toHaveLength(21);
    expect(
      annotations
        .slice(0, violating.length)
        .map((a) => a.externalId.split("/")[1])
        .sort(),
    ).toEqual([...violating].sort());
    expect(annotations.slice(violating.length).map((a) => a.severity)).not.toContain("HIGH");
    expect(annotations.every((a) => a.path === "Dockerfile" && a.line === 3 && a.type === "VULNERABILITY")).toBe(true);
    expect(output).not.toContain(TOKEN);
    expect(output).toContain(`FAIL, ${failing.result.findings!.length} annotation(s)`);
  });

  it("reports PASS when the gate passes", async () => {
    expect(passing.exit).toBe(0);
    expect(passing.result.policy!.suppressed).toHaveLength(9);
    const { requests } = await upload(["--report", passing.file]);
    expect((requests[0]!.body as { result: string }).result).toBe("PASS");
    const { annotations } = requests[2]!.body as { annotations: { path?: string }[] };
    expect(annotations.every((a) => a.path === undefined)).toBe(true);
  });

  it("anchors annotations on the final FROM line of a Dockerfile", async () => {
    const dockerfile = path.join(work, "Dockerfile");
    writeFileSync(
      dockerfile,
      "# build\nFROM golang AS build\nRUN make\n\nFROM debian:12\nCOPY --from=build /app /app\n",
    );
    const { requests } = await upload(["--report", failing.file, "--dockerfile", dockerfile]);
    const { annotations } = requests[2]!.body as { annotations: { line?: number }[] };
    expect(annotations[0]!.line).toBe(5);
  });

  it("an unchecked scan (no findings: no database) is a FAIL card saying UNCHECKED, never a pass", () => {
    const { findings: _none, policy: _gate, ...unchecked } = passing.result;
    const card = buildInsightReport(unchecked as ScanResult);
    expect(card.result).toBe("FAIL");
    expect(card.data[0]).toEqual({ title: "Policy", type: "TEXT", value: "UNCHECKED" });
  });

  it("caps annotations at 1,000, violations first", () => {
    const findings = Array.from({ length: 1_200 }, (_, index) => ({
      ...failing.result.findings![index % failing.result.findings!.length]!,
      findingId: `pkg${index}/CVE-0000-${index}`,
    }));
    const big: ScanResult = { ...failing.result, findings };
    const annotations = buildAnnotations(big);
    expect(annotations).toHaveLength(MAX_ANNOTATIONS);
  });

  it("fails with exit 2 and a message without the token on HTTP errors", async () => {
    const { code, requests, output } = await upload(["--report", failing.file], () => ({
      status: 401,
      body: { errors: [{ message: "Authentication failed. Please check your credentials and try again." }] },
    }));
    expect(code).toBe(2);
    expect(requests).toHaveLength(1);
    expect(output).toMatch(/HTTP 401: Authentication failed/);
    expect(output).not.toContain(TOKEN);
  });

  it("refuses to run without a token or with a missing report", async () => {
    const lines: string[] = [];
    const code = await runInsightsCli({
      argv: ["--url", "http://127.0.0.1:9", "--project", "P", "--repo", "r", "--commit", "c"],
      env: {},
      out: (line) => lines.push(line),
      err: (line) => lines.push(line),
    });
    expect(code).toBe(2);
    expect(lines.join("\n")).toContain("STOWAWAY_BITBUCKET_TOKEN");
    const missing = await upload(["--report", path.join(work, "nope.json")]);
    expect(missing.code).toBe(2);
    expect(missing.requests).toHaveLength(0);
  });
});
