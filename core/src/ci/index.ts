export {
  parseCommonInputs,
  splitList,
  envInputs,
  withEnvFallback,
  inputVariable,
  secretValues,
  maskSecrets,
  imageAccessFrom,
  scanRequestFromInputs,
  DEFAULT_FAIL_ON,
  DEFAULT_CI_REPORTS,
  DEFAULT_DB_MAX_AGE,
  SECRET_INPUTS,
  COMMON_INPUT_NAMES,
  type CommonInputs,
} from "./inputs.js";
export { runPipeline, writeReports, severityCounts, type PipelineRun, type SeverityCounts } from "./pipeline.js";
export {
  imageEcosystems,
  refreshDatabase,
  provisionDatabase,
  provisionedDatabaseDir,
  hasDatabase,
  type DatabaseRefresh,
  type DatabaseRefreshRequest,
  type DatabaseStep,
} from "./database.js";
export { runCi, type CiRun, type CiContext } from "./run.js";
export { scanOnServer, type ServerScan, type ServerScanRequest } from "./server.js";
export {
  OUTCOME_FILE,
  OUTCOME_SCHEMA_VERSION,
  outcomeExitCode,
  outcomeDocument,
  verdictLine,
  writeOutcomeFile,
  type CiOutcome,
  type OutcomeDocument,
} from "./outcome.js";
export { finalFromLine } from "./dockerfile.js";
export { loginForImage, loginRegistryHost, type RegistryLogin } from "./registry-scope.js";
