import { createHash, createPublicKey, verify, type KeyObject } from "node:crypto";

/** Layer media type of a cosign "simple signing" payload. */
export const COSIGN_SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json";
/** The layer annotation carrying the base64 signature over the payload. */
export const COSIGN_SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
/** artifactType of cosign signatures stored as OCI 1.1 referrers. */
export const COSIGN_ARTIFACT_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json";
const COSIGN_PAYLOAD_TYPE = "cosign container image signature";

/** The cosign tag that holds the signatures of `digest`: `sha256-<hex>.sig`. */
export function cosignSignatureTag(digest: string): string {
  return `${digest.replace(":", "-")}.sig`;
}

export interface ParsedKey {
  key: KeyObject;
  /** "key sha256:<first 16 hex of the SPKI digest>", how reports name the key. */
  label: string;
}

/** Reads PEM public keys once; a key that does not parse is an error naming its position. */
export function parsePublicKeys(pems: string[], where: string): ParsedKey[] {
  return pems.map((pem, index) => {
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch {
      throw new Error(`${where}.keys[${index}] is not a PEM public key; pass the cosign.pub file's content`);
    }
    const spki = key.export({ type: "spki", format: "der" });
    return { key, label: `key sha256:${createHash("sha256").update(spki).digest("hex").slice(0, 16)}` };
  });
}

/** node:crypto's algorithm argument for a key: cosign signs SHA-256 digests; Ed25519 signs the message itself. */
function algorithmFor(key: KeyObject): string | null {
  return key.asymmetricKeyType === "ed25519" ? null : "sha256";
}

export type CosignCheck = { ok: true; signer: string } | { ok: false; message: string };

/**
 * Checks one simple-signing layer: the payload hashes to its descriptor digest, the signature
 * (ASN.1 DER for ECDSA, as cosign writes it) verifies with one of `keys` over the payload bytes, and
 * the payload is a cosign container image signature for `digest`.
 */
export function verifyCosignPayload(
  payload: Buffer,
  signatureBase64: string | undefined,
  digest: string,
  keys: ParsedKey[],
): CosignCheck {
  if (!signatureBase64) return { ok: false, message: `the layer has no ${COSIGN_SIGNATURE_ANNOTATION} annotation` };
  const signature = Buffer.from(signatureBase64, "base64");
  if (signature.length === 0) return { ok: false, message: "the signature annotation is empty or not base64" };
  if (keys.length === 0) return { ok: false, message: "no public key is configured for this repository" };
  const signer = keys.find(({ key }) => {
    try {
      return verify(algorithmFor(key), payload, key, signature);
    } catch {
      return false;
    }
  });
  if (!signer)
    return {
      ok: false,
      message: "the signature does not verify with any configured key (wrong key or altered payload)",
    };
  let parsed: { critical?: { type?: unknown; image?: { "docker-manifest-digest"?: unknown } } };
  try {
    parsed = JSON.parse(payload.toString("utf8")) as typeof parsed;
  } catch {
    return { ok: false, message: "the signed payload is not JSON" };
  }
  if (parsed?.critical?.type !== COSIGN_PAYLOAD_TYPE) {
    return { ok: false, message: `the signed payload is not a "${COSIGN_PAYLOAD_TYPE}"` };
  }
  const signed = parsed.critical.image?.["docker-manifest-digest"];
  if (signed !== digest) {
    const named = typeof signed === "string" && /^sha256:[0-9a-f]{64}$/.test(signed) ? signed : "another digest";
    return { ok: false, message: `the signature is for ${named}, not ${digest}` };
  }
  return { ok: true, signer: signer.label };
}
