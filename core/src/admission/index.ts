export {
  AdmissionController,
  DEFAULT_ADMISSION_TIMEOUT_MS,
  DEFAULT_VERDICT_CACHE_TTL_MS,
  type AdmissionOptions,
  type ImageJudgement,
} from "./decide.js";
export {
  ADMITTED_KINDS,
  admissionResponse,
  parseAdmissionReview,
  podImages,
  ReviewError,
  type AdmissionRequest,
  type AdmissionResponseBody,
  type ContainerImage,
} from "./review.js";
export { startAdmissionServer, MAX_REVIEW_BYTES, type AdmissionServer, type AdmissionServerOptions } from "./server.js";
