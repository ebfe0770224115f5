/**
 * Signs test images the way cosign and Notation do, following their published formats (cosign's
 * simple signing payload and `.sig` tag, OCI 1.1 referrers with the referrers tag schema, the Notary
 * Project JWS and COSE envelopes, Sigstore bundles), with keys made in the test by node:crypto and certificates by openssl.
 */
import { execFileSync } from "node:child_process";
import { constants, createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { encode as cborEncode, Tagged } from "cborg";
import path from "node:path";
import type { parsePolicy } from "../../src/policy/parse.js";
import type { ScanResult } from "../../src/result.js";
import { scan } from "../../src/scan.js";
import { buildImage, buildLayer, OCI_INDEX, OCI_MANIFEST, sha256, type BuiltImage } from "./image-builder.js";
import { pushBlob, pushImage, pushManifest, type PushTarget } from "./registry-push.js";

export const SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json";
export const COSIGN_SIG_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json";
export const NOTATION_ARTIFACT = "application/vnd.cncf.notary.signature";
const EMPTY_CONFIG = "application/vnd.oci.empty.v1+json";

export interface KeyPair {
  privateKey: KeyObject;
  publicPem: string;
}

/** ECDSA P-256, what `cosign generate-key-pair` makes. */
export function cosignKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return { privateKey, publicPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

export function simpleSigningPayload(dockerReference: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { "docker-reference": dockerReference },
        image: { "docker-manifest-digest": digest },
        type: "cosign container image signature",
      },
      optional: null,
    }),
  );
}

/** ECDSA over SHA-256 of the payload, ASN.1 DER, base64: the `dev.cosignproject.cosign/signature` value. */
export function cosignSignature(payload: Buffer, key: KeyObject): string {
  return sign("sha256", payload, key).toString("base64");
}

export interface SubjectDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

interface PushedArtifact {
  digest: string;
  size: number;
  body: Buffer;
}

async function pushArtifactManifest(
  target: PushTarget,
  repository: string,
  manifest: Record<string, unknown>,
  reference?: string,
): Promise<PushedArtifact> {
  const body = Buffer.from(JSON.stringify(manifest));
  const digest = await pushManifest(target, repository, reference ?? sha256(body), OCI_MANIFEST, body);
  return { digest, size: body.length, body };
}

/**
 * Adds `artifact` to the referrers tag schema index of `subject` (tag `sha256-<hex>`), as OCI 1.1
 * clients do on registries without the referrers API. Returns the index's entries.
 */
async function addReferrer(
  target: PushTarget,
  repository: string,
  subject: SubjectDescriptor,
  artifact: PushedArtifact,
  artifactType: string,
  existing: Record<string, unknown>[],
): Promise<Record<string, unknown>[]> {
  const manifests = [
    ...existing,
    { mediaType: OCI_MANIFEST, digest: artifact.digest, size: artifact.size, artifactType },
  ];
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
  await pushManifest(target, repository, subject.digest.replace(":", "-"), OCI_INDEX, index);
  return manifests;
}

export interface CosignLayer {
  payload: Buffer;
  signature: string;
}

/** Pushes a cosign signature manifest: under `sha256-<hex>.sig` ("tag") or as an OCI 1.1 referrer. */
export async function pushCosignSignature(
  target: PushTarget,
  repository: string,
  subject: SubjectDescriptor,
  layers: CosignLayer[],
  mode: "tag" | "referrers" | "referrers-api",
  referrers: Record<string, unknown>[] = [],
): Promise<Record<string, unknown>[]> {
  for (const layer of layers) await pushBlob(target, repository, layer.payload);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "",
      os: "",
      config: {},
      rootfs: { type: "layers", diff_ids: layers.map((l) => sha256(l.payload)) },
    }),
  );
  await pushBlob(target, repository, config);
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    ...(mode !== "tag" ? { artifactType: COSIGN_SIG_ARTIFACT } : {}),
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
    layers: layers.map((layer) => ({
      mediaType: SIMPLE_SIGNING,
      digest: sha256(layer.payload),
      size: layer.payload.length,
      annotations: { "dev.cosignproject.cosign/signature": layer.signature },
    })),
    ...(mode !== "tag" ? { subject } : {}),
  };
  if (mode === "tag") {
    await pushArtifactManifest(target, repository, manifest, `${subject.digest.replace(":", "-")}.sig`);
    return referrers;
  }
  const pushed = await pushArtifactManifest(target, repository, manifest);
  if (mode === "referrers-api") {
    // A registry with the referrers API lists it itself: no tag schema index is written.
    return [
      ...referrers,
      { mediaType: OCI_MANIFEST, digest: pushed.digest, size: pushed.size, artifactType: COSIGN_SIG_ARTIFACT },
    ];
  }
  return addReferrer(target, repository, subject, pushed, COSIGN_SIG_ARTIFACT, referrers);
}

export interface NotationSigner {
  /** PEM of the root CA: what goes into the trust store. */
  rootPem: string;
  leafKey: KeyObject;
  /** DER certificates, leaf first, as x5c carries them. */
  chain: Buffer[];
  /** The JOSE name of the algorithm the leaf key calls for (Notary Project algorithm selection). */
  alg: "ES256" | "ES384" | "PS256";
}

export interface NotationSignerOptions {
  /** The leaf's key: ECDSA P-256 (default), P-384 or RSA 2048. */
  key?: "ec-p256" | "ec-p384" | "rsa-2048";
  /** Issue the leaf from an intermediate CA, and carry leaf, intermediate and root in the chain. */
  intermediate?: boolean;
  /** Validity of every certificate, in days (openssl -days). */
  days?: number;
}

/** A root CA (and optionally an intermediate) and a code-signing leaf, made with the openssl CLI. */
export function notationSigner(dir: string, name = "notation", options: NotationSignerOptions = {}): NotationSigner {
  const file = (suffix: string) => path.join(dir, `${name}-${suffix}`);
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const days = String(options.days ?? 2);
  const newKey = (out: string, kind: NotationSignerOptions["key"] = "ec-p256") =>
    kind === "rsa-2048"
      ? run(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", out])
      : run(["ecparam", "-name", kind === "ec-p384" ? "secp384r1" : "prime256v1", "-genkey", "-noout", "-out", out]);
  const issue = (csrOf: string, issuer: string, out: string, extensions: string) => {
    writeFileSync(`${out}.ext`, extensions);
    run(
      ["x509", "-req", "-in", csrOf, "-CA", file(`${issuer}.pem`), "-CAkey", file(`${issuer}.key`)].concat([
        "-CAcreateserial",
        "-out",
        out,
        "-days",
        days,
        "-sha256",
        "-extfile",
        `${out}.ext`,
      ]),
    );
  };
  newKey(file("ca.key"));
  run(
    ["req", "-x509", "-new", "-key", file("ca.key"), "-out", file("ca.pem"), "-days", days]
      .concat(["-subj", `/CN=${name} test root`, "-addext", "basicConstraints=critical,CA:TRUE"])
      .concat(["-addext", "keyUsage=critical,keyCertSign"]),
  );
  let issuer = "ca";
  if (options.intermediate) {
    newKey(file("int.key"));
    run(["req", "-new", "-key", file("int.key"), "-out", file("int.csr"), "-subj", `/CN=${name} intermediate`]);
    issue(file("int.csr"), "ca", file("int.pem"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n");
    issuer = "int";
  }
  newKey(file("leaf.key"), options.key);
  run(
    ["req", "-new", "-key", file("leaf.key"), "-out", file("leaf.csr")].concat([
      "-subj",
      `/CN=${name} release signer/O=Stowaway Test`,
    ]),
  );
  issue(
    file("leaf.csr"),
    issuer,
    file("leaf.pem"),
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n",
  );
  const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
  const pem = (suffix: string) => readFileSync(file(suffix), "utf8");
  return {
    rootPem: pem("ca.pem"),
    leafKey: createPrivateKey(readFileSync(file("leaf.key"))),
    chain: options.intermediate
      ? [der(pem("leaf.pem")), der(pem("int.pem")), der(pem("ca.pem"))]
      : [der(pem("leaf.pem"))],
    alg: options.key === "rsa-2048" ? "PS256" : options.key === "ec-p384" ? "ES384" : "ES256",
  };
}

/** The signature of `alg` over `data` in the form both envelopes carry (raw r||s for ECDSA, PSS for RSA). */
function notarySign(alg: string, data: Buffer, key: KeyObject): Buffer {
  const hash = `sha${alg.slice(2)}`;
  return alg.startsWith("PS")
    ? sign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 })
    : sign(hash, data, { key, dsaEncoding: "ieee-p1363" });
}

export interface NotationEnvelopeOptions {
  /** notary.x509 (default) or notary.x509.signingAuthority. */
  scheme?: string;
  signingTime?: Date;
  /** Required by notary.x509.signingAuthority: the signing service's own trusted time. */
  authenticSigningTime?: Date;
  expiry?: Date;
  /** Replaces the crit list (default: signingScheme plus whichever of authenticSigningTime and expiry are set). */
  crit?: string[];
  /** Replaces the algorithm named in the header (the signature is still made for the key). */
  alg?: string;
  /** Signs with this key instead of the leaf's (a signer holding someone else's certificate). */
  signWith?: KeyObject;
  /** The payload's targetArtifact (default: `subject`). */
  target?: Record<string, unknown>;
  /** An RFC 3161 TimeStampToken for the signature bytes (io.cncf.notary.timestampSignature). */
  timestamp?: (signature: Buffer) => Buffer;
}

function critFor(options: NotationEnvelopeOptions): string[] {
  return (
    options.crit ?? [
      "io.cncf.notary.signingScheme",
      ...(options.authenticSigningTime ? ["io.cncf.notary.authenticSigningTime"] : []),
      ...(options.expiry ? ["io.cncf.notary.expiry"] : []),
    ]
  );
}

/** A Notary Project JWS envelope (flattened JSON) whose payload names `subject`. */
export function notationEnvelope(
  subject: SubjectDescriptor,
  signer: NotationSigner,
  signingTime = new Date(),
  options: NotationEnvelopeOptions = {},
): Buffer {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const scheme = options.scheme ?? "notary.x509";
  const protectedHeader = b64({
    alg: options.alg ?? signer.alg,
    crit: critFor(options),
    cty: "application/vnd.cncf.notary.payload.v1+json",
    "io.cncf.notary.signingScheme": scheme,
    ...(scheme === "notary.x509" ? { "io.cncf.notary.signingTime": signingTime.toISOString() } : {}),
    ...(options.authenticSigningTime
      ? { "io.cncf.notary.authenticSigningTime": options.authenticSigningTime.toISOString() }
      : {}),
    ...(options.expiry ? { "io.cncf.notary.expiry": options.expiry.toISOString() } : {}),
  });
  const payload = b64({ targetArtifact: options.target ?? subject });
  const signature = notarySign(
    signer.alg,
    Buffer.from(`${protectedHeader}.${payload}`),
    options.signWith ?? signer.leafKey,
  );
  return Buffer.from(
    JSON.stringify({
      payload,
      protected: protectedHeader,
      header: {
        x5c: signer.chain.map((cert) => cert.toString("base64")),
        "io.cncf.notary.signingAgent": "stowaway-test",
        ...(options.timestamp
          ? { "io.cncf.notary.timestampSignature": options.timestamp(signature).toString("base64") }
          : {}),
      },
      signature: signature.toString("base64url"),
    }),
  );
}

/** CBOR head of a byte string of `length` bytes (RFC 8949 §3.1, major type 2), written by hand. */
function bstrHead(length: number): Buffer {
  if (length < 24) return Buffer.from([0x40 + length]);
  if (length < 0x100) return Buffer.from([0x58, length]);
  if (length < 0x10000) return Buffer.from([0x59, length >> 8, length & 0xff]);
  const head = Buffer.alloc(5);
  head[0] = 0x5a;
  head.writeUInt32BE(length, 1);
  return head;
}

/**
 * COSE ToBeSigned for COSE_Sign1 (RFC 9052 §4.4), assembled byte by byte rather than by a CBOR
 * library, so the test does not share an encoder with the verifier:
 * `[ "Signature1", bstr protected, bstr h'', bstr payload ]`.
 */
export function coseSigStructure(protectedBytes: Buffer, payload: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([0x84, 0x6a]),
    Buffer.from("Signature1", "ascii"),
    bstrHead(protectedBytes.length),
    protectedBytes,
    Buffer.from([0x40]),
    bstrHead(payload.length),
    payload,
  ]);
}

const COSE_ALG_LABELS: Record<string, number> = {
  PS256: -37,
  PS384: -38,
  PS512: -39,
  ES256: -7,
  ES384: -35,
  ES512: -36,
};

/**
 * A Notary Project COSE envelope (signature-envelope-cose.md): `18([protected, unprotected, payload,
 * signature])` with alg/crit/cty as integer labels, the Notary headers by name, times as `1(epoch)`,
 * and x5chain (label 33) unprotected.
 */
export function notationCoseEnvelope(
  subject: SubjectDescriptor,
  signer: NotationSigner,
  options: NotationEnvelopeOptions & { tamper?: boolean } = {},
): Buffer {
  const seconds = (date: Date) => new Tagged(1, Math.floor(date.getTime() / 1000));
  const scheme = options.scheme ?? "notary.x509";
  const header = new Map<number | string, unknown>([
    [1, options.alg ? (COSE_ALG_LABELS[options.alg] ?? options.alg) : COSE_ALG_LABELS[signer.alg]],
    [2, critFor(options)],
    [3, "application/vnd.cncf.notary.payload.v1+json"],
    ["io.cncf.notary.signingScheme", scheme],
  ]);
  if (scheme === "notary.x509") header.set("io.cncf.notary.signingTime", seconds(options.signingTime ?? new Date()));
  if (options.authenticSigningTime) {
    header.set("io.cncf.notary.authenticSigningTime", seconds(options.authenticSigningTime));
  }
  if (options.expiry) header.set("io.cncf.notary.expiry", seconds(options.expiry));
  const protectedBytes = Buffer.from(cborEncode(header));
  const payload = Buffer.from(JSON.stringify({ targetArtifact: options.target ?? subject }));
  const signature = notarySign(
    signer.alg,
    coseSigStructure(protectedBytes, payload),
    options.signWith ?? signer.leafKey,
  );
  const carried = options.tamper
    ? Buffer.from(JSON.stringify({ targetArtifact: { ...subject, annotations: { altered: "yes" } } }))
    : payload;
  const unprotected = new Map<number | string, unknown>([
    [33, signer.chain.length === 1 ? signer.chain[0] : signer.chain],
    ["io.cncf.notary.signingAgent", "stowaway-test"],
  ]);
  if (options.timestamp) unprotected.set("io.cncf.notary.timestampSignature", options.timestamp(signature));
  return Buffer.from(cborEncode(new Tagged(18, [protectedBytes, unprotected, carried, signature])));
}

/** Pushes a Notation signature (JWS or COSE envelope) as an OCI 1.1 referrer of `subject`. */
export async function pushNotationSignature(
  target: PushTarget,
  repository: string,
  subject: SubjectDescriptor,
  envelope: Buffer,
  referrers: Record<string, unknown>[] = [],
  envelopeType: "application/jose+json" | "application/cose" = "application/jose+json",
): Promise<Record<string, unknown>[]> {
  const empty = Buffer.from("{}");
  await pushBlob(target, repository, empty);
  await pushBlob(target, repository, envelope);
  const pushed = await pushArtifactManifest(target, repository, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: NOTATION_ARTIFACT,
    config: { mediaType: EMPTY_CONFIG, digest: sha256(empty), size: empty.length },
    layers: [{ mediaType: envelopeType, digest: sha256(envelope), size: envelope.length }],
    subject,
  });
  return addReferrer(target, repository, subject, pushed, NOTATION_ARTIFACT, referrers);
}

/** Pushes one blob as an OCI 1.1 referrer of `subject` (artifact manifest with an empty config). */
export async function pushReferrer(
  target: PushTarget,
  repository: string,
  subject: SubjectDescriptor,
  artifactType: string,
  layer: { mediaType: string; blob: Buffer },
  referrers: Record<string, unknown>[] = [],
): Promise<Record<string, unknown>[]> {
  const empty = Buffer.from("{}");
  await pushBlob(target, repository, empty);
  await pushBlob(target, repository, layer.blob);
  const pushed = await pushArtifactManifest(target, repository, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: { mediaType: EMPTY_CONFIG, digest: sha256(empty), size: empty.length },
    layers: [{ mediaType: layer.mediaType, digest: sha256(layer.blob), size: layer.blob.length }],
    subject,
  });
  return addReferrer(target, repository, subject, pushed, artifactType, referrers);
}

export const SIGSTORE_BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json";

/** RFC 8785-style canonical JSON for the values Rekor signs (objects with sorted keys, no spaces). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export interface SigstoreFixture {
  /** trusted_root.json content: the test's Fulcio CA and Rekor key. */
  trustedRoot: Record<string, unknown>;
  /** A keyless bundle (v0.3: certificate, Rekor dsse entry with SET and inclusion proof, DSSE in-toto statement). */
  bundle(digest: string, options?: { tamper?: boolean }): Buffer;
  /** A keyless bundle whose content is a message signature over `artifact` (cosign sign-blob --bundle). */
  messageBundle(artifact: Buffer): Buffer;
}

/**
 * A miniature Sigstore: a Fulcio-like CA issuing a short-lived code-signing certificate for
 * `subject` with the OIDC issuer extension (1.3.6.1.4.1.57264.1.8), and a Rekor-like log key that
 * signs entry timestamps and a one-entry checkpoint. Certificates come from openssl, keys from node:crypto.
 */
export function sigstoreFixture(dir: string, identity: { issuer: string; email: string }): SigstoreFixture {
  const file = (name: string) => path.join(dir, `fulcio-${name}`);
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file("ca.key")]);
  run([
    "req",
    "-x509",
    "-new",
    "-key",
    file("ca.key"),
    "-out",
    file("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/O=sigstore.test/CN=fulcio.test",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file("leaf.key")]);
  run(["req", "-new", "-key", file("leaf.key"), "-out", file("leaf.csr"), "-subj", "/O=sigstore.test"]);
  writeFileSync(
    file("leaf.ext"),
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=codeSigning",
      `subjectAltName=critical,email:${identity.email}`,
      `1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:${identity.issuer}`,
      "",
    ].join("\n"),
  );
  run([
    "x509",
    "-req",
    "-in",
    file("leaf.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-out",
    file("leaf.pem"),
    "-days",
    "1",
    "-sha256",
    "-extfile",
    file("leaf.ext"),
  ]);
  const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
  const caDer = der(readFileSync(file("ca.pem"), "utf8"));
  const leafPem = readFileSync(file("leaf.pem"), "utf8");
  const leafKey = createPrivateKey(readFileSync(file("leaf.key")));
  const rekor = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const rekorSpki = rekor.publicKey.export({ type: "spki", format: "der" });
  const logId = createHash("sha256").update(rekorSpki).digest();
  const start = new Date(Date.now() - 3600_000).toISOString();
  const trustedRoot = {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [
      {
        baseUrl: "https://rekor.sigstore.test",
        hashAlgorithm: "SHA2_256",
        publicKey: {
          rawBytes: rekorSpki.toString("base64"),
          keyDetails: "PKIX_ECDSA_P256_SHA_256",
          validFor: { start },
        },
        logId: { keyId: logId.toString("base64") },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: "sigstore.test", commonName: "fulcio.test" },
        uri: "https://fulcio.sigstore.test",
        certChain: { certificates: [{ rawBytes: caDer.toString("base64") }] },
        validFor: { start },
      },
    ],
    ctlogs: [],
    timestampAuthorities: [],
  };
  /** A Rekor entry for `body`: signed entry timestamp, and an inclusion proof in a one-entry tree with its checkpoint. */
  const logEntry = (body: Buffer, kind: string) => {
    const integratedTime = Math.floor(Date.now() / 1000) + 1;
    const set = sign(
      "sha256",
      Buffer.from(
        canonical({ body: body.toString("base64"), integratedTime, logIndex: 0, logID: logId.toString("hex") }),
      ),
      rekor.privateKey,
    );
    const root = createHash("sha256")
      .update(Buffer.concat([Buffer.from([0]), body]))
      .digest();
    const note = `rekor.sigstore.test - 1\n1\n${root.toString("base64")}\n`;
    const noteSignature = Buffer.concat([logId.subarray(0, 4), sign("sha256", Buffer.from(note), rekor.privateKey)]);
    return {
      logIndex: "0",
      logId: { keyId: logId.toString("base64") },
      kindVersion: { kind, version: "0.0.1" },
      integratedTime: String(integratedTime),
      inclusionPromise: { signedEntryTimestamp: set.toString("base64") },
      inclusionProof: {
        logIndex: "0",
        rootHash: root.toString("base64"),
        treeSize: "1",
        hashes: [],
        checkpoint: { envelope: `${note}\n\u2014 rekor.sigstore.test ${noteSignature.toString("base64")}\n` },
      },
      canonicalizedBody: body.toString("base64"),
    };
  };
  return {
    trustedRoot,
    messageBundle(artifact) {
      // cosign sign-blob: ECDSA over the blob, a hashedrekord 0.0.1 entry naming its SHA-256.
      const signature = sign("sha256", artifact, leafKey);
      const digest = createHash("sha256").update(artifact).digest();
      const body = Buffer.from(
        canonical({
          apiVersion: "0.0.1",
          kind: "hashedrekord",
          spec: {
            data: { hash: { algorithm: "sha256", value: digest.toString("hex") } },
            signature: {
              content: signature.toString("base64"),
              publicKey: { content: Buffer.from(leafPem).toString("base64") },
            },
          },
        }),
      );
      return Buffer.from(
        JSON.stringify({
          mediaType: SIGSTORE_BUNDLE_V03,
          verificationMaterial: {
            certificate: { rawBytes: der(leafPem).toString("base64") },
            tlogEntries: [logEntry(body, "hashedrekord")],
          },
          messageSignature: {
            messageDigest: { algorithm: "SHA2_256", digest: digest.toString("base64") },
            signature: signature.toString("base64"),
          },
        }),
      );
    },
    bundle(digest, options = {}) {
      const [algorithm, hex] = digest.split(":") as [string, string];
      const statement = Buffer.from(
        JSON.stringify({
          _type: "https://in-toto.io/Statement/v1",
          subject: [{ name: "image", digest: { [algorithm]: hex } }],
          predicateType: "https://sigstore.dev/cosign/sign/v1",
          predicate: {},
        }),
      );
      const payloadType = "application/vnd.in-toto+json";
      const pae = Buffer.concat([
        Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${statement.length} `),
        statement,
      ]);
      const signature = sign("sha256", pae, leafKey);
      const envelope = {
        payload: statement.toString("base64"),
        payloadType,
        signatures: [{ sig: signature.toString("base64"), keyid: "" }],
      };
      const body = Buffer.from(
        canonical({
          apiVersion: "0.0.1",
          kind: "dsse",
          spec: {
            envelopeHash: {
              algorithm: "sha256",
              value: createHash("sha256").update(JSON.stringify(envelope)).digest("hex"),
            },
            payloadHash: { algorithm: "sha256", value: createHash("sha256").update(statement).digest("hex") },
            signatures: [
              { signature: signature.toString("base64"), verifier: Buffer.from(leafPem).toString("base64") },
            ],
          },
        }),
      );
      const tampered = options.tamper
        ? Buffer.from(statement.toString("utf8").replace(hex, "0".repeat(64)))
        : statement;
      return Buffer.from(
        JSON.stringify({
          mediaType: SIGSTORE_BUNDLE_V03,
          verificationMaterial: {
            certificate: { rawBytes: der(leafPem).toString("base64") },
            tlogEntries: [logEntry(body, "dsse")],
          },
          dsseEnvelope: { ...envelope, payload: tampered.toString("base64") },
        }),
      );
    },
  };
}

export interface TimestampAuthority {
  /** PEM of the TSA's root: what goes into timestampAuthorities. */
  rootPem: string;
  /** An RFC 3161 TimeStampToken (DER) over `data`, made now by `openssl ts -reply -token_out`. */
  stamp(data: Buffer): Buffer;
}

/** A timestamp authority (root CA and a time-stamping leaf, RSA 2048 or ECDSA P-256) run by the openssl CLI. */
export function timestampAuthority(dir: string, name: string, key: "rsa" | "ec" = "rsa"): TimestampAuthority {
  const file = (suffix: string) => path.join(dir, `${name}-${suffix}`);
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const newKey = (out: string) =>
    key === "rsa"
      ? run(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", out])
      : run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", out]);
  newKey(file("ca.key"));
  run(
    ["req", "-x509", "-new", "-key", file("ca.key"), "-out", file("ca.pem"), "-days", "2"]
      .concat(["-subj", `/CN=${name} TSA root`, "-addext", "basicConstraints=critical,CA:TRUE"])
      .concat(["-addext", "keyUsage=critical,keyCertSign"]),
  );
  newKey(file("tsa.key"));
  run(["req", "-new", "-key", file("tsa.key"), "-out", file("tsa.csr"), "-subj", `/CN=${name} TSA`]);
  writeFileSync(
    file("tsa.ext"),
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n",
  );
  run(
    ["x509", "-req", "-in", file("tsa.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key")].concat([
      "-CAcreateserial",
      "-out",
      file("tsa.pem"),
      "-days",
      "2",
      "-sha256",
      "-extfile",
      file("tsa.ext"),
    ]),
  );
  writeFileSync(file("serial"), "01\n");
  writeFileSync(
    file("tsa.cnf"),
    [
      "[ tsa ]",
      "default_tsa = tsa_config",
      "[ tsa_config ]",
      `serial = ${file("serial")}`,
      "signer_digest = sha256",
      "default_policy = 1.2.3.4.1",
      "digests = sha256, sha384, sha512",
      "accuracy = secs:1",
      "ess_cert_id_alg = sha256",
      "",
    ].join("\n"),
  );
  return {
    rootPem: readFileSync(file("ca.pem"), "utf8"),
    stamp(data) {
      writeFileSync(file("data.bin"), data);
      run(["ts", "-query", "-data", file("data.bin"), "-sha256", "-cert", "-no_nonce", "-out", file("req.tsq")]);
      run(
        ["ts", "-reply", "-config", file("tsa.cnf"), "-queryfile", file("req.tsq"), "-signer", file("tsa.pem")].concat([
          "-inkey",
          file("tsa.key"),
          "-token_out",
          "-out",
          file("token.der"),
        ]),
      );
      return readFileSync(file("token.der"));
    },
  };
}

/** `pem` indented by `spaces`, for a YAML block scalar in a test policy. */
export function indentPem(pem: string, spaces: number): string {
  return pem
    .trim()
    .split("\n")
    .map((line) => `${" ".repeat(spaces)}${line}`)
    .join("\n");
}

/** Pushes a one-layer image (its layer holds `marker`) as `repository:1.0`: the subject to sign. */
export async function pushSubject(
  target: PushTarget,
  repository: string,
  marker: string,
): Promise<{ image: BuiltImage; subject: SubjectDescriptor }> {
  const layer = await buildLayer([{ path: "etc/marker", content: marker }]);
  const image = buildImage({ layers: [layer] });
  await pushImage(target, repository, image, "1.0");
  return {
    image,
    subject: { mediaType: OCI_MANIFEST, digest: image.manifestDigest, size: image.manifestBlob.length },
  };
}

/** Scans `host/repository:1.0` with `policy` (no cache, no credentials), at `now` when given. */
export function scanSigned(
  host: string,
  repository: string,
  policy: ReturnType<typeof parsePolicy>,
  now?: Date,
): Promise<ScanResult> {
  return scan(`${host}/${repository}:1.0`, { cacheDir: false, registry: { env: {} }, policy, ...(now ? { now } : {}) });
}
