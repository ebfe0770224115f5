/**
 * Signs test images the way cosign and Notation do, following their published formats (cosign's
 * simple signing payload and `.sig` tag, OCI 1.1 referrers with the referrers tag schema, the Notary
 * Project JWS envelope), with keys made in the test by node:crypto and certificates by openssl.
 */
import { execFileSync } from "node:child_process";
import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { OCI_INDEX, OCI_MANIFEST, sha256 } from "./image-builder.js";
import { pushBlob, pushManifest, type PushTarget } from "./registry-push.js";

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
}

/** A root CA and a code-signing leaf (ECDSA P-256), made with the openssl CLI. */
export function notationSigner(dir: string, name = "notation"): NotationSigner {
  const file = (suffix: string) => path.join(dir, `${name}-${suffix}`);
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
    `/CN=${name} test root`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  ]);
  run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file("leaf.key")]);
  run([
    "req",
    "-new",
    "-key",
    file("leaf.key"),
    "-out",
    file("leaf.csr"),
    "-subj",
    `/CN=${name} release signer/O=Stowaway Test`,
  ]);
  writeFileSync(
    file("leaf.ext"),
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n",
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
    "2",
    "-sha256",
    "-extfile",
    file("leaf.ext"),
  ]);
  const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
  return {
    rootPem: readFileSync(file("ca.pem"), "utf8"),
    leafKey: createPrivateKey(readFileSync(file("leaf.key"))),
    chain: [der(readFileSync(file("leaf.pem"), "utf8"))],
  };
}

/** A Notary Project JWS envelope (flattened JSON, ES256) whose payload names `subject`. */
export function notationEnvelope(subject: SubjectDescriptor, signer: NotationSigner, signingTime = new Date()): Buffer {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const protectedHeader = b64({
    alg: "ES256",
    crit: ["io.cncf.notary.signingScheme"],
    cty: "application/vnd.cncf.notary.payload.v1+json",
    "io.cncf.notary.signingScheme": "notary.x509",
    "io.cncf.notary.signingTime": signingTime.toISOString(),
  });
  const payload = b64({ targetArtifact: subject });
  const signature = sign("sha256", Buffer.from(`${protectedHeader}.${payload}`), {
    key: signer.leafKey,
    dsaEncoding: "ieee-p1363",
  }).toString("base64url");
  return Buffer.from(
    JSON.stringify({
      payload,
      protected: protectedHeader,
      header: {
        x5c: signer.chain.map((cert) => cert.toString("base64")),
        "io.cncf.notary.signingAgent": "stowaway-test",
      },
      signature,
    }),
  );
}

/** Pushes a Notation signature (JWS envelope) as an OCI 1.1 referrer of `subject`. */
export async function pushNotationSignature(
  target: PushTarget,
  repository: string,
  subject: SubjectDescriptor,
  envelope: Buffer,
  referrers: Record<string, unknown>[] = [],
): Promise<Record<string, unknown>[]> {
  const empty = Buffer.from("{}");
  await pushBlob(target, repository, empty);
  await pushBlob(target, repository, envelope);
  const pushed = await pushArtifactManifest(target, repository, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: NOTATION_ARTIFACT,
    config: { mediaType: EMPTY_CONFIG, digest: sha256(empty), size: empty.length },
    layers: [{ mediaType: "application/jose+json", digest: sha256(envelope), size: envelope.length }],
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
  return {
    trustedRoot,
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
      const tampered = options.tamper
        ? Buffer.from(statement.toString("utf8").replace(hex, "0".repeat(64)))
        : statement;
      return Buffer.from(
        JSON.stringify({
          mediaType: SIGSTORE_BUNDLE_V03,
          verificationMaterial: {
            certificate: { rawBytes: der(leafPem).toString("base64") },
            tlogEntries: [
              {
                logIndex: "0",
                logId: { keyId: logId.toString("base64") },
                kindVersion: { kind: "dsse", version: "0.0.1" },
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
              },
            ],
          },
          dsseEnvelope: { ...envelope, payload: tampered.toString("base64") },
        }),
      );
    },
  };
}
