import { constants, createPublicKey, verify, X509Certificate } from "node:crypto";

/** artifactType of Notation signatures (Notary Project signature specification). */
export const NOTATION_ARTIFACT_TYPE = "application/vnd.cncf.notary.signature";
/** The JWS envelope's media type; COSE envelopes ("application/cose") are not read yet. */
export const NOTATION_JWS = "application/jose+json";
const NOTATION_PAYLOAD_TYPE = "application/vnd.cncf.notary.payload.v1+json";

export type NotationCheck = { ok: true; signer: string } | { ok: false; message: string };

export interface TrustStore {
  certificates: X509Certificate[];
}

export function parseTrustStore(pems: string[], where: string): TrustStore {
  const certificates = pems.flatMap((pem, index) => {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw new Error(`${where}.certificates[${index}] holds no PEM certificate`);
    return blocks.map((block) => {
      try {
        return new X509Certificate(block);
      } catch {
        throw new Error(`${where}.certificates[${index}] is not a readable X.509 certificate`);
      }
    });
  });
  return { certificates };
}

function base64url(text: string): Buffer {
  return Buffer.from(text, "base64url");
}

/** JWS `alg` → how node:crypto verifies it (Notary Project allows PS256/384/512 and ES256/384/512). */
function verifier(alg: string): { hash: string; pss?: number; ecdsa?: true } | undefined {
  switch (alg) {
    case "PS256":
      return { hash: "sha256", pss: 32 };
    case "PS384":
      return { hash: "sha384", pss: 48 };
    case "PS512":
      return { hash: "sha512", pss: 64 };
    case "ES256":
      return { hash: "sha256", ecdsa: true };
    case "ES384":
      return { hash: "sha384", ecdsa: true };
    case "ES512":
      return { hash: "sha512", ecdsa: true };
    default:
      return undefined;
  }
}

function withinValidity(cert: X509Certificate, at: Date): boolean {
  return new Date(cert.validFrom) <= at && at <= new Date(cert.validTo);
}

/**
 * Verifies a Notation JWS envelope (flattened JSON serialization) for `digest`: the certificate
 * chain in the unprotected `x5c` header chains to a certificate of the trust store, every certificate
 * is valid at the signing time, the signature verifies with the leaf key, and the payload's
 * `targetArtifact.digest` is the image.
 */
export function verifyNotationEnvelope(envelope: Buffer, digest: string, store: TrustStore, now: Date): NotationCheck {
  if (store.certificates.length === 0)
    return { ok: false, message: "no trust store certificate is configured for this repository" };
  let jws: { payload?: unknown; protected?: unknown; signature?: unknown; header?: { x5c?: unknown } };
  try {
    jws = JSON.parse(envelope.toString("utf8")) as typeof jws;
  } catch {
    return { ok: false, message: "the JWS envelope is not JSON" };
  }
  if (typeof jws.payload !== "string" || typeof jws.protected !== "string" || typeof jws.signature !== "string") {
    return { ok: false, message: "the JWS envelope lacks payload, protected or signature" };
  }
  const x5c = jws.header?.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((c) => typeof c === "string")) {
    return { ok: false, message: "the JWS envelope has no x5c certificate chain" };
  }
  let header: Record<string, unknown>;
  let payload: { targetArtifact?: { digest?: unknown } };
  try {
    header = JSON.parse(base64url(jws.protected).toString("utf8")) as Record<string, unknown>;
    payload = JSON.parse(base64url(jws.payload).toString("utf8")) as typeof payload;
  } catch {
    return { ok: false, message: "the JWS protected header or payload is not base64url JSON" };
  }
  const how = verifier(String(header["alg"]));
  if (!how) return { ok: false, message: "the JWS uses an algorithm the Notary Project does not allow" };
  if (header["cty"] !== NOTATION_PAYLOAD_TYPE)
    return { ok: false, message: `the JWS content type is not ${NOTATION_PAYLOAD_TYPE}` };

  let chain: X509Certificate[];
  try {
    chain = (x5c as string[]).map((der) => new X509Certificate(Buffer.from(der, "base64")));
  } catch {
    return { ok: false, message: "a certificate in x5c is not readable X.509" };
  }
  const signingTime =
    typeof header["io.cncf.notary.signingTime"] === "string" ? new Date(header["io.cncf.notary.signingTime"]) : now;
  const at = Number.isNaN(signingTime.getTime()) ? now : signingTime;
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.checkIssued(chain[i + 1]!) || !chain[i]!.verify(chain[i + 1]!.publicKey)) {
      return { ok: false, message: "the x5c certificate chain is broken" };
    }
  }
  const last = chain[chain.length - 1]!;
  const anchored = store.certificates.some(
    (trusted) =>
      trusted.fingerprint256 === last.fingerprint256 || (last.checkIssued(trusted) && last.verify(trusted.publicKey)),
  );
  if (!anchored) return { ok: false, message: "the signing certificate does not chain to the trust store" };
  if (!chain.every((cert) => withinValidity(cert, at))) {
    return { ok: false, message: "a certificate of the chain was not valid at the signing time" };
  }
  const leaf = chain[0]!;
  const key = createPublicKey(leaf.publicKey.export({ type: "spki", format: "pem" }));
  const signed = Buffer.from(`${jws.protected}.${jws.payload}`, "ascii");
  const signature = base64url(jws.signature);
  let good = false;
  try {
    good = how.ecdsa
      ? verify(how.hash, signed, { key, dsaEncoding: "ieee-p1363" }, signature)
      : verify(how.hash, signed, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: how.pss! }, signature);
  } catch {
    good = false;
  }
  if (!good)
    return { ok: false, message: "the JWS signature does not verify with the certificate's key (altered payload?)" };
  if (payload?.targetArtifact?.digest !== digest) {
    return { ok: false, message: `the signature covers another artifact, not ${digest}` };
  }
  return { ok: true, signer: leaf.subject.replace(/\n/g, ", ") };
}
