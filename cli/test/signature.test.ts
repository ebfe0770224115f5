import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildImage, buildLayer, OCI_MANIFEST } from "../../core/test/helpers/image-builder.js";
import { pushImage, type PushTarget } from "../../core/test/helpers/registry-push.js";
import { describeWithRegistry, startRegistry, type RegistryServer } from "../../core/test/helpers/registry-server.js";
import {
  cosignKeyPair,
  cosignSignature,
  pushCosignSignature,
  simpleSigningPayload,
} from "../../core/test/helpers/signing.js";
import { cliHarness } from "./harness.js";

const { stowaway, work } = cliHarness("stowaway-signature-");
let registry: RegistryServer;
let keyFile: string;
let otherKeyFile: string;

describeWithRegistry("stowaway scan --signature-key / --require-signature against a real registry", () => {
  beforeAll(async () => {
    registry = await startRegistry({ kind: "plain" });
    const target: PushTarget = { baseUrl: registry.baseUrl };
    const signer = cosignKeyPair();
    keyFile = path.join(work(), "cosign.pub");
    otherKeyFile = path.join(work(), "other.pub");
    writeFileSync(keyFile, signer.publicPem);
    writeFileSync(otherKeyFile, cosignKeyPair().publicPem);
    for (const [repository, signed] of [
      ["app/signed", true],
      ["app/unsigned", false],
    ] as const) {
      const image = buildImage({ layers: [await buildLayer([{ path: "etc/app", content: repository }])] });
      await pushImage(target, repository, image, "1.0");
      if (!signed) continue;
      const subject = { mediaType: OCI_MANIFEST, digest: image.manifestDigest, size: image.manifestBlob.length };
      const payload = simpleSigningPayload(`${registry.host}/${repository}`, subject.digest);
      await pushCosignSignature(
        target,
        repository,
        subject,
        [{ payload, signature: cosignSignature(payload, signer.privateKey) }],
        "tag",
      );
    }
  }, 60_000);
  afterAll(async () => registry?.stop());

  it("passes a signed image with the signer's key and says so in the table and summary", () => {
    const run = stowaway(["scan", `${registry.host}/app/signed:1.0`, "--no-cache", "--signature-key", keyFile]);
    expect(run.stderr).toContain("signature: verified; policy: PASS");
    expect(run.stdout).toMatch(/^Signature: verified: key sha256:[0-9a-f]{16} \(cosign, via tag\)$/m);
    expect(run.code).toBe(0);
  });

  it("fails (exit 1) with another key, naming the rule", () => {
    const run = stowaway(["scan", `${registry.host}/app/signed:1.0`, "--no-cache", "--signature-key", otherKeyFile]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("trust.signatures");
    expect(run.stderr).toContain("signature: failed; policy: FAIL");
  });

  it("--require-signature fails an unsigned image under a policy that names the key", () => {
    const policy = path.join(work(), "policy.yaml");
    const pem = readFileSync(keyFile, "utf8");
    writeFileSync(
      policy,
      [
        "version: 1",
        "trust:",
        "  signatures:",
        `    - repository: ${registry.host}/app/`,
        "      keys:",
        "        - |",
        ...pem
          .trim()
          .split("\n")
          .map((line) => `          ${line}`),
        "",
      ].join("\n"),
    );
    // The policy's entry is not `required`; the flag makes it so. No database: the gate is about trust only.
    const run = stowaway([
      "scan",
      `${registry.host}/app/unsigned:1.0`,
      "--no-cache",
      "--policy",
      policy,
      "--require-signature",
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/is not signed/);
    const bad = stowaway(["scan", `${registry.host}/app/unsigned:1.0`, "--no-cache", "--signature-key", policy]);
    // Refused before any registry request: the key file is read when the gate is resolved.
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`--signature-key ${policy}: not a PEM public key`);
  });
});
