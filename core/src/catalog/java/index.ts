export { createJavaCataloger, type JavaCatalogerOptions } from "./cataloger.js";
export { DEFAULT_JAVA_LIMITS, type JavaLimits } from "./archive.js";
export {
  archiveIdentities,
  fileNameIdentity,
  type ArchiveFacts,
  type GroupIdSource,
  type IdentitySource,
  type JavaIdentity,
  type PomFacts,
} from "./identity.js";
export { parseManifestMainSection, parseProperties } from "./properties.js";
export { WELL_KNOWN_GROUPS, wellKnownGroupId } from "./well-known.js";
