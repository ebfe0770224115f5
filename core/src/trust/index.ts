export type {
  KeylessIdentity,
  SignatureFacts,
  SignatureKind,
  SignatureProblem,
  SignatureSource,
  SignatureStatus,
  SignerTrust,
  VerifiedSignature,
} from "./types.js";
export {
  COSIGN_ARTIFACT_TYPE,
  COSIGN_SIGNATURE_ANNOTATION,
  COSIGN_SIMPLE_SIGNING,
  cosignSignatureTag,
  parsePublicKeys,
  verifyCosignPayload,
} from "./cosign.js";
export {
  NOTATION_ARTIFACT_TYPE,
  NOTATION_COSE,
  NOTATION_JWS,
  parseTrustStore,
  verifyNotationEnvelope,
  type NotationTarget,
  type NotationTrust,
} from "./notation.js";
export { checkSignatures, type SignatureCheckRequest } from "./verify.js";
