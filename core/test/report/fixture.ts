import { readFileSync } from "node:fs";
import { evaluatePolicy } from "../../src/policy/evaluate.js";
import { parseOpenVex } from "../../src/policy/imports/openvex.js";
import { parsePolicy } from "../../src/policy/parse.js";
import type { ScanResult } from "../../src/result.js";
import { sharedPath } from "../helpers/shared.js";
import { fixtureResult, NOW } from "../policy/fixtures/scan-result.js";

/**
 * The policy fixture with a verdict: gate failOn high (x/crypto violates), lodash excepted by the
 * policy, OPA suppressed by Trivy's real OpenVEX fixture, and one image rule violated.
 */
export function judgedResult(overrides: Partial<ScanResult> = {}): ScanResult {
  const result = fixtureResult(overrides);
  const policy = parsePolicy(
    `version: 1
gate:
  failOn: high
  deny: [CVE-2021-23337]
image:
  disallowRoot: true
exceptions:
  - id: CVE-2021-23337
    reason: "not reachable"
    expires: 2027-06-30
`,
    "policy.yaml",
  );
  const vexFile = sharedPath("testvectors/scanner-outputs/trivy/openvex.json");
  const suppressions = parseOpenVex(readFileSync(vexFile, "utf8"), "openvex.json");
  return { ...result, policy: evaluatePolicy(result, policy, { now: NOW, suppressions }) };
}
