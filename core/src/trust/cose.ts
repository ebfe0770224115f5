import { decode, encode, Tagged } from "cborg";

/**
 * COSE_Sign1 (RFC 9052 §4.2) as the Notary Project's COSE envelope uses it: the tagged message
 * `18([protected: bstr, unprotected: map, payload: bstr, signature: bstr])`. Decoding is strict
 * (no indefinite lengths, no duplicate map keys, no `undefined`, only tags 18 and 1), because the
 * bytes come from a registry and the protected header is what the signature covers.
 */

/** COSE_Sign1_Tagged. */
const COSE_SIGN1_TAG = 18;
/** Epoch-based date/time (RFC 8949 §3.4.2): Notary Project signing times and expiry. */
const EPOCH_TIME_TAG = 1;

/** Header labels of the IANA COSE registry that the Notary Project uses. */
export const COSE_ALG = 1;
export const COSE_CRIT = 2;
export const COSE_CONTENT_TYPE = 3;
export const COSE_X5CHAIN = 33;

/** COSE `alg` values the Notary Project allows, by their JOSE names (signature-envelope-cose.md). */
const COSE_ALGORITHMS = new Map<number, string>([
  [-37, "PS256"],
  [-38, "PS384"],
  [-39, "PS512"],
  [-7, "ES256"],
  [-35, "ES384"],
  [-36, "ES512"],
]);

export type CoseLabel = number | string;

export interface CoseSign1 {
  /** The protected header bytes exactly as received: Sig_structure signs these, not a re-encoding. */
  protectedBytes: Uint8Array;
  protectedHeader: Map<CoseLabel, unknown>;
  unprotectedHeader: Map<CoseLabel, unknown>;
  payload: Uint8Array;
  signature: Uint8Array;
}

const STRICT = {
  useMaps: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
} as const;

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

function isHeaderMap(value: unknown): value is Map<CoseLabel, unknown> {
  return value instanceof Map && [...value.keys()].every((key) => typeof key === "number" || typeof key === "string");
}

/** Parses a COSE_Sign1_Tagged message; a problem is one line naming what is wrong, never the bytes. */
export function decodeCoseSign1(bytes: Uint8Array): CoseSign1 | { problem: string } {
  let message: unknown;
  try {
    message = decode(bytes, {
      ...STRICT,
      tags: { [COSE_SIGN1_TAG]: Tagged.decoder(COSE_SIGN1_TAG), [EPOCH_TIME_TAG]: Tagged.decoder(EPOCH_TIME_TAG) },
    });
  } catch {
    return {
      problem: "the COSE envelope is not well-formed CBOR (or uses indefinite lengths, duplicate keys or unknown tags)",
    };
  }
  if (!(message instanceof Tagged) || message.tag !== COSE_SIGN1_TAG) {
    return { problem: "the COSE envelope is not a COSE_Sign1_Tagged message (CBOR tag 18)" };
  }
  const parts = message.value as unknown;
  if (!Array.isArray(parts) || parts.length !== 4) {
    return { problem: "the COSE_Sign1 message is not an array of protected, unprotected, payload and signature" };
  }
  const [protectedBytes, unprotectedHeader, payload, signature] = parts as unknown[];
  if (!isBytes(protectedBytes) || protectedBytes.length === 0) {
    return { problem: "the COSE protected header is missing (it must be a non-empty byte string)" };
  }
  if (!isHeaderMap(unprotectedHeader)) return { problem: "the COSE unprotected header is not a map" };
  if (payload === null) return { problem: "the COSE payload is detached; Notary Project signatures embed it" };
  if (!isBytes(payload)) return { problem: "the COSE payload is not a byte string" };
  if (!isBytes(signature) || signature.length === 0) return { problem: "the COSE signature is not a byte string" };
  let protectedHeader: unknown;
  try {
    protectedHeader = decode(protectedBytes, {
      ...STRICT,
      tags: { [EPOCH_TIME_TAG]: Tagged.decoder(EPOCH_TIME_TAG) },
    });
  } catch {
    return { problem: "the COSE protected header is not well-formed CBOR" };
  }
  if (!isHeaderMap(protectedHeader)) return { problem: "the COSE protected header is not a map" };
  return { protectedBytes, protectedHeader, unprotectedHeader, payload, signature };
}

/** ToBeSigned: the CBOR encoding of `["Signature1", body_protected, external_aad = h'', payload]` (RFC 9052 §4.4). */
export function coseToBeSigned(message: CoseSign1): Buffer {
  return Buffer.from(encode(["Signature1", message.protectedBytes, new Uint8Array(0), message.payload]));
}

/** The JOSE name of a COSE `alg` the Notary Project allows, or undefined. */
export function coseAlgorithm(value: unknown): string | undefined {
  return typeof value === "number" ? COSE_ALGORITHMS.get(value) : undefined;
}

/** An epoch-based date/time header (`1(seconds)`); `null` when present but not one. */
export function coseTime(value: unknown): Date | null | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Tagged) || value.tag !== EPOCH_TIME_TAG || typeof value.value !== "number") return null;
  const date = new Date(value.value * 1000);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A byte string header (such as the timestamp countersignature); `null` when present but not one. */
export function coseBytes(value: unknown): Buffer | null | undefined {
  if (value === undefined) return undefined;
  return isBytes(value) ? Buffer.from(value) : null;
}

/** x5chain (RFC 9360): one DER certificate as a byte string, or an array of them, leaf first. */
export function coseCertificates(value: unknown): Buffer[] | undefined {
  if (isBytes(value)) return [Buffer.from(value)];
  if (Array.isArray(value) && value.length > 0 && value.every(isBytes)) return value.map((der) => Buffer.from(der));
  return undefined;
}
