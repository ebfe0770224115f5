import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseCommonInputs, runCi, type CiRun } from "@stowaway/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMON_INPUT_NAMES, commonInputGetter, parseMaxIssues, withSurfaceReports } from "../src/inputs.js";
import { gateIssues } from "../src/issues.js";
import { outputVariableForReport } from "../src/output-names.js";
import { loginForImage } from "@stowaway/core";
import { DEMO_DB, DEMO_IMAGE } from "./helpers/task-run.js";

describe("task inputs to common inputs", () => {
  it("reads each common input through its camelCase task input", () => {
    const taskInputs: Record<string, string> = {
      image: "alpine:3.19",
      failOn: "HIGH",
      ignoreFiles: "a,\nb",
      caFile: "ca.pem",
    };
    const inputs = parseCommonInputs(
      commonInputGetter((name) => taskInputs[name]),
      { outputDir: "/out" },
    );
    expect(inputs).toMatchObject({
      image: "alpine:3.19",
      failOn: "high",
      ignoreFiles: ["a", "b"],
      caFile: "ca.pem",
      outputDir: "/out",
    });
  });

  it("never answers for credentials: they are not task inputs", () => {
    const get = commonInputGetter(() => "leaked");
    for (const name of ["username", "password", "registry-token"]) expect(get(name)).toBeUndefined();
    expect(Object.values(COMMON_INPUT_NAMES)).not.toContain("password");
  });

  it("adds the summary and, unless turned off, the JUnit report to the requested ones", () => {
    expect(withSurfaceReports("html,sarif", true)).toBe("html,sarif,markdown,junit");
    expect(withSurfaceReports(undefined, false)).toBe("markdown");
  });

  it("takes a whole, non-negative issue cap", () => {
    expect(parseMaxIssues(undefined)).toBe(10);
    expect(parseMaxIssues(" 0 ")).toBe(0);
    expect(() => parseMaxIssues("-1")).toThrow('input maxIssues: "-1" is not a whole number of 0 or more');
    expect(() => parseMaxIssues("2.5")).toThrow(/maxIssues/);
  });

  it("names report variables in camelCase", () => {
    expect(outputVariableForReport("json")).toBe("reportJson");
    expect(outputVariableForReport("cyclonedx")).toBe("reportCyclonedx");
  });
});

describe("service-connection credentials go to their own registry only", () => {
  const login = { registry: "https://index.docker.io/v1/", username: "u", password: "p" };

  it("matches Docker Hub under any of its names", () => {
    expect(loginForImage("nginx:1.27", login)).toEqual({ username: "u", password: "p" });
    expect(loginForImage("docker.io/library/nginx", login)).toEqual({ username: "u", password: "p" });
  });

  it("matches a private registry by host and port, whatever the URL around it", () => {
    const acr = { ...login, registry: "https://Contoso.azurecr.io/" };
    expect(loginForImage("contoso.azurecr.io/shop/api:1", acr)).toEqual({ username: "u", password: "p" });
    expect(loginForImage("localhost:5000/app", { ...login, registry: "http://localhost:5000" })).toEqual({
      username: "u",
      password: "p",
    });
  });

  it("withholds them from other registries and from archives", () => {
    expect(loginForImage("ghcr.io/o/app:1", login)).toEqual({
      skipped: "the image is on ghcr.io, the credentials are for registry-1.docker.io",
    });
    expect(loginForImage("localhost:5001/app", { ...login, registry: "localhost:5000" })).toHaveProperty("skipped");
    expect(loginForImage(`oci-archive:${DEMO_IMAGE}`, login)).toEqual({
      skipped: `oci-archive:${DEMO_IMAGE} is not a registry image`,
    });
  });
});

describe("timeline issues from a real scan of the demo image", () => {
  let scratch: string;
  let failOnLow: CiRun;
  let warnOnLow: CiRun;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "stowaway-ado-issues-"));
    const scan = (mode: string, dir: string) =>
      runCi(
        parseCommonInputs(
          (name) => ({ image: `oci-archive:${DEMO_IMAGE}`, db: DEMO_DB, "fail-on": "low", mode })[name],
          {
            outputDir: path.join(scratch, dir),
          },
        ),
        { env: { HOME: scratch } },
      );
    failOnLow = await scan("enforce", "fail");
    warnOnLow = await scan("warn", "warn");
  });

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  // The demo's findings: 9 critical, 12 high, 13 medium and 1 low, all at or above the gate.
  const severityOf = (run: CiRun, id: string | undefined) => run.result.findings!.find((f) => f.id === id)?.severity;

  it("lists violations worst first as errors, then one line counting the rest", () => {
    const issues = gateIssues(failOnLow, 2);
    expect(issues.map((issue) => issue.type)).toEqual(["error", "error", "error"]);
    expect(issues.slice(0, 2).map((issue) => severityOf(failOnLow, issue.code))).toEqual(["critical", "critical"]);
    expect(issues[2]!.code).toBeUndefined();
    expect(issues[2]!.message).toBe("33 more policy violations not listed here; see the Stowaway summary and reports");
  });

  it("lists them all when under the cap, and as warnings in warn mode", () => {
    const issues = gateIssues(failOnLow, 35);
    expect(issues).toHaveLength(35);
    expect(new Set(issues.map((issue) => issue.code))).toEqual(new Set(failOnLow.result.findings!.map((f) => f.id)));
    const severities = issues.map((issue) => severityOf(failOnLow, issue.code));
    expect(severities).toEqual([
      ...Array<string>(9).fill("critical"),
      ...Array<string>(12).fill("high"),
      ...Array<string>(13).fill("medium"),
      "low",
    ]);
    expect(issues.find((issue) => issue.code === "CVE-2024-27351")!.message).toMatch(/\(LOW\)/);
    expect(new Set(gateIssues(warnOnLow, 35).map((issue) => issue.type))).toEqual(new Set(["warning"]));
  });

  it("keeps each message on one line", () => {
    for (const issue of gateIssues(failOnLow, 35)) expect(issue.message).not.toMatch(/[\r\n]/);
  });
});
