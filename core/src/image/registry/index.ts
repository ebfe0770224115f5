export { openRegistryImage, formatRegistryReference } from "./image.js";
export type { OpenRegistryImageOptions, RegistryImageReference } from "./image.js";
export {
  RegistryClient,
  registryApiHost,
  MEDIA_TYPES,
  DEFAULT_MAX_BLOB_BYTES,
  DEFAULT_MAX_MANIFEST_BYTES,
} from "./client.js";
export type { FetchedManifest, RegistryClientOptions } from "./client.js";
export { TokenCache, sharedTokenCache, parseWwwAuthenticate } from "./auth.js";
export type { Challenge } from "./auth.js";
export { resolveCredential, normalizeConfigKey, DOCKER_HUB_CONFIG_KEY } from "./credentials.js";
export type { Credential, HelperRunner } from "./credentials.js";
export { DEFAULT_RETRY_POLICY, retryDelay, StallError } from "./http.js";
export {
  DEFAULT_REGISTRY_TIMEOUTS,
  TIMEOUT_SETTINGS,
  parseTimeoutSeconds,
  resolveTimeouts,
  timeoutsFrom,
} from "./timeouts.js";
export type { RetryPolicy } from "./http.js";
export { bypassesProxy, proxyFor } from "./proxy.js";
