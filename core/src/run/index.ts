export { parseCommonInputs, splitList, type CommonInputs } from "./inputs.js";
export {
  resolveGate,
  resolveDatabase,
  readBaseline,
  runPipeline,
  writeReports,
  severityCounts,
  runCiScan,
  type GateRequest,
  type DatabaseChoice,
  type PipelineRequest,
  type PipelineRun,
  type SeverityCounts,
  type CiRun,
} from "./pipeline.js";
export { imageEcosystems, refreshDatabase, type DatabaseRefresh, type DatabaseRefreshRequest } from "./database.js";
export { finalFromLine } from "./dockerfile.js";
export { loginForImage, loginRegistryHost, type RegistryLogin } from "./registry-scope.js";
export { imageAccessFrom } from "./inputs.js";
