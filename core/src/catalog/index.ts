import { createApkCataloger } from "./apk/index.js";
import { createDotnetCataloger } from "./dotnet/index.js";
import { createDpkgCataloger } from "./dpkg/index.js";
import { createGoBinaryCataloger } from "./golang/index.js";
import { createJavaCataloger } from "./java/index.js";
import { createNpmCataloger } from "./npm/index.js";
import { createOsDetector } from "./os/index.js";
import { createPhpCataloger } from "./php/index.js";
import { createPythonCataloger } from "./python/index.js";
import { createRpmCataloger } from "./rpm/index.js";
import { createRubyCataloger } from "./ruby/index.js";
import { createRustBinaryCataloger } from "./rust/index.js";
import type { AnyCataloger, OsDetector } from "./types.js";

export * from "./types.js";
export { buildPurl } from "./purl.js";
export {
  INVENTORY_INCOMPLETE,
  LimitExceeded,
  incompleteWarning,
  inventoryGaps,
  parseIncompleteWarning,
  warning,
  type InventoryGap,
} from "./warnings.js";
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
export { createPythonCataloger } from "./python/index.js";
export { createJavaCataloger, DEFAULT_JAVA_LIMITS, type JavaCatalogerOptions, type JavaLimits } from "./java/index.js";
export { createGoBinaryCataloger } from "./golang/index.js";
export { createRustBinaryCataloger } from "./rust/index.js";
export { createDotnetCataloger } from "./dotnet/index.js";
export { createPhpCataloger } from "./php/index.js";
export { createRubyCataloger } from "./ruby/index.js";

/** Every cataloger a scan runs, in a stable order (report ordering and cache keys depend on it). */
export function defaultCatalogers(): AnyCataloger[] {
  return [
    createDpkgCataloger(),
    createApkCataloger(),
    createRpmCataloger(),
    createNpmCataloger(),
    createPythonCataloger(),
    createJavaCataloger(),
    createGoBinaryCataloger(),
    createRustBinaryCataloger(),
    createDotnetCataloger(),
    createPhpCataloger(),
    createRubyCataloger(),
  ];
}

export function defaultOsDetector(): OsDetector {
  return createOsDetector();
}
