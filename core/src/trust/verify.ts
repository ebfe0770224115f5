import { readFileSync } from "node:fs";
import { SIGSTORE_BUNDLE_TYPE, verifySigstoreBundle } from "./sigstore.js";
import type { FetchedManifest, RegistryClient } from "../image/registry/client.js";
import type { RegistryReference } from "../image/reference.js";
import {
  COSIGN_ARTIFACT_TYPE,
  COSIGN_SIGNATURE_ANNOTATION,
  COSIGN_SIMPLE_SIGNING,
  cosignSignatureTag,
  parsePublicKeys,
  verifyCosignPayload,
  type ParsedKey,
} from "./cosign.js";
import {
  NOTATION_ARTIFACT_TYPE,
  NOTATION_COSE,
  NOTATION_JWS,
  parseTrustStore,
  verifyNotationEnvelope,
  type NotationTrust,
} from "./notation.js";
import type {
  SignatureFacts,
  SignatureKind,
  SignatureProblem,
  SignatureSource,
  SignerTrust,
  VerifiedSignature,
} from "./types.js";

/** Signature payloads and envelopes are small; anything bigger is refused before it is read. */
const MAX_SIGNATURE_BLOB_BYTES = 1024 * 1024;
/** Referrers examined per digest (an image may have many SBOMs and attestations besides signatures). */
const MAX_REFERRERS = 64;

export interface SignatureCheckRequest {
  ref: RegistryReference;
  /** The digest the reference resolved to first, then the platform manifest's when it differs. */
  digests: string[];
  trust: SignerTrust;
  /** Where the trust came from, for messages: "trust.signatures[0]". */
  where: string;
  client: RegistryClient;
  now: Date;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

function descriptors(value: unknown): Descriptor[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (entry): entry is Descriptor =>
      Boolean(entry) && typeof entry === "object" && typeof (entry as Descriptor).digest === "string",
  );
}

/**
 * Looks up every signature of the image on its registry and verifies each one against the trust
 * configured for its repository: cosign signatures under the `sha256-<hex>.sig` tag, and OCI 1.1
 * referrers (the referrers API, or the referrers tag schema `sha256-<hex>` where the registry lacks
 * it) carrying cosign or Notation signatures. Registry failures make the facts "unchecked"; they
 * never throw, so the policy decides what an unreachable signature means.
 */
export async function checkSignatures(request: SignatureCheckRequest): Promise<SignatureFacts> {
  const keys = parsePublicKeys(request.trust.keys ?? [], request.where);
  const store: NotationTrust = {
    ca: parseTrustStore(request.trust.certificates ?? [], request.where),
    signingAuthority: parseTrustStore(request.trust.signingAuthorities ?? [], request.where, "signingAuthorities"),
    tsa: parseTrustStore(request.trust.timestampAuthorities ?? [], request.where, "timestampAuthorities"),
  };
  const manifests = new Map<string, Promise<FetchedManifest>>();
  const trustedRoot = readTrustedRoot(request.trust.trustedRoot, request.where);
  const verified: VerifiedSignature[] = [];
  const problems: SignatureProblem[] = [];
  let found = 0;
  const digests = [...new Set(request.digests)];
  try {
    for (const digest of digests) {
      const context = { ...request, ...trustedRoot, keys, store, manifests, digest, verified, problems };
      found += await fromCosignTag(context);
      found += await fromReferrers(context);
    }
  } catch (error) {
    problems.push({
      kind: "cosign",
      source: "tag",
      message: `the registry could not be asked for signatures: ${(error as Error).message}`,
    });
    return { status: "unchecked", digests, verified, problems };
  }
  const status = verified.length > 0 ? "verified" : found > 0 ? "failed" : "missing";
  return { status, digests, verified, problems };
}

interface Context extends SignatureCheckRequest {
  keys: ParsedKey[];
  /** The parsed trusted root, or the reason it could not be read. */
  trustedRoot?: unknown;
  trustedRootProblem?: string;
  store: NotationTrust;
  /** The signed manifests by digest, fetched once when a signature must be checked against their bytes. */
  manifests: Map<string, Promise<FetchedManifest>>;
  digest: string;
  verified: VerifiedSignature[];
  problems: SignatureProblem[];
}

function record(
  context: Context,
  kind: SignatureKind,
  source: SignatureSource,
  check: { ok: true; signer: string } | { ok: false; message: string },
): void {
  if (check.ok) context.verified.push({ kind, source, digest: context.digest, signer: check.signer });
  else context.problems.push({ kind, source, message: `${kind} signature of ${context.digest}: ${check.message}` });
}

/** Verifies the simple-signing layers of a cosign signature manifest; returns how many signatures it held. */
async function cosignLayers(context: Context, manifest: FetchedManifest, source: SignatureSource): Promise<number> {
  const layers = descriptors(manifest.json["layers"]).filter((layer) => layer.mediaType === COSIGN_SIMPLE_SIGNING);
  for (const layer of layers) {
    if ((layer.size ?? 0) > MAX_SIGNATURE_BLOB_BYTES) {
      record(context, "cosign", source, {
        ok: false,
        message: `the payload is over ${MAX_SIGNATURE_BLOB_BYTES} bytes`,
      });
      continue;
    }
    const payload = await context.client.getBlob(
      context.ref.repository,
      layer.digest,
      layer.size,
      MAX_SIGNATURE_BLOB_BYTES,
    );
    record(
      context,
      "cosign",
      source,
      verifyCosignPayload(payload, layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION], context.digest, context.keys),
    );
  }
  return layers.length;
}

async function fromCosignTag(context: Context): Promise<number> {
  const manifest = await context.client.findManifest(context.ref.repository, cosignSignatureTag(context.digest));
  return manifest ? cosignLayers(context, manifest, "tag") : 0;
}

async function fromReferrers(context: Context): Promise<number> {
  const { client, ref, digest } = context;
  const index =
    (await client.getReferrers(ref.repository, digest)) ??
    (await client.findManifest(ref.repository, digest.replace(":", "-")))?.json;
  let found = 0;
  for (const entry of descriptors(index?.["manifests"]).slice(0, MAX_REFERRERS)) {
    const type = entry.artifactType ?? "";
    const isSignature =
      type === COSIGN_ARTIFACT_TYPE || type === NOTATION_ARTIFACT_TYPE || SIGSTORE_BUNDLE_TYPE.test(type);
    if (!isSignature) continue;
    const manifest = await client.getManifest(ref.repository, entry.digest);
    const subject = (manifest.json["subject"] as { digest?: unknown } | undefined)?.digest;
    const kind: SignatureKind =
      type === NOTATION_ARTIFACT_TYPE ? "notation" : type === COSIGN_ARTIFACT_TYPE ? "cosign" : "sigstore-bundle";
    found += 1;
    if (subject !== digest) {
      record(context, kind, "referrers", { ok: false, message: "the referrer's subject is another manifest" });
      continue;
    }
    if (kind === "cosign") {
      if ((await cosignLayers(context, manifest, "referrers")) === 0) {
        record(context, kind, "referrers", { ok: false, message: "the referrer holds no simple-signing payload" });
      }
    } else if (kind === "notation") {
      await notationEnvelope(context, manifest);
    } else {
      await sigstoreBundle(context, manifest);
    }
  }
  return found;
}

/** The manifest the digest names, as the registry serves it (digest verified by the client). */
function signedManifest(context: Context): Promise<FetchedManifest> {
  let manifest = context.manifests.get(context.digest);
  if (!manifest) {
    manifest = context.client.getManifest(context.ref.repository, context.digest);
    context.manifests.set(context.digest, manifest);
  }
  return manifest;
}

/** A Notation referrer: its layer is a JWS or COSE envelope naming the manifest's descriptor (docs/trust.md §3.2). */
async function notationEnvelope(context: Context, manifest: FetchedManifest): Promise<void> {
  const say = (check: Parameters<typeof record>[3]) => record(context, "notation", "referrers", check);
  const layer = descriptors(manifest.json["layers"]).find(
    (entry) => entry.mediaType === NOTATION_JWS || entry.mediaType === NOTATION_COSE,
  );
  if (!layer) {
    return say({ ok: false, message: `the referrer holds no ${NOTATION_JWS} or ${NOTATION_COSE} envelope` });
  }
  if ((layer.size ?? 0) > MAX_SIGNATURE_BLOB_BYTES) {
    return say({ ok: false, message: `the envelope is over ${MAX_SIGNATURE_BLOB_BYTES} bytes` });
  }
  const { client, ref, digest } = context;
  const envelope = await client.getBlob(ref.repository, layer.digest, layer.size, MAX_SIGNATURE_BLOB_BYTES);
  const signed = await signedManifest(context);
  const target = { digest, mediaType: signed.mediaType, size: signed.body.length };
  say(verifyNotationEnvelope(layer.mediaType!, envelope, target, context.store, context.now));
}

function readTrustedRoot(
  file: string | undefined,
  where: string,
): { trustedRoot?: unknown; trustedRootProblem?: string } {
  if (!file) return {};
  try {
    return { trustedRoot: JSON.parse(readFileSync(file, "utf8")) as unknown };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { trustedRootProblem: `${where}.trustedRoot ${file} is ${code ? `unreadable (${code})` : "not JSON"}` };
  }
}

/** A Sigstore bundle referrer: its one layer is the bundle JSON (docs/trust.md §3.3). */
async function sigstoreBundle(context: Context, manifest: FetchedManifest): Promise<void> {
  const say = (check: Parameters<typeof record>[3]) => record(context, "sigstore-bundle", "referrers", check);
  if (context.trustedRootProblem) return say({ ok: false, message: context.trustedRootProblem });
  const layer = descriptors(manifest.json["layers"]).find((entry) => SIGSTORE_BUNDLE_TYPE.test(entry.mediaType ?? ""));
  if (!layer) return say({ ok: false, message: "the referrer holds no bundle layer" });
  if ((layer.size ?? 0) > MAX_SIGNATURE_BLOB_BYTES) {
    return say({ ok: false, message: `the bundle is over ${MAX_SIGNATURE_BLOB_BYTES} bytes` });
  }
  const blob = await context.client.getBlob(context.ref.repository, layer.digest, layer.size, MAX_SIGNATURE_BLOB_BYTES);
  let document: unknown;
  try {
    document = JSON.parse(blob.toString("utf8")) as unknown;
  } catch {
    return say({ ok: false, message: "the bundle is not JSON" });
  }
  say(
    await verifySigstoreBundle(
      document,
      context.digest,
      context.trust.identities ?? [],
      context.trustedRoot,
      async () => (await signedManifest(context)).body,
    ),
  );
}
