import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { evaluatePolicy } from "../../src/policy/evaluate.js";
import { parseOpenVex } from "../../src/policy/imports/openvex.js";
import { lintPolicy } from "../../src/policy/lint.js";
import { loadPolicy } from "../../src/policy/load.js";
import { compileSchema2020, errorsOf } from "../helpers/schema.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { findingOf, fixtureResult, NOW } from "./fixtures/scan-result.js";

const example = (name: string) => fileURLToPath(new URL(`../../../examples/policies/${name}`, import.meta.url));

describeWithShared("example policies", () => {
  const result = fixtureResult();

  it("all lint clean", async () => {
    for (const name of ["minimal.yaml", "strict.yaml", "with-exceptions.yaml"]) {
      const lint = await lintPolicy(example(name), { now: NOW });
      expect(lint.errors, name).toEqual([]);
    }
  });

  it("minimal.yaml fails the fixture on x/crypto and keeps lodash excepted", async () => {
    const verdict = evaluatePolicy(result, await loadPolicy(example("minimal.yaml")), { now: NOW });
    expect(verdict.outcome).toBe("fail");
    expect(verdict.violations.map((violation) => [violation.rule, violation.findingIds])).toEqual([
      ["gate.failOn", [findingOf(result, "CVE-2024-45337", "golang.org/x/crypto").findingId]],
    ]);
    expect(verdict.suppressed.map((entry) => entry.reason)).toEqual(["not reachable"]);
  });

  it("strict.yaml reports every rule the fixture breaks", async () => {
    const verdict = evaluatePolicy(result, await loadPolicy(example("strict.yaml")), { now: NOW });
    expect(verdict.outcome).toBe("fail");
    expect(verdict.violations.map((violation) => violation.rule)).toEqual([
      "gate.failOn",
      "gate.maxCount.high",
      "gate.cvssAtLeast",
      "image.disallowRoot",
      "image.requiredLabels",
    ]);
    expect(verdict.warnings).toEqual([
      "image.disallowSecrets not checked: the image config (environment, history) was not provided",
    ]);
  });

  it("with-exceptions.yaml plus its OpenVEX document passes, warning about the exception that ends soon", async () => {
    const vexFile = example("with-exceptions.openvex.json");
    const vexText = readFileSync(vexFile, "utf8");
    const validate = compileSchema2020(sharedPath("schemas/openvex/openvex_json_schema.json"));
    expect(validate(JSON.parse(vexText)), errorsOf(validate)).toBe(true);
    const policy = await loadPolicy(example("with-exceptions.yaml"));
    const verdict = evaluatePolicy(result, policy, {
      now: NOW,
      suppressions: parseOpenVex(vexText, "with-exceptions.openvex.json"),
    });
    expect(verdict.outcome).toBe("pass");
    expect(verdict.suppressed.map((entry) => [entry.source, entry.findingId])).toEqual([
      ["openvex", findingOf(result, "CVE-2016-20013", "libc6").findingId],
      ["openvex", findingOf(result, "CVE-2016-20013", "libc-bin").findingId],
      ["policy-exception", findingOf(result, "CVE-2024-45337", "golang.org/x/crypto").findingId],
      ["policy-exception", findingOf(result, "CVE-2021-23337", "lodash").findingId],
    ]);
    expect(verdict.warnings).toEqual([
      `exception CVE-2021-23337 (${example("with-exceptions.yaml")}:13) expires in 9 days (2026-07-10); renew or fix it`,
    ]);
  });
});
