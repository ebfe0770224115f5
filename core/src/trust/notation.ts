import { constants, verify, X509Certificate, type KeyObject } from "node:crypto";
import {
  COSE_ALG,
  COSE_CONTENT_TYPE,
  COSE_CRIT,
  COSE_X5CHAIN,
  coseAlgorithm,
  coseBytes,
  coseCertificates,
  coseTime,
  coseToBeSigned,
  decodeCoseSign1,
  type CoseLabel,
} from "./cose.js";
import { verifyTimestamp } from "./timestamp.js";
import { validThroughout } from "./validity.js";

/** artifactType of Notation signatures (Notary Project signature specification). */
export const NOTATION_ARTIFACT_TYPE = "application/vnd.cncf.notary.signature";
/** The JWS envelope's media type (signature-envelope-jws.md). */
export const NOTATION_JWS = "application/jose+json";
/** The COSE_Sign1 envelope's media type (signature-envelope-cose.md). */
export const NOTATION_COSE = "application/cose";
const NOTATION_PAYLOAD_TYPE = "application/vnd.cncf.notary.payload.v1+json";

const SIGNING_SCHEME = "io.cncf.notary.signingScheme";
const SIGNING_TIME = "io.cncf.notary.signingTime";
const AUTHENTIC_SIGNING_TIME = "io.cncf.notary.authenticSigningTime";
const EXPIRY = "io.cncf.notary.expiry";
const TIMESTAMP_SIGNATURE = "io.cncf.notary.timestampSignature";
/** The critical headers a verifier must understand; signingScheme is always among them. */
const KNOWN_CRITICAL = new Set<CoseLabel>([SIGNING_SCHEME, AUTHENTIC_SIGNING_TIME, EXPIRY]);
const X509 = "notary.x509";
const SIGNING_AUTHORITY = "notary.x509.signingAuthority";
const CODE_SIGNING_EKU = "1.3.6.1.5.5.7.3.3";

export type NotationCheck = { ok: true; signer: string } | { ok: false; message: string };

export interface TrustStore {
  certificates: X509Certificate[];
}

/** The Notary Project's trust store types: CAs and TSAs (`notary.x509`), and signing authorities. */
export interface NotationTrust {
  ca: TrustStore;
  signingAuthority: TrustStore;
  /** Timestamp authorities whose RFC 3161 countersignatures are trusted (none: timestamps are ignored). */
  tsa?: TrustStore;
}

/** The descriptor of the manifest the signature must name (what the registry serves for the digest). */
export interface NotationTarget {
  digest: string;
  mediaType: string;
  size: number;
}

export function parseTrustStore(pems: string[], where: string, field = "certificates"): TrustStore {
  const certificates = pems.flatMap((pem, index) => {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw new Error(`${where}.${field}[${index}] holds no PEM certificate`);
    return blocks.map((block) => {
      try {
        return new X509Certificate(block);
      } catch {
        throw new Error(`${where}.${field}[${index}] is not a readable X.509 certificate`);
      }
    });
  });
  return { certificates };
}

/** One envelope, JWS or COSE, reduced to what the Notary Project's verification steps read. */
interface Envelope {
  format: "JWS" | "COSE";
  /** The JOSE name of an allowed algorithm, or undefined for anything else. */
  alg: string | undefined;
  protectedNames: Set<CoseLabel>;
  crit: unknown;
  cty: unknown;
  signingScheme: unknown;
  signingTime: Date | null | undefined;
  authenticSigningTime: Date | null | undefined;
  expiry: Date | null | undefined;
  chain: Buffer[] | undefined;
  /** The unprotected RFC 3161 TimeStampToken over the signature; `null` when present but not bytes. */
  timestamp: Buffer | null | undefined;
  payload: Buffer;
  /** The bytes the signature covers (JWS signing input, COSE ToBeSigned). */
  signed: Buffer;
  signature: Buffer;
}

type Parsed = Envelope | { problem: string };

/** RFC 3339 date-time of a JWS header; `null` when present but unreadable. */
function jwsTime(value: unknown): Date | null | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

const JWS_ALGORITHMS = new Set(["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]);

function parseJws(bytes: Buffer): Parsed {
  let jws: {
    payload?: unknown;
    protected?: unknown;
    signature?: unknown;
    header?: { x5c?: unknown; [TIMESTAMP_SIGNATURE]?: unknown };
  };
  try {
    jws = JSON.parse(bytes.toString("utf8")) as typeof jws;
  } catch {
    return { problem: "the JWS envelope is not JSON" };
  }
  if (typeof jws?.payload !== "string" || typeof jws.protected !== "string" || typeof jws.signature !== "string") {
    return { problem: "the JWS envelope lacks payload, protected or signature" };
  }
  const x5c = jws.header?.x5c;
  const timestamp = jws.header?.[TIMESTAMP_SIGNATURE];
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(jws.protected, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    return { problem: "the JWS protected header is not base64url JSON" };
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) {
    return { problem: "the JWS protected header is not a JSON object" };
  }
  const alg = typeof header["alg"] === "string" && JWS_ALGORITHMS.has(header["alg"]) ? header["alg"] : undefined;
  return {
    format: "JWS",
    alg,
    protectedNames: new Set(Object.keys(header)),
    crit: header["crit"],
    cty: header["cty"],
    signingScheme: header[SIGNING_SCHEME],
    signingTime: jwsTime(header[SIGNING_TIME]),
    authenticSigningTime: jwsTime(header[AUTHENTIC_SIGNING_TIME]),
    expiry: jwsTime(header[EXPIRY]),
    chain:
      Array.isArray(x5c) && x5c.length > 0 && x5c.every((cert) => typeof cert === "string")
        ? x5c.map((cert: string) => Buffer.from(cert, "base64"))
        : undefined,
    timestamp:
      timestamp === undefined ? undefined : typeof timestamp === "string" ? Buffer.from(timestamp, "base64") : null,
    payload: Buffer.from(jws.payload, "base64url"),
    signed: Buffer.from(`${jws.protected}.${jws.payload}`, "ascii"),
    signature: Buffer.from(jws.signature, "base64url"),
  };
}

function parseCose(bytes: Buffer): Parsed {
  const message = decodeCoseSign1(bytes);
  if ("problem" in message) return message;
  const header = message.protectedHeader;
  return {
    format: "COSE",
    alg: coseAlgorithm(header.get(COSE_ALG)),
    protectedNames: new Set(header.keys()),
    crit: header.get(COSE_CRIT),
    cty: header.get(COSE_CONTENT_TYPE),
    signingScheme: header.get(SIGNING_SCHEME),
    signingTime: coseTime(header.get(SIGNING_TIME)),
    authenticSigningTime: coseTime(header.get(AUTHENTIC_SIGNING_TIME)),
    expiry: coseTime(header.get(EXPIRY)),
    // x5chain normally travels unprotected; the specification allows it in the protected header too.
    chain: coseCertificates(header.get(COSE_X5CHAIN) ?? message.unprotectedHeader.get(COSE_X5CHAIN)),
    timestamp: coseBytes(message.unprotectedHeader.get(TIMESTAMP_SIGNATURE)),
    payload: Buffer.from(message.payload),
    signed: coseToBeSigned(message),
    signature: Buffer.from(message.signature),
  };
}

/** How node:crypto verifies an allowed algorithm, and the key it requires (no algorithm substitution). */
const ALGORITHMS: Record<string, { hash: string; pss?: number; curve?: string; modulus?: number }> = {
  PS256: { hash: "sha256", pss: 32, modulus: 2048 },
  PS384: { hash: "sha384", pss: 48, modulus: 3072 },
  PS512: { hash: "sha512", pss: 64, modulus: 4096 },
  ES256: { hash: "sha256", curve: "prime256v1" },
  ES384: { hash: "sha384", curve: "secp384r1" },
  ES512: { hash: "sha512", curve: "secp521r1" },
};

function keyFits(alg: string, key: KeyObject): boolean {
  const how = ALGORITHMS[alg]!;
  const details = key.asymmetricKeyDetails;
  if (how.curve) return key.asymmetricKeyType === "ec" && details?.namedCurve === how.curve;
  return (
    (key.asymmetricKeyType === "rsa" || key.asymmetricKeyType === "rsa-pss") && details?.modulusLength === how.modulus
  );
}

function signatureVerifies(envelope: Envelope, key: KeyObject): boolean {
  const how = ALGORITHMS[envelope.alg!]!;
  try {
    return how.curve
      ? verify(how.hash, envelope.signed, { key, dsaEncoding: "ieee-p1363" }, envelope.signature)
      : verify(
          how.hash,
          envelope.signed,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: how.pss! },
          envelope.signature,
        );
  } catch {
    return false;
  }
}

/** crit must list signingScheme, only parameters Stowaway understands, each present, and every critical one present. */
function critProblem(envelope: Envelope): string | undefined {
  const crit = envelope.crit;
  if (!Array.isArray(crit) || crit.length === 0) return "the protected header has no crit list";
  if (!crit.includes(SIGNING_SCHEME)) return `the protected header's crit does not list ${SIGNING_SCHEME}`;
  for (const name of crit as unknown[]) {
    if (!KNOWN_CRITICAL.has(name as CoseLabel)) {
      const shown = typeof name === "string" && /^[\w.-]{1,64}$/.test(name) ? name : "a parameter";
      return `the protected header's crit lists ${shown}, which Stowaway does not understand`;
    }
    if (!envelope.protectedNames.has(name as CoseLabel)) return `crit lists ${String(name)}, but the header lacks it`;
  }
  for (const name of [AUTHENTIC_SIGNING_TIME, EXPIRY]) {
    if (envelope.protectedNames.has(name) && !crit.includes(name)) return `${name} is present but not marked critical`;
  }
  return undefined;
}

function describe(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ", ");
}

/** Chain order, CA flags and the leaf's purpose (signature-specification.md, certificate requirements). */
function chainProblem(chain: X509Certificate[]): string | undefined {
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.checkIssued(chain[i + 1]!) || !chain[i]!.verify(chain[i + 1]!.publicKey)) {
      return "the certificate chain is broken (each certificate must be issued by the next)";
    }
    if (!chain[i + 1]!.ca) return "a certificate that issues another in the chain is not a CA";
  }
  const leaf = chain[0]!;
  if (leaf.ca) return "the signing certificate is a CA certificate";
  const purposes = leaf.keyUsage;
  if (Array.isArray(purposes) && purposes.length > 0 && !purposes.includes(CODE_SIGNING_EKU)) {
    return "the signing certificate is not for code signing (extended key usage)";
  }
  return undefined;
}

function anchored(chain: X509Certificate[], store: TrustStore): boolean {
  const last = chain[chain.length - 1]!;
  return store.certificates.some((trusted) => {
    if (chain.some((cert) => cert.fingerprint256 === trusted.fingerprint256)) return true;
    try {
      return trusted.ca && last.checkIssued(trusted) && last.verify(trusted.publicKey);
    } catch {
      return false;
    }
  });
}

/** The payload's targetArtifact must be the manifest's descriptor: digest, media type and size. */
function targetProblem(payload: Buffer, target: NotationTarget): string | undefined {
  let parsed: { targetArtifact?: { digest?: unknown; mediaType?: unknown; size?: unknown } };
  try {
    parsed = JSON.parse(payload.toString("utf8")) as typeof parsed;
  } catch {
    return "the signed payload is not JSON";
  }
  const artifact = parsed?.targetArtifact;
  if (!artifact || typeof artifact !== "object") return "the signed payload has no targetArtifact";
  if (artifact.digest !== target.digest) return `the signature covers another artifact, not ${target.digest}`;
  if (artifact.mediaType !== target.mediaType) {
    return `the signed media type is not the manifest's (${target.mediaType})`;
  }
  if (artifact.size !== target.size) return `the signed size is not the manifest's (${target.size} bytes)`;
  return undefined;
}

/**
 * Verifies a Notation signature envelope, JWS (`application/jose+json`) or COSE_Sign1
 * (`application/cose`), for the manifest `target` (docs/trust.md §3.2), following the Notary Project's
 * verification steps: integrity (content type, critical headers, an allowed `alg` that fits the signing
 * key, the signature), authenticity (a well-formed chain to a certificate of the trust store the signing
 * scheme names: `certificates` for notary.x509, `signingAuthorities` for notary.x509.signingAuthority),
 * expiry, the certificates' validity at the trusted time (for notary.x509, whose signingTime is
 * unauthenticated: the range of an RFC 3161 timestamp from a trusted TSA, else now; the authentic
 * signing time for a signing authority), and the signed target.
 */
export function verifyNotationEnvelope(
  mediaType: string,
  bytes: Buffer,
  target: NotationTarget,
  trust: NotationTrust,
  now: Date,
): NotationCheck {
  const fail = (message: string): NotationCheck => ({ ok: false, message });
  if (trust.ca.certificates.length === 0 && trust.signingAuthority.certificates.length === 0) {
    return fail("no trust store certificate is configured for this repository");
  }
  const parsed = mediaType === NOTATION_COSE ? parseCose(bytes) : parseJws(bytes);
  if ("problem" in parsed) return fail(parsed.problem);
  const envelope = parsed;
  const { format } = envelope;
  if (envelope.cty !== NOTATION_PAYLOAD_TYPE) return fail(`the ${format} content type is not ${NOTATION_PAYLOAD_TYPE}`);
  const crit = critProblem(envelope);
  if (crit) return fail(crit);
  if (!envelope.alg) return fail(`the ${format} envelope uses an algorithm the Notary Project does not allow`);
  if (!envelope.chain)
    return fail(`the ${format} envelope has no ${format === "JWS" ? "x5c" : "x5chain"} certificate chain`);
  let chain: X509Certificate[];
  let leafKey: KeyObject;
  try {
    chain = envelope.chain.map((der) => new X509Certificate(der));
    // Reading every key now: a certificate whose key does not decode must not throw in the checks below.
    [leafKey] = chain.map((cert) => cert.publicKey) as [KeyObject];
  } catch {
    return fail("a certificate of the envelope's chain is not readable X.509");
  }
  const leaf = chain[0]!;
  if (!keyFits(envelope.alg, leafKey)) {
    return fail(`the envelope's alg ${envelope.alg} does not fit the signing certificate's key`);
  }
  if (!signatureVerifies(envelope, leafKey)) {
    return fail(`the ${format} signature does not verify with the certificate's key (altered payload?)`);
  }

  let store: TrustStore;
  /** The trusted time (a range, for a timestamp's accuracy) every certificate must have been valid in. */
  let from: Date;
  let to: Date;
  let when: string;
  let role = "";
  if (envelope.signingScheme === X509) {
    if (!(envelope.signingTime instanceof Date)) return fail(`${SIGNING_TIME} is missing or not a date`);
    if (envelope.authenticSigningTime !== undefined)
      return fail(`${AUTHENTIC_SIGNING_TIME} is only valid for ${SIGNING_AUTHORITY}`);
    // signingTime is the signer's own claim, not a trusted time. A timestamp countersignature from a
    // configured TSA gives the trusted time; without one (or without TSAs) certificates must be valid now.
    store = trust.ca;
    [from, to, when] = [now, now, "now"];
    const tsa = trust.tsa?.certificates.length ? trust.tsa : undefined;
    if (tsa && envelope.timestamp !== undefined) {
      if (envelope.timestamp === null) return fail(`${TIMESTAMP_SIGNATURE} is not a byte string`);
      const stamped = verifyTimestamp(envelope.timestamp, envelope.signature, tsa);
      if (!stamped.ok) return fail(stamped.message);
      from = new Date(stamped.genTime.getTime() - stamped.accuracyMs);
      to = new Date(stamped.genTime.getTime() + stamped.accuracyMs);
      when = `at the timestamp's time (${stamped.genTime.toISOString()})`;
    }
  } else if (envelope.signingScheme === SIGNING_AUTHORITY) {
    if (!(envelope.authenticSigningTime instanceof Date)) {
      return fail(`${AUTHENTIC_SIGNING_TIME} is missing or not a date (required by ${SIGNING_AUTHORITY})`);
    }
    store = trust.signingAuthority;
    [from, to, when] = [envelope.authenticSigningTime, envelope.authenticSigningTime, "at the authentic signing time"];
    role = " (signing authority)";
  } else {
    return fail(`the signing scheme is not ${X509} or ${SIGNING_AUTHORITY}`);
  }
  let structure: string | undefined;
  try {
    structure = chainProblem(chain);
  } catch {
    structure = "the certificate chain could not be checked (a certificate is malformed)";
  }
  if (structure) return fail(structure);
  if (store.certificates.length === 0) {
    return fail(
      `the signature uses ${envelope.signingScheme}, but no ${store === trust.ca ? "certificates" : "signingAuthorities"} are configured for this repository`,
    );
  }
  if (!anchored(chain, store)) {
    return fail(
      `the signing certificate does not chain to the ${store === trust.ca ? "trust store" : "signing authority store"}`,
    );
  }
  if (envelope.expiry === null) return fail(`${EXPIRY} is not a date`);
  if (envelope.expiry && now > envelope.expiry)
    return fail(`the signature expired at ${envelope.expiry.toISOString()}`);
  if (!chain.every((cert) => validThroughout(cert, from, to))) {
    return fail(
      when === "now"
        ? "a certificate of the chain is not valid now (expired or not yet valid)"
        : `a certificate of the chain was not valid ${when}`,
    );
  }
  const wrongTarget = targetProblem(envelope.payload, target);
  if (wrongTarget) return fail(wrongTarget);
  return { ok: true, signer: `${describe(leaf)}${role}` };
}
