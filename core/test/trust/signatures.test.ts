import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parsePolicy } from "../../src/policy/parse.js";
import { renderReport } from "../../src/report/formats.js";
import { scan } from "../../src/scan.js";
import type { ScanResult } from "../../src/result.js";
import { compileSchema2020 } from "../helpers/schema.js";
import type { PushTarget } from "../helpers/registry-push.js";
import { describeWithRegistry, startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import {
  cosignKeyPair,
  cosignSignature,
  notationEnvelope,
  notationSigner,
  pushCosignSignature,
  pushNotationSignature,
  pushReferrer,
  SIGSTORE_BUNDLE_V03,
  sigstoreFixture,
  simpleSigningPayload,
  type KeyPair,
  type NotationSigner,
  indentPem,
  pushSubject,
  scanSigned,
} from "../helpers/signing.js";

let registry: RegistryServer;
let target: PushTarget;
let dir: string;
let signer: KeyPair;
let stranger: KeyPair;
let notary: NotationSigner;
let otherNotary: NotationSigner;

const indent = indentPem;

function policy(body: string): ReturnType<typeof parsePolicy> {
  return parsePolicy(`version: 1\n${body}`, "policy.yaml");
}

function signaturePolicy(repository: string, material: { keys?: string[]; certificates?: string[] }, required = true) {
  const lines = [
    `trust:`,
    `  signatures:`,
    `    - repository: ${registry.host}/${repository}`,
    `      required: ${required}`,
  ];
  if (material.keys) lines.push("      keys:", ...material.keys.map((key) => `        - |\n${indent(key, 10)}`));
  if (material.certificates) {
    lines.push("      certificates:", ...material.certificates.map((pem) => `        - |\n${indent(pem, 10)}`));
  }
  return policy(lines.join("\n"));
}

function pushed(repository: string, marker: string) {
  return pushSubject(target, repository, marker);
}

function scanWith(repository: string, policyDoc: ReturnType<typeof parsePolicy>): Promise<ScanResult> {
  return scanSigned(registry.host, repository, policyDoc);
}

function violationRules(result: ScanResult): string[] {
  return (result.policy?.violations ?? []).map((violation) => violation.rule);
}

describeWithRegistry("image signatures on a real docker-registry", () => {
  beforeAll(async () => {
    registry = await startRegistry({ kind: "plain" }, { accessLog: true });
    target = { baseUrl: registry.baseUrl };
    dir = mkdtempSync(path.join(os.tmpdir(), "stowaway-signing-"));
    signer = cosignKeyPair();
    stranger = cosignKeyPair();
    notary = notationSigner(dir, "release");
    otherNotary = notationSigner(dir, "other");
  }, 60_000);

  afterAll(async () => {
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("verifies a cosign signature under the sha256-<hex>.sig tag with the policy's key", async () => {
    const { subject } = await pushed("signed/tag", "a");
    const payload = simpleSigningPayload(`${registry.host}/signed/tag`, subject.digest);
    await pushCosignSignature(
      target,
      "signed/tag",
      subject,
      [{ payload, signature: cosignSignature(payload, signer.privateKey) }],
      "tag",
    );

    const result = await scanWith("signed/tag", signaturePolicy("signed/tag", { keys: [signer.publicPem] }));
    expect(result.signature?.status).toBe("verified");
    expect(result.signature?.verified).toEqual([
      expect.objectContaining({ kind: "cosign", source: "tag", digest: subject.digest }),
    ]);
    expect(result.policy?.outcome).toBe("pass");
    expect(registry.accessLog()).toContain(`GET /v2/signed/tag/manifests/${subject.digest.replace(":", "-")}.sig`);
    expect(renderReport("table", result)).toMatch(
      /^Signature: verified: key sha256:[0-9a-f]{16} \(cosign, via tag\)$/m,
    );
  });

  it("verifies a cosign signature found through the OCI 1.1 referrers tag schema", async () => {
    const { subject } = await pushed("signed/referrers", "b");
    const payload = simpleSigningPayload(`${registry.host}/signed/referrers`, subject.digest);
    await pushCosignSignature(
      target,
      "signed/referrers",
      subject,
      [{ payload, signature: cosignSignature(payload, signer.privateKey) }],
      "referrers",
    );
    const result = await scanWith(
      "signed/referrers",
      signaturePolicy("signed/referrers", { keys: [signer.publicPem] }),
    );
    expect(result.signature?.status).toBe("verified");
    expect(result.signature?.verified[0]).toMatchObject({ kind: "cosign", source: "referrers" });
    // The registry (distribution 2.8) has no referrers API, so the client fell back to the tag schema.
    expect(registry.accessLog()).toContain(`GET /v2/signed/referrers/referrers/${subject.digest}`);
    expect(registry.accessLog()).toContain(`GET /v2/signed/referrers/manifests/${subject.digest.replace(":", "-")}`);
  });

  it("uses the OCI 1.1 referrers API where the registry offers it (no tag schema index needed)", async () => {
    const { subject } = await pushed("signed/api", "m");
    const payload = simpleSigningPayload(`${registry.host}/signed/api`, subject.digest);
    const listed = await pushCosignSignature(
      target,
      "signed/api",
      subject,
      [{ payload, signature: cosignSignature(payload, signer.privateKey) }],
      "referrers-api",
    );
    // distribution 2.8 has no referrers API: a front that answers it (as registries with OCI 1.1 do) and
    // passes everything else to the real registry.
    const asked: string[] = [];
    const front = http.createServer((req, res) => {
      asked.push(`${req.method} ${req.url}`);
      if (req.url === `/v2/signed/api/referrers/${subject.digest}`) {
        const body = JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.index.v1+json",
          manifests: listed,
        });
        res.writeHead(200, { "Content-Type": "application/vnd.oci.image.index.v1+json" }).end(body);
        return;
      }
      const upstream = http.request(
        `${registry.baseUrl}${req.url}`,
        { method: req.method, headers: { ...req.headers, host: registry.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    const host = `127.0.0.1:${(front.address() as AddressInfo).port}`;
    try {
      const result = await scan(`${host}/signed/api:1.0`, {
        cacheDir: false,
        registry: { env: {} },
        policy: policy(
          [
            "trust:",
            "  signatures:",
            `    - repository: ${host}/signed/`,
            "      required: true",
            "      keys:",
            "        - |",
            indent(signer.publicPem, 10),
          ].join("\n"),
        ),
      });
      expect(result.signature?.status).toBe("verified");
      expect(result.signature?.verified[0]).toMatchObject({ kind: "cosign", source: "referrers" });
      expect(asked).toContain(`GET /v2/signed/api/referrers/${subject.digest}`);
      // The API answered, so the tag schema was not consulted.
      expect(asked).not.toContain(`GET /v2/signed/api/manifests/${subject.digest.replace(":", "-")}`);
    } finally {
      front.closeAllConnections();
      await new Promise((resolve) => front.close(resolve));
    }
  });

  it("fails the gate with trust.signatures on a tampered payload", async () => {
    const { subject } = await pushed("signed/tampered", "c");
    const payload = simpleSigningPayload(`${registry.host}/signed/tampered`, subject.digest);
    const signature = cosignSignature(payload, signer.privateKey);
    const altered = Buffer.from(
      payload.toString("utf8").replace("cosign container image signature", "cosign container image signaturE"),
    );
    await pushCosignSignature(target, "signed/tampered", subject, [{ payload: altered, signature }], "tag");
    const result = await scanWith("signed/tampered", signaturePolicy("signed/tampered", { keys: [signer.publicPem] }));
    expect(result.signature?.status).toBe("failed");
    expect(result.policy?.outcome).toBe("fail");
    expect(violationRules(result)).toEqual(["trust.signatures"]);
    expect(result.policy?.violations[0]?.message).toMatch(/does not verify with any configured key/);

    // Every report says so.
    expect(renderReport("table", result)).toMatch(
      /^Signature: FAILED: cosign signature of sha256:[0-9a-f]{64}: the signature does not verify/m,
    );
    expect(renderReport("markdown", result)).toContain("**Signature:** FAILED: cosign signature of");
    expect(renderReport("html", result)).toContain('<p id="signature">Signature: FAILED: cosign signature');
    const sarif = JSON.parse(renderReport("sarif", result)) as { runs: { properties: Record<string, unknown> }[] };
    expect(sarif.runs[0]!.properties).toMatchObject({ signatureStatus: "failed", policyOutcome: "fail" });
    expect(renderReport("junit", result)).toContain('name="trust.signatures"');
    const json = JSON.parse(renderReport("json", result)) as unknown;
    expect(json).toMatchObject({ signature: { status: "failed" } });
    const validate = compileSchema2020(path.resolve(import.meta.dirname, "../../schemas/scan-result.schema.json"));
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
  });

  it("fails on a signature made with another key, and on a valid signature for another digest", async () => {
    const { subject } = await pushed("signed/wrong-key", "d");
    const other = await pushed("signed/elsewhere", "e");
    const payload = simpleSigningPayload(`${registry.host}/signed/wrong-key`, subject.digest);
    const foreign = simpleSigningPayload(`${registry.host}/signed/elsewhere`, other.subject.digest);
    await pushCosignSignature(
      target,
      "signed/wrong-key",
      subject,
      [
        { payload, signature: cosignSignature(payload, stranger.privateKey) },
        { payload: foreign, signature: cosignSignature(foreign, signer.privateKey) },
      ],
      "tag",
    );
    const result = await scanWith(
      "signed/wrong-key",
      signaturePolicy("signed/wrong-key", { keys: [signer.publicPem] }),
    );
    expect(result.signature?.status).toBe("failed");
    expect(result.signature?.problems.map((problem) => problem.message)).toEqual([
      expect.stringMatching(/does not verify with any configured key/),
      expect.stringContaining(`the signature is for ${other.subject.digest}, not ${subject.digest}`),
    ]);
    expect(result.policy?.outcome).toBe("fail");
  });

  it("reports a missing signature; fails only where the policy requires one", async () => {
    await pushed("unsigned/app", "f");
    const required = await scanWith("unsigned/app", signaturePolicy("unsigned/app", { keys: [signer.publicPem] }));
    expect(required.signature?.status).toBe("missing");
    expect(required.policy?.outcome).toBe("fail");
    expect(required.policy?.violations[0]?.message).toMatch(/is not signed/);

    const optional = await scanWith(
      "unsigned/app",
      signaturePolicy("unsigned/app", { keys: [signer.publicPem] }, false),
    );
    expect(optional.signature?.status).toBe("missing");
    expect(optional.policy?.outcome).toBe("pass");
    expect(optional.policy?.warnings.join("\n")).toMatch(/is not signed/);
  });

  it("verifies a Notation JWS signature against the X.509 trust store and refuses another root", async () => {
    const { subject } = await pushed("signed/notation", "g");
    await pushNotationSignature(target, "signed/notation", subject, notationEnvelope(subject, notary));

    const trusted = await scanWith(
      "signed/notation",
      signaturePolicy("signed/notation", { certificates: [notary.rootPem] }),
    );
    expect(trusted.signature?.status).toBe("verified");
    expect(trusted.signature?.verified[0]).toMatchObject({ kind: "notation", source: "referrers" });
    expect(trusted.signature?.verified[0]?.signer).toContain("CN=release release signer");

    const untrusted = await scanWith(
      "signed/notation",
      signaturePolicy("signed/notation", { certificates: [otherNotary.rootPem] }),
    );
    expect(untrusted.signature?.status).toBe("failed");
    expect(untrusted.signature?.problems[0]?.message).toMatch(/does not chain to the trust store/);
    expect(untrusted.policy?.outcome).toBe("fail");
  });

  it("refuses a tampered Notation payload", async () => {
    const { subject } = await pushed("signed/notation-tampered", "h");
    const envelope = JSON.parse(notationEnvelope(subject, notary).toString("utf8")) as { payload: string };
    const other = { ...subject, size: subject.size + 1 };
    envelope.payload = Buffer.from(JSON.stringify({ targetArtifact: other })).toString("base64url");
    await pushNotationSignature(target, "signed/notation-tampered", subject, Buffer.from(JSON.stringify(envelope)));
    const result = await scanWith(
      "signed/notation-tampered",
      signaturePolicy("signed/notation-tampered", { certificates: [notary.rootPem] }),
    );
    expect(result.signature?.status).toBe("failed");
    expect(result.signature?.problems[0]?.message).toMatch(/JWS signature does not verify/);
  });

  it("verifies a keyless Sigstore bundle offline against the trusted root, and refuses other identities and altered statements", async () => {
    const sigstore = sigstoreFixture(dir, { issuer: "https://issuer.sigstore.test", email: "release@example.com" });
    const rootFile = path.join(dir, "trusted_root.json");
    writeFileSync(rootFile, JSON.stringify(sigstore.trustedRoot));
    const keyless = (repository: string, subject: string, issuer = "https://issuer.sigstore.test") =>
      policy(
        [
          "trust:",
          "  signatures:",
          `    - repository: ${registry.host}/${repository}`,
          "      required: true",
          `      trustedRoot: ${rootFile}`,
          "      identities:",
          `        - issuer: ${issuer}`,
          `          subject: '${subject}'`,
        ].join("\n"),
      );
    const { subject } = await pushed("keyless/app", "k");
    await pushReferrer(target, "keyless/app", subject, SIGSTORE_BUNDLE_V03, {
      mediaType: SIGSTORE_BUNDLE_V03,
      blob: sigstore.bundle(subject.digest),
    });
    const good = await scanWith("keyless/app", keyless("keyless/app", "^release@example\\.com$"));
    expect(good.signature?.problems).toEqual([]);
    expect(good.signature?.status).toBe("verified");
    expect(good.signature?.verified[0]).toMatchObject({
      kind: "sigstore-bundle",
      source: "referrers",
      signer: "release@example.com (https://issuer.sigstore.test)",
    });

    const wrongSubject = await scanWith("keyless/app", keyless("keyless/app", "^someone@example\\.com$"));
    expect(wrongSubject.signature?.status).toBe("failed");
    expect(wrongSubject.signature?.problems[0]?.message).toMatch(/not among the trusted identities/);
    const wrongIssuer = await scanWith("keyless/app", keyless("keyless/app", ".*", "https://accounts.example.com"));
    expect(wrongIssuer.policy?.outcome).toBe("fail");

    const altered = await pushed("keyless/altered", "l");
    await pushReferrer(target, "keyless/altered", altered.subject, SIGSTORE_BUNDLE_V03, {
      mediaType: SIGSTORE_BUNDLE_V03,
      blob: sigstore.bundle(altered.subject.digest, { tamper: true }),
    });
    const tampered = await scanWith("keyless/altered", keyless("keyless/altered", ".*"));
    expect(tampered.signature?.status).toBe("failed");
    expect(tampered.signature?.problems[0]?.message).toMatch(/does not verify/);
  });

  it("denies an image outside trust.registries before pulling anything", async () => {
    await pushed("outside/app", "i");
    const before = registry.accessLog().length;
    const result = await scanWith("outside/app", policy(`trust:\n  registries:\n    - registry.internal.example/\n`));
    expect(result.policy?.outcome).toBe("fail");
    expect(violationRules(result)).toEqual(["trust.registries"]);
    expect(result.packages).toEqual([]);
    expect(registry.accessLog().length).toBe(before);

    const pinned = await scanWith(
      "outside/app",
      policy(`trust:\n  registries:\n    - prefix: ${registry.host}/outside/\n      requireDigest: true\n`),
    );
    expect(violationRules(pinned)).toEqual(["trust.registries"]);
    expect(pinned.policy?.violations[0]?.message).toMatch(/must be pinned by digest/);
  });
});
