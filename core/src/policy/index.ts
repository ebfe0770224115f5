export type {
  EvaluationContext,
  GateRules,
  GateSeverity,
  IgnoreEntry,
  ImageRules,
  ImportedSuppression,
  PackageDenial,
  Policy,
  PolicyException,
  VexProduct,
  VexStatement,
} from "./types.js";
export { PolicyError } from "./errors.js";
export { parsePolicy, readPolicyDocument } from "./parse.js";
export { loadPolicy, type LoadPolicyOptions } from "./load.js";
export { lintPolicy, type PolicyLintResult } from "./lint.js";
export { policyFromFlags } from "./flags.js";
export { evaluatePolicy, hasVulnerabilityRules } from "./evaluate.js";
export { imageConfigFacts, type ImageConfigFacts, type ImageConfigJson } from "./image-config.js";
export { redactSecrets } from "./secrets.js";
export { POLICY_SCHEMA_URL } from "./schema.js";
export {
  detectSuppressionFormat,
  loadSuppressions,
  parseOpenVex,
  parseSuppressions,
  parseTrivyIgnore,
  parseTrivyIgnoreYaml,
  type SuppressionFormat,
} from "./imports/index.js";
