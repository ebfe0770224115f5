import { createHash, verify, X509Certificate, type KeyObject } from "node:crypto";
import { validAt } from "./validity.js";

/**
 * RFC 3161 timestamp countersignatures as the Notary Project attaches them to a signature
 * (`io.cncf.notary.timestampSignature`: a DER TimeStampToken, i.e. a CMS ContentInfo holding
 * SignedData over a TSTInfo; RFC 3161 §2.4.2, RFC 5652). Only what verification needs is read, with
 * a small DER reader: every length is bounds-checked and any structural surprise is a one-line refusal.
 */

interface Node {
  tag: number;
  /** The whole element (tag, length and content), e.g. for hashing a certificate or re-tagging. */
  element: Buffer;
  content: Buffer;
}

class DerError extends Error {}

function readNode(buffer: Buffer, offset: number): Node {
  if (offset + 2 > buffer.length) throw new DerError("truncated");
  const tag = buffer[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError("high tag numbers are not used here");
  let length = buffer[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || offset + 2 + octets > buffer.length) throw new DerError("bad length");
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + buffer[offset + 2 + i]!;
    header += octets;
  }
  const end = offset + header + length;
  if (end > buffer.length) throw new DerError("truncated");
  return { tag, element: buffer.subarray(offset, end), content: buffer.subarray(offset + header, end) };
}

function children(node: Node): Node[] {
  const nodes: Node[] = [];
  for (let offset = 0; offset < node.content.length;) {
    const child = readNode(node.content, offset);
    nodes.push(child);
    offset += child.element.length;
  }
  return nodes;
}

function expect(node: Node | undefined, tag: number): Node {
  if (!node || node.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}`);
  return node;
}

function oid(node: Node | undefined): string {
  const bytes = expect(node, 0x06).content;
  if (bytes.length === 0) throw new DerError("empty OID");
  const parts: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift()!;
  return [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80, ...parts].join(".");
}

function integer(node: Node): number {
  let value = 0;
  for (const byte of node.content) value = value * 256 + byte;
  return value;
}

/** GeneralizedTime `YYYYMMDDHHMMSS[.fff]Z` (RFC 3161 requires UTC with the Z). */
function generalizedTime(node: Node | undefined): Date {
  const text = expect(node, 0x18).content.toString("ascii");
  const match = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\.\d+)?Z$/.exec(text);
  if (!match) throw new DerError("genTime is not a UTC GeneralizedTime");
  const [, y, mo, d, h, mi, s, fraction] = match;
  const millis = fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0;
  return new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), millis));
}

const OID_SIGNED_DATA = "1.2.840.113549.1.7.2";
const OID_TST_INFO = "1.2.840.113549.1.9.16.1.4";
const OID_CONTENT_TYPE = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4";
const OID_SIGNING_CERTIFICATE = "1.2.840.113549.1.9.16.2.12";
const OID_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47";
const EKU_TIME_STAMPING = "1.3.6.1.5.5.7.3.8";

const HASHES: Record<string, string> = {
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

/** CMS signature algorithms a TSA signs with: RSA PKCS#1 v1.5 (bare or with its hash) and ECDSA. */
const SIGNATURES: Record<string, { ecdsa: boolean; hash?: string }> = {
  "1.2.840.113549.1.1.1": { ecdsa: false },
  "1.2.840.113549.1.1.11": { ecdsa: false, hash: "sha256" },
  "1.2.840.113549.1.1.12": { ecdsa: false, hash: "sha384" },
  "1.2.840.113549.1.1.13": { ecdsa: false, hash: "sha512" },
  "1.2.840.10045.4.3.2": { ecdsa: true, hash: "sha256" },
  "1.2.840.10045.4.3.3": { ecdsa: true, hash: "sha384" },
  "1.2.840.10045.4.3.4": { ecdsa: true, hash: "sha512" },
};

function hashOf(algorithm: Node | undefined): string {
  const name = HASHES[oid(children(expect(algorithm, 0x30))[0])];
  if (!name) throw new DerError("the hash algorithm is not SHA-256/384/512");
  return name;
}

export type TimestampCheck = { ok: true; genTime: Date; accuracyMs: number } | { ok: false; message: string };

interface TimestampAuthorities {
  certificates: X509Certificate[];
}

/** The path from the TSA's certificate to a certificate of `store`, through the token's certificates. */
function chainsToStore(signer: X509Certificate, embedded: X509Certificate[], store: TimestampAuthorities, at: Date) {
  let current = signer;
  for (let depth = 0; depth < 8; depth++) {
    if (!validAt(current, at)) return "a certificate of the timestamp authority was not valid at the timestamp's time";
    if (store.certificates.some((trusted) => trusted.fingerprint256 === current.fingerprint256)) return undefined;
    const issuedBy = (issuer: X509Certificate) =>
      issuer.ca && current.checkIssued(issuer) && current.verify(issuer.publicKey);
    if (store.certificates.some(issuedBy)) return undefined;
    const next = embedded.find((cert) => cert !== current && issuedBy(cert));
    if (!next) break;
    current = next;
  }
  return "the timestamp authority's certificate does not chain to timestampAuthorities";
}

/**
 * Verifies `token` as a timestamp of `signature` (trust-store-trust-policy.md, "Validate Trusted
 * Timestamp"): the TSTInfo's message imprint is the hash of the signature; the SignedData's message
 * digest attribute is the hash of the TSTInfo; the signed attributes verify with the key of an embedded
 * certificate that the signing-certificate(-v2) attribute names; that certificate is for time stamping,
 * was valid at genTime and chains to `store`. Returns genTime and the accuracy (RFC 3161 §2.4.2).
 */
export function verifyTimestamp(token: Buffer, signature: Buffer, store: TimestampAuthorities): TimestampCheck {
  try {
    return checkToken(token, signature, store);
  } catch (error) {
    const reason = error instanceof DerError ? error.message : "malformed";
    return { ok: false, message: `the timestamp is not a readable RFC 3161 TimeStampToken (${reason})` };
  }
}

function checkToken(token: Buffer, signature: Buffer, store: TimestampAuthorities): TimestampCheck {
  const fail = (message: string): TimestampCheck => ({ ok: false, message: `the timestamp ${message}` });
  const contentInfo = readNode(token, 0);
  if (contentInfo.element.length !== token.length) throw new DerError("trailing bytes");
  const [contentType, wrapped] = children(expect(contentInfo, 0x30));
  if (oid(contentType) !== OID_SIGNED_DATA) throw new DerError("not CMS SignedData");
  const signedData = children(expect(children(expect(wrapped, 0xa0))[0], 0x30));
  const encapsulated = children(expect(signedData[2], 0x30));
  if (oid(encapsulated[0]) !== OID_TST_INFO) throw new DerError("the content is not a TSTInfo");
  const tstInfoBytes = expect(children(expect(encapsulated[1], 0xa0))[0], 0x04).content;
  const tstInfo = children(expect(readNode(tstInfoBytes, 0), 0x30));
  const imprint = children(expect(tstInfo[2], 0x30));
  const imprintHash = hashOf(imprint[0]);
  if (!createHash(imprintHash).update(signature).digest().equals(expect(imprint[1], 0x04).content)) {
    return fail("is for other data (its message imprint is not the hash of this signature)");
  }
  const genTime = generalizedTime(tstInfo[4]);
  const accuracyNode = tstInfo[5]?.tag === 0x30 ? tstInfo[5] : undefined;
  let accuracyMs = 0;
  for (const part of accuracyNode ? children(accuracyNode) : []) {
    if (part.tag === 0x02) accuracyMs += integer(part) * 1000;
    else if (part.tag === 0x80) accuracyMs += integer(part);
    else if (part.tag === 0x81) accuracyMs += integer(part) / 1000;
  }

  const certificates = signedData
    .filter((node) => node.tag === 0xa0)
    .flatMap((node) => children(node))
    .filter((node) => node.tag === 0x30)
    .map((node) => ({ der: node.element, cert: new X509Certificate(node.element) }));
  const signerInfos = expect(signedData[signedData.length - 1], 0x31);
  const signerInfo = children(expect(children(signerInfos)[0], 0x30));
  const digestAlgorithm = hashOf(signerInfo[2]);
  const signedAttributes = expect(signerInfo[3], 0xa0);
  const signatureAlgorithm = SIGNATURES[oid(children(expect(signerInfo[4], 0x30))[0])];
  if (!signatureAlgorithm) return fail("is signed with an algorithm other than RSA PKCS#1 v1.5 or ECDSA");
  const signatureValue = expect(signerInfo[5], 0x04).content;

  const attributes = new Map<string, Node>();
  for (const attribute of children(signedAttributes)) {
    const [type, values] = children(expect(attribute, 0x30));
    attributes.set(oid(type), children(expect(values, 0x31))[0]!);
  }
  if (attributes.has(OID_CONTENT_TYPE) && oid(attributes.get(OID_CONTENT_TYPE)) !== OID_TST_INFO) {
    return fail("names another content type in its signed attributes");
  }
  const messageDigest = expect(attributes.get(OID_MESSAGE_DIGEST), 0x04).content;
  if (!createHash(digestAlgorithm).update(tstInfoBytes).digest().equals(messageDigest)) {
    return fail("signature does not cover its TSTInfo (message digest mismatch)");
  }
  // The signed attributes are signed as a SET OF (tag 0x31), not as the [0] IMPLICIT they are stored in.
  const signedBytes = Buffer.from(signedAttributes.element);
  signedBytes[0] = 0x31;
  const verifies = (key: KeyObject) => {
    try {
      return verify(signatureAlgorithm.hash ?? digestAlgorithm, signedBytes, key, signatureValue);
    } catch {
      return false;
    }
  };
  const signer = certificates.find(({ cert }) => verifies(cert.publicKey));
  if (!signer) return fail("signature does not verify with a certificate it carries");
  // The signer identifier (issuerAndSerialNumber) must be that certificate's issuer and serial number.
  const [issuer, serial] = children(expect(signerInfo[1], 0x30));
  const tbs = children(expect(children(expect(readNode(signer.der, 0), 0x30))[0], 0x30));
  const [certSerial, , certIssuer] = tbs[0]?.tag === 0xa0 ? tbs.slice(1) : tbs;
  if (!issuer?.element.equals(certIssuer!.element) || !serial?.element.equals(certSerial!.element)) {
    return fail("signer identifier does not name the certificate that signed it");
  }

  // signing-certificate-v2 (hash algorithm default SHA-256) or v1 (SHA-1) must name that certificate.
  const essV2 = attributes.get(OID_SIGNING_CERTIFICATE_V2);
  const essV1 = attributes.get(OID_SIGNING_CERTIFICATE);
  const certId = (essV2 ?? essV1) && children(expect(children(expect(essV2 ?? essV1, 0x30))[0], 0x30))[0];
  if (!certId) return fail("names no signing certificate (ESS signing-certificate attribute)");
  const idParts = children(expect(certId, 0x30));
  const [idHash, idValue] =
    essV2 && idParts[0]?.tag === 0x30 ? [hashOf(idParts[0]), idParts[1]] : [essV2 ? "sha256" : "sha1", idParts[0]];
  if (!createHash(idHash).update(signer.der).digest().equals(expect(idValue, 0x04).content)) {
    return fail("signing-certificate attribute does not name the certificate that signed it");
  }
  const purposes = signer.cert.keyUsage;
  if (!Array.isArray(purposes) || !purposes.includes(EKU_TIME_STAMPING)) {
    return fail("authority's certificate is not for time stamping (extended key usage)");
  }
  const chainProblem = chainsToStore(
    signer.cert,
    certificates.map(({ cert }) => cert),
    store,
    genTime,
  );
  if (chainProblem) return { ok: false, message: chainProblem };
  return { ok: true, genTime, accuracyMs };
}
