/**
 * `@stowaway/core/scan`: the inventory scan and the report writers without the rest of core (the
 * database builder, the registry inventory, the CI runner), for front ends whose command only takes
 * an inventory: `stowaway sbom` and a warm rescan then start in a fraction of the full import
 * (README "Caching and speed"). Matching and the policy still load, on demand, when a scan asks.
 */
export { scan, scanImage, type ScanOptions } from "./scan.js";
export { type InventoryOptions } from "./image-inventory.js";
export { defaultCacheDir } from "./defaults.js";
export { type ReportFormat } from "./report/format-names.js";
export {
  loadReportEncoder,
  loadReportRenderer,
  type ReportEncoder,
  type ReportRenderer,
} from "./report/lazy-render.js";
export { runBytes, writeFileAtomic, type ContentRun, type DeferredRun } from "./write-atomic.js";
export { StowawayError } from "./errors.js";
export { parsePlatform } from "./image/platform.js";
export { TIMEOUT_SETTINGS, parseTimeoutSeconds } from "./image/registry/timeouts.js";
