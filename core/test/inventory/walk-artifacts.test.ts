/**
 * A registry walk lists images, not the artifacts stored beside them: cosign signatures under the
 * `sha256-<hex>.sig` tag, OCI 1.1 referrers (cosign, Notation, SBOMs) and the referrers tag schema's
 * `sha256-<hex>` index. Before, `registry scan` tried to scan a signed image's `.sig` tag as an image
 * and failed it ("not a readable layer tar"), so every registry using cosign exited 2.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RegistryClient } from "../../src/image/registry/client.js";
import { walkRegistry } from "../../src/inventory/walk.js";
import { OCI_MANIFEST } from "../helpers/image-builder.js";
import { pushImage } from "../helpers/registry-push.js";
import { describeWithRegistry, startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import {
  cosignKeyPair,
  cosignSignature,
  notationEnvelope,
  notationSigner,
  pushCosignSignature,
  pushNotationSignature,
  pushReferrer,
  simpleSigningPayload,
} from "../helpers/signing.js";
import { alpineImage } from "./fixtures.js";

describeWithRegistry("registry walk skips signatures and other artifacts", () => {
  let registry: RegistryServer;
  let dir: string;
  let imageDigest: string;

  beforeAll(async () => {
    registry = await startRegistry({ kind: "plain" });
    dir = mkdtempSync(path.join(os.tmpdir(), "stowaway-walk-artifacts-"));
    const target = { baseUrl: registry.baseUrl };
    const image = await alpineImage({ openssl: "3.1.4-r0" });
    imageDigest = await pushImage(target, "team/api", image, "1.0");
    const subject = { mediaType: OCI_MANIFEST, digest: imageDigest, size: image.manifestBlob.length };
    const keys = cosignKeyPair();
    const payload = simpleSigningPayload(`${registry.host}/team/api`, imageDigest);
    const layers = [{ payload, signature: cosignSignature(payload, keys.privateKey) }];
    // cosign's tag scheme, then referrers through the tag schema index (distribution 2.x has no referrers API).
    await pushCosignSignature(target, "team/api", subject, layers, "tag");
    let referrers = await pushCosignSignature(target, "team/api", subject, layers, "referrers");
    referrers = await pushNotationSignature(
      target,
      "team/api",
      subject,
      notationEnvelope(subject, notationSigner(dir)),
      referrers,
    );
    await pushReferrer(
      target,
      "team/api",
      subject,
      "application/spdx+json",
      { mediaType: "application/spdx+json", blob: Buffer.from('{"spdxVersion":"SPDX-2.3"}') },
      referrers,
    );
  }, 60_000);

  afterAll(async () => {
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("finds the one image under its own tag, and no problem", async () => {
    const client = new RegistryClient(registry.host, { env: {} });
    try {
      const walk = await walkRegistry(client);
      // The registry does list the artifact tags: what is skipped is skipped on purpose.
      expect((await client.listTags("team/api")).sort()).toEqual([
        "1.0",
        imageDigest.replace(":", "-"),
        `${imageDigest.replace(":", "-")}.sig`,
      ]);
      expect(walk.images.map((target) => [target.digest, target.tags.map((tag) => tag.tag)])).toEqual([
        [imageDigest, ["1.0"]],
      ]);
      expect(walk.problems).toEqual([]);
    } finally {
      client.close();
    }
  });
});
