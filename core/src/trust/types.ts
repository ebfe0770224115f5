/**
 * What a signature check found for one image (docs/trust.md). trust/ produces these facts from the
 * registry; policy/ decides what they mean for the verdict; every report shows them.
 */

/** A keyless signer: the OIDC issuer of the Fulcio certificate and a regular expression its subject must match. */
export interface KeylessIdentity {
  issuer: string;
  subject: string;
}

/** Who may sign images of a repository prefix. */
export interface SignerTrust {
  /** PEM public keys (cosign key pairs: ECDSA P-256 by default; RSA and Ed25519 accepted too). */
  keys?: string[];
  /** Keyless (Sigstore bundle) identities. */
  identities?: KeylessIdentity[];
  /** Sigstore trusted_root.json (Fulcio CAs, Rekor keys) the bundles of `identities` are checked against. */
  trustedRoot?: string;
  /** PEM X.509 certificates of the Notation trust store (roots or intermediates signers chain to). */
  certificates?: string[];
  /**
   * PEM X.509 certificates of Notation signing authorities (signing scheme notary.x509.signingAuthority),
   * kept apart from `certificates` as the Notary Project requires: a CA-issued signer must not pass as one.
   */
  signingAuthorities?: string[];
  /**
   * PEM X.509 certificates of trusted timestamp authorities (RFC 3161): a notary.x509 signature
   * countersigned by one stays valid after its certificates expire. Without them timestamps are ignored.
   */
  timestampAuthorities?: string[];
}

export type SignatureKind = "cosign" | "notation" | "sigstore-bundle";

/** How the signature was found: the cosign `sha256-<hex>.sig` tag or the OCI 1.1 referrers (API or tag schema). */
export type SignatureSource = "tag" | "referrers";

export interface VerifiedSignature {
  kind: SignatureKind;
  source: SignatureSource;
  /** The manifest digest the signature covers. */
  digest: string;
  /** "key sha256:ab12…" (key fingerprint), "CN=release signer" (certificate subject), "issuer / subject". */
  signer: string;
}

export interface SignatureProblem {
  kind: SignatureKind;
  source: SignatureSource;
  /** One line: what was wrong with this signature. */
  message: string;
}

/**
 * verified: at least one signature verified with a trusted key, certificate or identity;
 * failed: signatures exist but none verified; missing: no signature at all;
 * unchecked: the registry could not be asked (the reason is in `problems`).
 */
export type SignatureStatus = "verified" | "failed" | "missing" | "unchecked";

export interface SignatureFacts {
  status: SignatureStatus;
  /** The digests looked up (what the reference resolved to; also the platform manifest when it differs). */
  digests: string[];
  verified: VerifiedSignature[];
  problems: SignatureProblem[];
}
