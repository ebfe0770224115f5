/**
 * Notation COSE envelopes, the Notary Project's signing schemes and expiry (JWS and COSE alike), and
 * Sigstore bundles carrying a message signature: signed in the test per the specifications, pushed to
 * a real docker-registry as OCI 1.1 referrers (tag schema), verified by a scan.
 */
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { encode as cborEncode } from "cborg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parsePolicy } from "../../src/policy/parse.js";
import { parseTrustStore, verifyNotationEnvelope } from "../../src/trust/notation.js";
import { renderReport } from "../../src/report/formats.js";
import type { ScanResult } from "../../src/result.js";
import { OCI_MANIFEST } from "../helpers/image-builder.js";
import type { PushTarget } from "../helpers/registry-push.js";
import { describeWithRegistry, startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import {
  notationCoseEnvelope,
  notationEnvelope,
  notationSigner,
  pushNotationSignature,
  pushReferrer,
  SIGSTORE_BUNDLE_V03,
  sigstoreFixture,
  timestampAuthority,
  type NotationSigner,
  type SubjectDescriptor,
  indentPem,
  pushSubject,
  scanSigned,
} from "../helpers/signing.js";

const COSE = "application/cose";
const DAY = 24 * 3600_000;

let registry: RegistryServer;
let target: PushTarget;
let dir: string;
/** ECDSA P-256 leaf under an intermediate: x5chain carries leaf, intermediate, root. */
let notary: NotationSigner;
/** RSA 2048 leaf (PS256). */
let rsaNotary: NotationSigner;
let stranger: NotationSigner;
/** A signing authority's certificate chain (its root goes into `signingAuthorities`). */
let authority: NotationSigner;

const indent = indentPem;

function pemList(field: string, pems: string[]): string[] {
  return pems.length === 0 ? [] : [`      ${field}:`, ...pems.map((pem) => `        - |\n${indent(pem, 10)}`)];
}

interface Stores {
  certificates?: string[];
  signingAuthorities?: string[];
  timestampAuthorities?: string[];
}

function notationPolicy(repository: string, stores: Stores) {
  const lines = [
    "version: 1",
    "trust:",
    "  signatures:",
    `    - repository: ${registry.host}/${repository}`,
    "      required: true",
    ...pemList("certificates", stores.certificates ?? []),
    ...pemList("signingAuthorities", stores.signingAuthorities ?? []),
    ...pemList("timestampAuthorities", stores.timestampAuthorities ?? []),
  ];
  return parsePolicy(lines.join("\n"), "policy.yaml");
}

function pushed(repository: string, marker: string) {
  return pushSubject(target, repository, marker);
}

function scanWith(repository: string, policy: ReturnType<typeof parsePolicy>, now?: Date): Promise<ScanResult> {
  return scanSigned(registry.host, repository, policy, now);
}

function problems(result: ScanResult): string[] {
  return (result.signature?.problems ?? []).map((problem) => problem.message);
}

describeWithRegistry("Notation COSE, signing schemes and message-signature bundles on a real docker-registry", () => {
  beforeAll(async () => {
    registry = await startRegistry({ kind: "plain" }, { accessLog: true });
    target = { baseUrl: registry.baseUrl };
    dir = mkdtempSync(path.join(os.tmpdir(), "stowaway-formats-"));
    notary = notationSigner(dir, "cose", { intermediate: true });
    rsaNotary = notationSigner(dir, "rsa", { key: "rsa-2048" });
    stranger = notationSigner(dir, "stranger");
    authority = notationSigner(dir, "authority");
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("verifies COSE_Sign1 envelopes (ES256 through an intermediate, PS256) against the trust store", async () => {
    const { subject } = await pushed("cose/ok", "a");
    await pushNotationSignature(target, "cose/ok", subject, notationCoseEnvelope(subject, notary), [], COSE);
    const result = await scanWith("cose/ok", notationPolicy("cose/ok", { certificates: [notary.rootPem] }));
    expect(problems(result)).toEqual([]);
    expect(result.signature?.status).toBe("verified");
    expect(result.signature?.verified).toEqual([
      {
        kind: "notation",
        source: "referrers",
        digest: subject.digest,
        signer: "CN=cose release signer, O=Stowaway Test",
      },
    ]);
    expect(result.policy?.outcome).toBe("pass");
    expect(renderReport("table", result)).toMatch(/^Signature: verified: CN=cose release signer, O=Stowaway Test/m);

    const rsa = await pushed("cose/rsa", "b");
    await pushNotationSignature(
      target,
      "cose/rsa",
      rsa.subject,
      notationCoseEnvelope(rsa.subject, rsaNotary),
      [],
      COSE,
    );
    const rsaResult = await scanWith("cose/rsa", notationPolicy("cose/rsa", { certificates: [rsaNotary.rootPem] }));
    expect(problems(rsaResult)).toEqual([]);
    expect(rsaResult.signature?.status).toBe("verified");
  });

  /** Pushes an image signed by `make`, scans it with `stores`, and returns the result. */
  async function signedScan(
    repository: string,
    make: (subject: SubjectDescriptor) => Buffer,
    stores: Stores,
    options: { envelopeType?: "application/jose+json" | typeof COSE; now?: Date } = {},
  ): Promise<ScanResult> {
    const { subject } = await pushed(repository, repository);
    await pushNotationSignature(target, repository, subject, make(subject), [], options.envelopeType ?? COSE);
    return scanWith(repository, notationPolicy(repository, stores), options.now);
  }

  it("refuses a tampered COSE payload, another key, an untrusted chain, a substituted alg, another target", async () => {
    const trusted = { certificates: [notary.rootPem] };
    const cases: [string, (subject: SubjectDescriptor) => Buffer, RegExp][] = [
      [
        "tampered",
        (subject) => notationCoseEnvelope(subject, notary, { tamper: true }),
        /^notation signature of sha256:[0-9a-f]{64}: the COSE signature does not verify with the certificate's key/,
      ],
      [
        "wrong-key",
        (subject) => notationCoseEnvelope(subject, notary, { signWith: stranger.leafKey }),
        /the COSE signature does not verify/,
      ],
      ["untrusted", (subject) => notationCoseEnvelope(subject, stranger), /does not chain to the trust store$/],
      [
        "alg-substituted",
        (subject) => notationCoseEnvelope(subject, notary, { alg: "ES384" }),
        /alg ES384 does not fit the signing certificate's key/,
      ],
      [
        "alg-refused",
        (subject) => notationCoseEnvelope(subject, notary, { alg: "EdDSA" }),
        /an algorithm the Notary Project does not allow/,
      ],
      [
        "other-size",
        (subject) => notationCoseEnvelope(subject, notary, { target: { ...subject, size: subject.size + 1 } }),
        /the signed size is not the manifest's \(\d+ bytes\)/,
      ],
      [
        "other-type",
        (subject) =>
          notationCoseEnvelope(subject, notary, {
            target: { ...subject, mediaType: "application/vnd.docker.distribution.manifest.v2+json" },
          }),
        /the signed media type is not the manifest's \(application\/vnd\.oci\.image\.manifest\.v1\+json\)/,
      ],
      [
        "other-digest",
        (subject) =>
          notationCoseEnvelope(subject, notary, { target: { ...subject, digest: `sha256:${"1".repeat(64)}` } }),
        /the signature covers another artifact, not sha256:/,
      ],
    ];
    for (const [name, make, message] of cases) {
      const result = await signedScan(`cose/${name}`, make, trusted);
      expect(result.signature?.status, name).toBe("failed");
      expect(problems(result), name).toEqual([expect.stringMatching(message)]);
      expect(result.policy?.outcome, name).toBe("fail");
    }
  });

  it("checks the critical headers and refuses envelopes that are not COSE_Sign1_Tagged", async () => {
    const trusted = { certificates: [notary.rootPem] };
    const unknown = await signedScan(
      "cose/crit-unknown",
      (subject) =>
        notationCoseEnvelope(subject, notary, { crit: ["io.cncf.notary.signingScheme", "io.example.mustUnderstand"] }),
      trusted,
    );
    expect(problems(unknown)).toEqual([
      expect.stringMatching(/crit lists io\.example\.mustUnderstand, which Stowaway does not understand/),
    ]);

    const noScheme = await signedScan(
      "cose/crit-empty",
      (subject) => notationCoseEnvelope(subject, notary, { crit: [] }),
      trusted,
    );
    expect(problems(noScheme)).toEqual([expect.stringMatching(/has no crit list/)]);

    const hiddenExpiry = await signedScan(
      "cose/crit-expiry",
      (subject) =>
        notationCoseEnvelope(subject, notary, {
          expiry: new Date(Date.now() + DAY),
          crit: ["io.cncf.notary.signingScheme"],
        }),
      trusted,
    );
    expect(problems(hiddenExpiry)).toEqual([
      expect.stringMatching(/io\.cncf\.notary\.expiry is present but not marked critical/),
    ]);

    // The same COSE_Sign1 array without tag 18, and bytes that are not CBOR at all.
    const untagged = await signedScan(
      "cose/untagged",
      () => Buffer.from(cborEncode(["not", "a", "tagged", "message"])),
      trusted,
    );
    expect(problems(untagged)).toEqual([expect.stringMatching(/not a COSE_Sign1_Tagged message \(CBOR tag 18\)$/)]);
    const garbage = await signedScan("cose/garbage", () => Buffer.from([0xd2, 0x84, 0xff, 0x00]), trusted);
    expect(problems(garbage)).toEqual([expect.stringMatching(/not well-formed CBOR/)]);
    expect(garbage.policy?.outcome).toBe("fail");
  });

  it("enforces io.cncf.notary.expiry and the certificates' validity now (notary.x509), JWS and COSE alike", async () => {
    const trusted = { certificates: [notary.rootPem] };
    for (const envelopeType of [COSE, "application/jose+json"] as const) {
      const make =
        envelopeType === COSE
          ? (subject: SubjectDescriptor, expiry?: Date) =>
              notationCoseEnvelope(subject, notary, expiry ? { expiry } : {})
          : (subject: SubjectDescriptor, expiry?: Date) =>
              notationEnvelope(subject, notary, new Date(), expiry ? { expiry } : {});
      const tag = envelopeType === COSE ? "cose" : "jws";
      const expired = await signedScan(`expiry/${tag}-past`, (s) => make(s, new Date(Date.now() - 60_000)), trusted, {
        envelopeType,
      });
      expect(problems(expired), tag).toEqual([expect.stringMatching(/the signature expired at \d{4}-\d\d-\d\dT/)]);
      expect(expired.policy?.outcome).toBe("fail");

      const fresh = await signedScan(`expiry/${tag}-future`, (s) => make(s, new Date(Date.now() + DAY)), trusted, {
        envelopeType,
      });
      expect(problems(fresh), tag).toEqual([]);
      expect(fresh.signature?.status).toBe("verified");

      // Three days on, the two-day certificates have expired: signingTime is the signer's claim and buys nothing.
      const later = await signedScan(`expiry/${tag}-later`, (s) => make(s), trusted, {
        envelopeType,
        now: new Date(Date.now() + 3 * DAY),
      });
      expect(problems(later), tag).toEqual([
        expect.stringMatching(/a certificate of the chain is not valid now \(expired/),
      ]);
      expect(later.signature?.status).toBe("failed");
    }
  });

  it("verifies notary.x509.signingAuthority at the authentic signing time, only against signingAuthorities", async () => {
    // After the certificates were made (beforeAll): inside their validity.
    const signedAt = new Date();
    const bySA = (subject: SubjectDescriptor) =>
      notationCoseEnvelope(subject, authority, {
        scheme: "notary.x509.signingAuthority",
        authenticSigningTime: signedAt,
      });
    const ok = await signedScan("sa/ok", bySA, { signingAuthorities: [authority.rootPem] });
    expect(problems(ok)).toEqual([]);
    expect(ok.signature?.verified[0]?.signer).toBe("CN=authority release signer, O=Stowaway Test (signing authority)");

    // The certificates expire within two days; the authentic signing time was inside their validity.
    const later = await signedScan(
      "sa/later",
      bySA,
      { signingAuthorities: [authority.rootPem] },
      { now: new Date(Date.now() + 3 * DAY) },
    );
    expect(problems(later)).toEqual([]);
    expect(later.signature?.status).toBe("verified");

    // A CA in the ordinary trust store does not make its signers signing authorities (and vice versa).
    const asCa = await signedScan("sa/as-ca", bySA, { certificates: [authority.rootPem] });
    expect(problems(asCa)).toEqual([
      expect.stringMatching(/uses notary\.x509\.signingAuthority, but no signingAuthorities are configured/),
    ]);
    const caSigner = await signedScan("sa/ca-signer", (subject) => notationCoseEnvelope(subject, notary), {
      signingAuthorities: [notary.rootPem],
    });
    expect(problems(caSigner)).toEqual([
      expect.stringMatching(/uses notary\.x509, but no certificates are configured/),
    ]);
    const stranger_ = await signedScan(
      "sa/stranger",
      (subject) =>
        notationCoseEnvelope(subject, stranger, {
          scheme: "notary.x509.signingAuthority",
          authenticSigningTime: signedAt,
        }),
      { signingAuthorities: [authority.rootPem] },
    );
    expect(problems(stranger_)).toEqual([expect.stringMatching(/does not chain to the signing authority store$/)]);

    const outside = await signedScan(
      "sa/outside",
      (subject) =>
        notationCoseEnvelope(subject, authority, {
          scheme: "notary.x509.signingAuthority",
          authenticSigningTime: new Date(Date.now() + 5 * DAY),
        }),
      { signingAuthorities: [authority.rootPem] },
    );
    expect(problems(outside)).toEqual([expect.stringMatching(/not valid at the authentic signing time/)]);

    const missingTime = await signedScan(
      "sa/no-time",
      (subject) => notationCoseEnvelope(subject, authority, { scheme: "notary.x509.signingAuthority" }),
      { signingAuthorities: [authority.rootPem] },
    );
    expect(problems(missingTime)).toEqual([expect.stringMatching(/authenticSigningTime is missing or not a date/)]);

    const jws = await signedScan(
      "sa/jws",
      (subject) =>
        notationEnvelope(subject, authority, new Date(), {
          scheme: "notary.x509.signingAuthority",
          authenticSigningTime: signedAt,
        }),
      { signingAuthorities: [authority.rootPem] },
      { envelopeType: "application/jose+json" },
    );
    expect(problems(jws)).toEqual([]);
    expect(jws.signature?.status).toBe("verified");

    const otherScheme = await signedScan(
      "sa/other-scheme",
      (subject) => notationCoseEnvelope(subject, notary, { scheme: "notary.tuf" }),
      { certificates: [notary.rootPem] },
    );
    expect(problems(otherScheme)).toEqual([
      expect.stringMatching(/signing scheme is not notary\.x509 or notary\.x509\.signingAuthority/),
    ]);
  });

  it("honours an RFC 3161 timestamp from a configured TSA for notary.x509 after the certificates expire", async () => {
    const rsaTsa = timestampAuthority(dir, "tsa-rsa", "rsa");
    const ecTsa = timestampAuthority(dir, "tsa-ec", "ec");
    const later = { now: new Date(Date.now() + 3 * DAY) };
    const stores = { certificates: [notary.rootPem], timestampAuthorities: [rsaTsa.rootPem, ecTsa.rootPem] };
    const stamped = (subject: SubjectDescriptor) => notationCoseEnvelope(subject, notary, { timestamp: rsaTsa.stamp });

    const today = await signedScan("tsa/today", stamped, stores);
    expect(problems(today)).toEqual([]);
    // Three days on the two-day certificates have expired, but the TSA vouches they were valid when signed.
    const expired = await signedScan("tsa/cose-later", stamped, stores, later);
    expect(problems(expired)).toEqual([]);
    expect(expired.signature?.status).toBe("verified");
    const jws = await signedScan(
      "tsa/jws-later",
      (subject) => notationEnvelope(subject, notary, new Date(), { timestamp: ecTsa.stamp }),
      stores,
      { ...later, envelopeType: "application/jose+json" },
    );
    expect(problems(jws)).toEqual([]);
    expect(jws.signature?.status).toBe("verified");

    // Without timestampAuthorities the timestamp is not trusted: the certificates must be valid now.
    const untrusted = await signedScan("tsa/no-store", stamped, { certificates: [notary.rootPem] }, later);
    expect(problems(untrusted)).toEqual([expect.stringMatching(/a certificate of the chain is not valid now/)]);
    const otherTsa = await signedScan(
      "tsa/other-root",
      stamped,
      { certificates: [notary.rootPem], timestampAuthorities: [stranger.rootPem] },
      later,
    );
    expect(problems(otherTsa)).toEqual([
      expect.stringMatching(/the timestamp authority's certificate does not chain to timestampAuthorities$/),
    ]);
    const otherData = await signedScan(
      "tsa/other-data",
      (subject) => notationCoseEnvelope(subject, notary, { timestamp: () => rsaTsa.stamp(Buffer.from("other")) }),
      stores,
    );
    expect(problems(otherData)).toEqual([
      expect.stringMatching(
        /the timestamp is for other data \(its message imprint is not the hash of this signature\)$/,
      ),
    ]);
    const garbled = await signedScan(
      "tsa/garbled",
      (subject) => notationCoseEnvelope(subject, notary, { timestamp: () => Buffer.from([0x30, 0x82, 0xff]) }),
      stores,
    );
    expect(problems(garbled)).toEqual([
      expect.stringMatching(/the timestamp is not a readable RFC 3161 TimeStampToken/),
    ]);
  });

  it("reports an image without a COSE signature as missing", async () => {
    await pushed("cose/unsigned", "u");
    const result = await scanWith("cose/unsigned", notationPolicy("cose/unsigned", { certificates: [notary.rootPem] }));
    expect(result.signature?.status).toBe("missing");
    expect(result.policy?.outcome).toBe("fail");
  });

  it("verifies a Sigstore bundle whose message signature is over the image manifest, and refuses other blobs", async () => {
    const sigstore = sigstoreFixture(dir, { issuer: "https://issuer.sigstore.test", email: "release@example.com" });
    const rootFile = path.join(dir, "trusted_root.json");
    writeFileSync(rootFile, JSON.stringify(sigstore.trustedRoot));
    const keyless = (repository: string) =>
      parsePolicy(
        [
          "version: 1",
          "trust:",
          "  signatures:",
          `    - repository: ${registry.host}/${repository}`,
          "      required: true",
          `      trustedRoot: ${rootFile}`,
          "      identities:",
          "        - issuer: https://issuer.sigstore.test",
          "          subject: '^release@example\\.com$'",
        ].join("\n"),
        "policy.yaml",
      );
    const { image, subject } = await pushed("blob/manifest", "m");
    await pushReferrer(target, "blob/manifest", subject, SIGSTORE_BUNDLE_V03, {
      mediaType: SIGSTORE_BUNDLE_V03,
      blob: sigstore.messageBundle(image.manifestBlob),
    });
    const good = await scanWith("blob/manifest", keyless("blob/manifest"));
    expect(problems(good)).toEqual([]);
    expect(good.signature?.verified).toEqual([
      {
        kind: "sigstore-bundle",
        source: "referrers",
        digest: subject.digest,
        signer: "release@example.com (https://issuer.sigstore.test)",
      },
    ]);

    const other = await pushed("blob/other", "o");
    await pushReferrer(target, "blob/other", other.subject, SIGSTORE_BUNDLE_V03, {
      mediaType: SIGSTORE_BUNDLE_V03,
      blob: sigstore.messageBundle(Buffer.from("some release tarball")),
    });
    const refused = await scanWith("blob/other", keyless("blob/other"));
    expect(refused.signature?.status).toBe("failed");
    expect(problems(refused)).toEqual([
      expect.stringMatching(/the message signature covers another artifact, not the manifest sha256:[0-9a-f]{64}$/),
    ]);
  });
});

it("checks signingAuthorities when the policy loads, naming the file, line and field", () => {
  const text = [
    "version: 1",
    "trust:",
    "  signatures:",
    "    - repository: registry.internal.example/",
    "      signingAuthorities:",
    "        - not a certificate",
  ].join("\n");
  expect(() => parsePolicy(text, "policy.yaml")).toThrow(
    /^policy\.yaml:5: trust\.signatures\[0\]\.signingAuthorities: holds no PEM certificate$/,
  );
});

it("refuses, in one line, a certificate whose public key does not decode (found by fuzzing COSE envelopes)", () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), "stowaway-badkey-"));
  try {
    const signer = notationSigner(scratch, "badkey");
    const leaf = signer.chain[0]!;
    // The uncompressed EC point (0x04 || X || Y) is the SubjectPublicKeyInfo's last 65 bytes; 0x05 is no point format.
    const spki = new X509Certificate(leaf).publicKey.export({ type: "spki", format: "der" });
    const at = leaf.indexOf(spki.subarray(spki.length - 65));
    expect(at).toBeGreaterThan(0);
    const broken = Buffer.from(leaf);
    broken[at] = 0x05;
    const subject = { mediaType: OCI_MANIFEST, digest: `sha256:${"a".repeat(64)}`, size: 10 };
    const envelope = notationCoseEnvelope(subject, { ...signer, chain: [broken] });
    const trust = { ca: parseTrustStore([signer.rootPem], "test"), signingAuthority: { certificates: [] } };
    expect(verifyNotationEnvelope(COSE, envelope, subject, trust, new Date())).toEqual({
      ok: false,
      message: "a certificate of the envelope's chain is not readable X.509",
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
