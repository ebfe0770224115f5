/**
 * `@stowaway/core/service`: the HTTP layer of `stowaway serve` (routing, auth, validation,
 * OpenAPI) and the job queue it submits to. It calls core; it holds no matching or policy logic.
 */
export {
  createServiceHandler,
  startService,
  parseListen,
  loadReadModelPaths,
  type ServiceOptions,
  type ServiceHandler,
  type ListenOptions,
  type RunningService,
} from "./server.js";
export { openApiDocument, REPORT_MEDIA_TYPES } from "./openapi.js";
export { createApiToken, TokenVerifier, RateLimiter, type CreatedToken, type TokenCheck } from "./tokens.js";
export { HttpProblem, type ProblemDetails } from "./problem.js";
export * from "../jobs/index.js";
export { openServiceStore, isPostgresUrl, defaultStorePath, redactedUrl } from "../store/index.js";
export type * from "../store/service-state.js";
