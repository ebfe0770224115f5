import type { PolicyVerdict, PolicyViolation, ScanResult } from "../result.js";
import { newSinceBaseline } from "./baseline.js";
import { databaseViolations, imageViolations } from "./image-rules.js";
import { inventoryViolations } from "./inventory-rules.js";
import { applySuppressions } from "./suppress.js";
import { trustViolations } from "./trust-rules.js";
import type { EvaluationContext, GateRules, Policy } from "./types.js";
import { deniedPackageViolations, vulnerabilityViolations } from "./vulnerability-rules.js";

/**
 * Applies a policy to a scan result. Pure: the same result, policy and context (including `now`)
 * always give the same verdict. The report filter is not an input, so what a report shows can never
 * change whether the build passes.
 */
export function evaluatePolicy(result: ScanResult, policy: Policy, context: EvaluationContext): PolicyVerdict {
  const warnings = [...(policy.notices ?? [])];
  const violations: PolicyViolation[] = [];
  const { active, suppressed } = applySuppressions(result, policy, context.suppressions ?? [], context.now, warnings);

  if (result.findings === undefined) {
    if (hasVulnerabilityRules(policy.gate)) {
      warnings.push("vulnerability rules not checked: no vulnerability database was used for this scan");
    }
  } else {
    const gated = context.baseline ? newSinceBaseline(active, context.baseline, warnings) : active;
    violations.push(...vulnerabilityViolations(gated, policy.gate));
  }
  violations.push(...deniedPackageViolations(result.packages, active, policy.gate));
  violations.push(...inventoryViolations(result, policy.gate));
  violations.push(...trustViolations(result, policy.trust, warnings));
  violations.push(...imageViolations(result, policy.image, context.imageConfig, context.now, warnings));
  violations.push(...databaseViolations(result, policy.database.maxAgeDays, context.now, warnings));

  const outcome = violations.length === 0 ? "pass" : policy.mode === "warn" ? "warn" : "fail";
  return { outcome, violations, suppressed, warnings };
}

/** Whether the gate says anything about vulnerabilities (else a scan without a database can be judged). */
export function hasVulnerabilityRules(gate: GateRules): boolean {
  return (
    gate.failOn !== "none" ||
    gate.maxCount !== undefined ||
    gate.cvssAtLeast !== undefined ||
    gate.epssAtLeast !== undefined ||
    Boolean(gate.kev) ||
    (gate.deny?.length ?? 0) > 0
  );
}
