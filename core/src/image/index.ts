export * from "./types.js";
export * from "./digest.js";
export { parseTarget, parseRegistryReference, detectArchiveKind, DOCKER_HUB_REGISTRY } from "./reference.js";
export type { RegistryReference, Target, TargetKind } from "./reference.js";
export {
  DEFAULT_PLATFORM,
  parsePlatform,
  formatPlatform,
  normalizePlatform,
  platformMatches,
  isAttestation,
  selectManifest,
} from "./platform.js";
export type { ImageIndexLike, SelectManifestOptions } from "./platform.js";
export { openImage } from "./open.js";
export { DEFAULT_REGISTRY_TIMEOUTS, TIMEOUT_SETTINGS, parseTimeoutSeconds, timeoutsFrom } from "./registry/timeouts.js";
export { readLayerSnapshots } from "./layers.js";
export type { LayerProgress, ReadLayersOptions } from "./layers.js";
export { walkLayer, DEFAULT_LAYER_LIMITS } from "./layer-walker.js";
export type { LayerLimits, LayerSnapshot, PathFilter } from "./layer-walker.js";
export { LayerCache } from "./layer-cache.js";
