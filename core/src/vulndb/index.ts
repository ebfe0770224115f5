export type * from "./osv.js";
export { SEVERITY_ORDER } from "./osv.js";
export type * from "./types.js";
export { VulnDbError, HostileVulnDataError, type WarningSink } from "./errors.js";
export { normalizeEcosystem, normalizePackageName, debianMajorFor } from "./normalize.js";
export { buildDatabase, type BuildDatabaseOptions } from "./build.js";
export {
  updateDatabase,
  DEFAULT_OSV_BASE,
  DEFAULT_KEV_URL,
  DEFAULT_EPSS_URL,
  MIRROR_KEV_PATH,
  MIRROR_EPSS_PATH,
  DEFAULT_DEBIAN_TRACKER_URL,
  MIRROR_DEBIAN_TRACKER_PATH,
  DEFAULT_ALPINE_SECDB_BASE,
  MIRROR_ALPINE_SECDB_PATH,
  type UpdateDatabaseOptions,
  type UpdateDatabaseResult,
} from "./update.js";
export { DEFAULT_NVD_URL, MIRROR_NVD_PATH, NVD_API_KEY_ENV, nvdWindows, nvdRateLimit } from "./fetch/nvd.js";
export { openDatabase, type OpenDatabaseOptions } from "./store/reader.js";
export { DB_SCHEMA_VERSION } from "./store/format.js";
export { exportDatabase, importDatabase, BUNDLE_FORMAT, type BundleManifest } from "./bundle.js";
export { databaseStatus, formatDatabaseStatus, parseDuration, formatDuration, type DatabaseStatus } from "./status.js";
export { rememberEcosystems, recentEcosystems } from "./recent.js";
export { defaultDatabaseDir } from "./paths.js";
export { scoreCvssVector, scoreOsvSeverities, cvssBandSeverity, type ScoredCvss, type CvssVersion } from "./cvss.js";
export { DEFAULT_ZIP_LIMITS, type ZipLimits } from "./ingest/zip.js";
