export * from "./errors.js";
export * from "./version.js";
export * from "./result.js";
export * from "./scan.js";
export { inventoryImage, type InventoryOptions } from "./image-inventory.js";
export * from "./request.js";
export * from "./image/index.js";
export * from "./catalog/index.js";
export * from "./versions/index.js";
export * from "./vulndb/index.js";
export {
  matchPackages,
  evaluateAffected,
  languageIdentity,
  isDebianKernelHeaders,
  isRpmKernelHeaders,
  parseSeveritySourceOrder,
  DEFAULT_SEVERITY_SOURCE_ORDER,
  SEVERITY_SOURCE_KINDS,
  type SeveritySourceKind,
  type MatchOptions,
  type MatchResult,
} from "./match/index.js";
export * from "./policy/index.js";
export * from "./report/index.js";
export { renderCycloneDx } from "./report/cyclonedx.js";
export { renderSpdx } from "./report/spdx.js";
export { readSbom, parseSbom, type SbomInventory } from "./sbom/index.js";
export * from "./ci/index.js";
export * from "./trust/index.js";
