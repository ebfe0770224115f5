export {
  walkRegistry,
  type ImageTarget,
  type TagSighting,
  type WalkOptions,
  type WalkProblem,
  type WalkResult,
} from "./walk.js";
export {
  scanRegistry,
  scanTargets,
  type TargetScanOptions,
  type TargetScanSummary,
  type ImageEvent,
  type ImageOutcome,
  type RegistryScanOptions,
  type RegistryScanSummary,
} from "./registry-scan.js";
export { rescanStore, type RescanOptions, type RescanSummary } from "./rescan.js";
export {
  buildInventoryReport,
  type InventoryReport,
  type InventoryReportOptions,
  type InventoryImageRow,
  type InventoryRepositoryRow,
  type ChangeRow,
  type CveExposure,
} from "./report-data.js";
export {
  clusterImageReport,
  exposedWorkloads,
  recordedContainers,
  runningSummary,
  type ClusterImageRow,
  type RunningContainer,
  type RunningSummary,
  type RunningWorkload,
} from "./cluster.js";
export { postWebhook, webhookPayload, summariseChanges, type WebhookSummary } from "./notify.js";
