import type { KeylessIdentity } from "./types.js";

/** artifactType prefix of Sigstore bundles stored as OCI 1.1 referrers. */
export const SIGSTORE_BUNDLE_TYPE = /^application\/vnd\.dev\.sigstore\.bundle/;
const IN_TOTO = "application/vnd.in-toto+json";

export type BundleCheck = { ok: true; signer: string } | { ok: false; message: string };

type SigstoreLibs = {
  bundle: typeof import("@sigstore/bundle");
  verify: typeof import("@sigstore/verify");
  specs: typeof import("@sigstore/protobuf-specs");
};
let libs: Promise<SigstoreLibs> | undefined;

/** CommonJS modules arrive as their exports object, under `default` when a bundler wraps them. */
function exportsOf<T>(module: T & { default?: T }): T {
  return (module.default ?? module) as T;
}

/**
 * sigstore-js, loaded on first use (scans without keyless rules never load it) with literal
 * import()s, so bundlers (the GitHub Action's esbuild bundle) include it.
 */
function sigstore(): Promise<SigstoreLibs> {
  libs ??= Promise.all([
    import("@sigstore/bundle"),
    import("@sigstore/verify"),
    import("@sigstore/protobuf-specs"),
  ]).then(([bundle, verify, specs]) => ({
    bundle: exportsOf(bundle),
    verify: exportsOf(verify),
    specs: exportsOf(specs),
  }));
  return libs;
}

/**
 * Verifies a Sigstore bundle (keyless: a Fulcio certificate) for image `digest` with sigstore-js
 * (docs/trust.md §3.3): the certificate chains to a CA of `trustedRoot` and was valid when the
 * transparency log integrated the entry; the Rekor entry's inclusion (signed entry timestamp and/or
 * inclusion proof with a signed checkpoint) verifies offline against the root's log keys; the signature
 * verifies with the certificate's key; what it signs is the image: a DSSE in-toto statement whose subject
 * names the digest, or a message signature (cosign sign-blob style) over the manifest bytes themselves,
 * whose message digest is the image digest; and the certificate's OIDC issuer and subject match one of
 * `identities`. `manifest` yields the manifest's bytes (as the registry served them for `digest`).
 */
export async function verifySigstoreBundle(
  document: unknown,
  digest: string,
  identities: KeylessIdentity[],
  trustedRoot: unknown,
  manifest: () => Promise<Buffer>,
): Promise<BundleCheck> {
  if (identities.length === 0) return { ok: false, message: "no keyless identity is configured for this repository" };
  if (trustedRoot === undefined) {
    return { ok: false, message: "no Sigstore trusted root is configured (trust.signatures[].trustedRoot)" };
  }
  const { bundle: bundles, verify: verifier, specs } = await sigstore();
  let bundle: ReturnType<typeof bundles.bundleFromJSON>;
  try {
    bundle = bundles.bundleFromJSON(document);
  } catch (error) {
    return { ok: false, message: `the bundle is not a valid Sigstore bundle (${(error as Error).message})` };
  }
  const content = bundle.content;
  const [algorithm, hex] = digest.split(":");
  let artifact: Buffer | undefined;
  if (content.$case === "messageSignature") {
    // A signature over a blob: it applies to the image only when the blob is the manifest, i.e. the
    // message digest is the image digest; the bytes it signs are then the manifest the registry serves.
    const signed = content.messageSignature.messageDigest;
    const named = signed?.algorithm === specs.HashAlgorithm.SHA2_256 && algorithm === "sha256";
    if (!signed || !named || Buffer.from(signed.digest).toString("hex") !== hex) {
      return { ok: false, message: `the message signature covers another artifact, not the manifest ${digest}` };
    }
    artifact = await manifest();
  } else if (content.$case !== "dsseEnvelope") {
    return { ok: false, message: "unsupported bundle content" };
  }
  const root = specs.TrustedRoot.fromJSON(trustedRoot);
  const material = verifier.toTrustMaterial(root);
  const checker = new verifier.Verifier(material, {
    tlogThreshold: 1,
    ctlogThreshold: root.ctlogs.length > 0 ? 1 : 0,
    timestampThreshold: 1,
  });
  let signer: ReturnType<InstanceType<typeof verifier.Verifier>["verify"]>;
  try {
    signer = checker.verify(verifier.toSignedEntity(bundle, artifact));
  } catch (error) {
    return { ok: false, message: `the bundle does not verify: ${(error as Error).message}` };
  }
  if (content.$case === "dsseEnvelope") {
    if (content.dsseEnvelope.payloadType !== IN_TOTO) {
      return { ok: false, message: "the DSSE envelope does not carry an in-toto statement" };
    }
    let statement: { subject?: { digest?: Record<string, unknown> }[] };
    try {
      statement = JSON.parse(content.dsseEnvelope.payload.toString("utf8")) as typeof statement;
    } catch {
      return { ok: false, message: "the in-toto statement is not JSON" };
    }
    if (!(statement.subject ?? []).some((subject) => subject.digest?.[algorithm!] === hex)) {
      return { ok: false, message: `the signed statement does not name ${digest}` };
    }
  }
  const issuer = signer.identity?.extensions?.issuer;
  const subject = signer.identity?.subjectAlternativeName;
  const match = identities.find(
    (identity) => identity.issuer === issuer && subject !== undefined && new RegExp(identity.subject).test(subject),
  );
  if (!match) {
    return {
      ok: false,
      message: `the signer ${subject ?? "(no subject)"} from ${issuer ?? "(no issuer)"} is not among the trusted identities`,
    };
  }
  return { ok: true, signer: `${subject} (${issuer})` };
}
