import { gunzipSync, gzipSync } from "node:zlib";
import { expect, it } from "vitest";
import { renderSarif } from "../../src/report/sarif.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { findingOf } from "../policy/fixtures/scan-result.js";
import { judgedResult } from "./fixture.js";
import { compileSarif, errorsOf } from "../helpers/schema.js";

interface SarifResult {
  ruleId: string;
  level: string;
  locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
  suppressions?: { kind: string; justification: string }[];
  partialFingerprints: Record<string, string>;
}

describeWithShared("SARIF", () => {
  const validate = compileSarif(sharedPath("schemas/sarif/sarif-schema-2.1.0.json"));
  const result = judgedResult();
  const parse = (text: string) =>
    JSON.parse(text) as {
      runs: {
        tool: { driver: { rules: { id: string; properties: Record<string, unknown>; help: { text: string } }[] } };
        results: SarifResult[];
        properties: Record<string, unknown>;
      }[];
    };

  it("validates against the SARIF 2.1.0 schema", () => {
    const document = JSON.parse(renderSarif(result));
    expect(validate(document), errorsOf(validate)).toBe(true);
  });

  it("one rule per vulnerability id, security-severity always set and consistent with the gate's severity", () => {
    const run = parse(renderSarif(result)).runs[0]!;
    const ids = run.tool.driver.rules.map((rule) => rule.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => id === "CVE-2016-20013")).toHaveLength(1);
    expect(run.results.filter((item) => item.ruleId === "CVE-2016-20013")).toHaveLength(2);
    const severityOf = (id: string) =>
      run.tool.driver.rules.find((rule) => rule.id === id)!.properties["security-severity"];
    // high finding with CVSS 9.1 (outside the high band) -> middle of the high band
    expect(severityOf("CVE-2024-45337")).toBe("8.0");
    // medium 5.3 and low 3.1 sit inside their bands -> the CVSS score
    expect(severityOf("CVE-2023-45288")).toBe("5.3");
    expect(severityOf("CVE-2025-46653")).toBe("3.1");
    // negligible with CVSS 7.5 -> low band value; unknown severity -> 0.0
    expect(severityOf("CVE-2016-20013")).toBe("1.0");
    expect(severityOf("CVE-2023-39325")).toBe("0.0");
    expect(run.tool.driver.rules.find((rule) => rule.id === "CVE-2024-45337")!.help.text).toContain(
      "Fixed version: golang.org/x/crypto: 0.31.0",
    );
  });

  it("levels come from the gate: error for violations, warning otherwise, note + suppressions for suppressed", () => {
    const run = parse(renderSarif(result)).runs[0]!;
    const levelOf = (id: string, name: string) =>
      run.results.find(
        (item) => item.partialFingerprints["stowaway/findingId"] === findingOf(result, id, name).findingId,
      )!;
    expect(levelOf("CVE-2024-45337", "golang.org/x/crypto").level).toBe("error");
    expect(levelOf("CVE-2023-45288", "stdlib").level).toBe("warning");
    const lodash = levelOf("CVE-2021-23337", "lodash");
    expect(lodash.level).toBe("note");
    expect(lodash.suppressions).toEqual([
      { kind: "external", status: "accepted", justification: "policy-exception: not reachable (expires 2027-06-30)" },
    ]);
    expect(levelOf("CVE-2022-23628", "github.com/open-policy-agent/opa").suppressions?.[0]?.justification).toContain(
      "vulnerable_code_not_in_execute_path",
    );
    expect(levelOf("CVE-2025-46653", "formidable").locations[0]!.physicalLocation.artifactLocation.uri).toBe(
      "app/node_modules/formidable/package.json",
    );
  });

  it("points at the Dockerfile when given", () => {
    const run = parse(renderSarif(result, { artifactUri: "deploy/Dockerfile", artifactLine: 3 })).runs[0]!;
    expect(
      run.results.every((item) => item.locations[0]!.physicalLocation.artifactLocation.uri === "deploy/Dockerfile"),
    ).toBe(true);
    expect(run.results[0]!.locations[0]!.physicalLocation.region.startLine).toBe(3);
  });

  it("keeps within the result and size limits, violations first, and says what it cut", () => {
    const capped = parse(renderSarif(result, { sarifLimits: { maxResultsPerRun: 2 } })).runs[0]!;
    expect(capped.results).toHaveLength(2);
    expect(capped.results[0]!.level).toBe("error");
    expect(capped.properties).toMatchObject({ truncated: true, omittedResults: 6 });
    expect(validate(JSON.parse(renderSarif(result, { sarifLimits: { maxResultsPerRun: 2 } })))).toBe(true);

    const small = renderSarif(result, { sarifLimits: { maxGzipBytes: 1800 } });
    expect(gzipSync(small).length).toBeLessThanOrEqual(1800);
    expect(gunzipSync(gzipSync(small)).toString()).toBe(small);
    const run = parse(small).runs[0]!;
    expect(run.properties.truncated).toBe(true);
    expect(run.results.length).toBeLessThan(8);
    expect(validate(JSON.parse(small)), errorsOf(validate)).toBe(true);
  });

  it("caps locations per result", () => {
    const many = judgedResult();
    const formidable = many.packages.find((pkg) => pkg.name === "formidable")!;
    formidable.locations = Array.from({ length: 5 }, (_, index) => `app${index}/node_modules/formidable/package.json`);
    const run = parse(renderSarif(many, { sarifLimits: { maxLocationsPerResult: 3 } })).runs[0]!;
    const item = run.results.find((entry) => entry.ruleId === "CVE-2025-46653")! as SarifResult & {
      properties: Record<string, unknown>;
    };
    expect(item.locations).toHaveLength(3);
    expect(item.properties.omittedLocations).toBe(2);
  });
});
