/**
 * `@stowaway/core/inventory`: registry inventory, the results store and rescans. A separate entry
 * point like `./registry`, so a plain image scan never loads the HTTP stack or a store driver.
 */
export * from "./inventory/index.js";
export * from "./store/index.js";
export { renderInventoryReport, INVENTORY_REPORT_FORMATS, type InventoryReportFormat } from "./report/inventory.js";
export {
  CLUSTER_FLAGS,
  clusterImageReport,
  imageSpread,
  listRunningContainers,
  recordedContainers,
  scanRunningImages,
  type ClusterFlag,
  type ClusterScanOptions,
  type ClusterScanSummary,
  type ImageSpread,
  type ClusterImageRow,
  type ClusterReportOptions,
  type RunningContainer,
} from "./inventory/cluster.js";
