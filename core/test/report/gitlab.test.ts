import { expect, it } from "vitest";
import { renderGitlab } from "../../src/report/gitlab.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { judgedResult } from "./fixture.js";
import { compileDraft07, errorsOf } from "../helpers/schema.js";

describeWithShared("GitLab container-scanning report", () => {
  const validate = compileDraft07(sharedPath("schemas/gitlab/container-scanning-report-format-15.2.1.json"));
  const result = judgedResult();
  const options = { startedAt: new Date("2026-07-01T12:00:00.250Z"), finishedAt: new Date("2026-07-01T12:01:05Z") };

  it("validates against schema 15.2.1 with zone-less timestamps", () => {
    const report = JSON.parse(renderGitlab(result, options));
    expect(validate(report), errorsOf(validate)).toBe(true);
    expect(report.version).toBe("15.2.1");
    expect(report.scan.start_time).toBe("2026-07-01T12:00:00");
    expect(report.scan.end_time).toBe("2026-07-01T12:01:05");
    expect(report.scan.type).toBe("container_scanning");
  });

  it("maps findings: severities, identifiers, solution, v3 vectors only, suppressed flagged", () => {
    const report = JSON.parse(renderGitlab(result, options));
    const crypto = report.vulnerabilities.find(
      (item: { name: string }) => item.name === "CVE-2024-45337 in golang.org/x/crypto",
    );
    expect(crypto).toMatchObject({
      severity: "High",
      solution: "Upgrade golang.org/x/crypto to 0.31.0",
      cvss_vectors: [{ vendor: "ghsa", vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N" }],
      location: {
        dependency: { package: { name: "golang.org/x/crypto" }, version: "v0.30.0" },
        operating_system: "debian 12",
        image: "ghcr.io/acme/shop:1.4.2",
      },
    });
    expect(crypto.identifiers.map((identifier: { type: string }) => identifier.type)).toEqual(["cve", "ghsa"]);
    const libc = report.vulnerabilities.find((item: { name: string }) => item.name === "CVE-2016-20013 in libc6");
    expect(libc.severity).toBe("Info");
    expect(libc.solution).toBe("No fixed version of libc6 is available yet");
    const lodash = report.vulnerabilities.find((item: { name: string }) => item.name === "CVE-2021-23337 in lodash");
    expect(lodash.flags).toEqual([
      { type: "flagged-as-likely-false-positive", origin: "policy-exception", description: "not reachable" },
    ]);
    expect(new Set(report.vulnerabilities.map((item: { id: string }) => item.id)).size).toBe(
      report.vulnerabilities.length,
    );
  });

  it("holds long text to the schema's limits and drops CVSS v4 vectors", () => {
    const long = judgedResult();
    const finding = long.findings!.find((item) => item.packageName === "formidable")!;
    finding.summary = "x".repeat(2_000_000);
    finding.cvss.push({
      version: "4.0",
      vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
      score: 9.3,
      source: "ghsa",
    });
    finding.packageName = "p".repeat(300);
    const report = JSON.parse(renderGitlab(long, options));
    expect(validate(report), errorsOf(validate)).toBe(true);
  });
});
