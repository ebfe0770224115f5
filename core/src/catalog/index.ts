import { createApkCataloger } from "./apk/index.js";
import { createDpkgCataloger } from "./dpkg/index.js";
import { createNpmCataloger } from "./npm/index.js";
import { createOsDetector } from "./os/index.js";
import { createRpmCataloger } from "./rpm/index.js";
import type { AnyCataloger, OsDetector } from "./types.js";

export * from "./types.js";
export { buildPurl } from "./purl.js";
export { warning } from "./warnings.js";
export { createOsDetector, endOfLife, eolDate, osvEcosystem, type ReleaseFacts } from "./os/index.js";
export { createApkCataloger, parseApkInstalled, type ApkDatabase, type ApkEntry } from "./apk/index.js";
export {
  createRpmCataloger,
  parseSourceRpm,
  readBdbHashValues,
  readNdbBlobs,
  readSqliteBlobs,
  rpmThirdPartyVendor,
  toRpmEntry,
  type BlobRead,
  type RpmEntry,
} from "./rpm/index.js";
export {
  createDpkgCataloger,
  parseControlFile,
  type ControlFile,
  type ControlStanza,
  type DpkgEntry,
} from "./dpkg/index.js";
export { createNpmCataloger } from "./npm/index.js";

/** Every cataloger a scan runs, in a stable order (report ordering and cache keys depend on it). */
export function defaultCatalogers(): AnyCataloger[] {
  return [createDpkgCataloger(), createApkCataloger(), createRpmCataloger(), createNpmCataloger()];
}

export function defaultOsDetector(): OsDetector {
  return createOsDetector();
}
