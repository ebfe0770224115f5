/**
 * docs/matching-rules.md §1.3, one behaviour for every front end: an image with a single
 * non-amd64 platform is scanned as what it is when no platform is requested, and refused in one
 * line when another platform is requested. Checked through `scan` (the library entry) and
 * `runCi` from the common inputs (the entry every CI adapter uses), against a real registry,
 * for a plain manifest and for a buildx-style index (one image plus its attestation).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { ImageError } from "../../src/errors.js";
import { parseCommonInputs } from "../../src/ci/inputs.js";
import { runCi } from "../../src/ci/run.js";
import { scan } from "../../src/scan.js";
import { buildImage, buildIndex, buildLayer, type BuiltImage } from "../helpers/image-builder.js";
import { pushImage, pushIndex } from "../helpers/registry-push.js";
import { describeWithRegistry, startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import { tempDir } from "../helpers/temp-dir.js";

const STATUS = "Package: armonly\nStatus: install ok installed\nArchitecture: arm64\nVersion: 2.0-1\n\n";
const ARM64 = { os: "linux", architecture: "arm64", variant: "v8" };

let registry: RegistryServer;
let image: BuiltImage;

describeWithRegistry("a single-platform linux/arm64 image, with and without --platform", () => {
  beforeAll(async () => {
    registry = await startRegistry({ kind: "plain" });
    image = buildImage({
      layers: [
        await buildLayer([
          { path: "etc/os-release", content: 'ID=debian\nVERSION_ID="12"\n' },
          { path: "var/lib/dpkg/status", content: STATUS },
        ]),
      ],
      platform: { os: "linux", architecture: "arm64" },
    });
    await pushImage({ baseUrl: registry.baseUrl }, "arm/plain", image, "1");
    await pushIndex({ baseUrl: registry.baseUrl }, "arm/index", buildIndex([image], { attestations: true }), "1");
  }, 60_000);

  afterAll(async () => {
    await registry?.stop();
  });

  for (const repository of ["arm/plain", "arm/index"]) {
    const ref = () => `${registry.host}/${repository}:1`;

    it(`${repository}: scan with no platform requested scans the arm64 image and finds its package`, async () => {
      const result = await scan(ref(), { cacheDir: false, registry: { env: {} } });
      expect(result.artifact.manifestDigest).toBe(image.manifestDigest);
      expect(result.artifact.platform).toMatchObject({ os: "linux", architecture: "arm64" });
      expect(result.packages.map((p) => `${p.name}@${p.version}`)).toEqual(["armonly@2.0-1"]);
    });

    it(`${repository}: the CI entry (common inputs, as adapters call it) does the same`, async () => {
      const dir = tempDir("stowaway-arm-ci-");
      const values: Record<string, string> = { image: ref(), "cache-dir": dir, offline: "true" };
      const run = await runCi(
        parseCommonInputs((name) => values[name], { outputDir: dir }),
        { env: {} },
      );
      expect(run.result.artifact.manifestDigest).toBe(image.manifestDigest);
      expect(run.result.packages.map((p) => p.name)).toEqual(["armonly"]);
    });

    it(`${repository}: a requested linux/amd64 is refused in one line naming what the image has`, async () => {
      const error = await scan(ref(), {
        cacheDir: false,
        platform: { os: "linux", architecture: "amd64" },
        registry: { env: {} },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageError);
      const message = (error as Error).message;
      expect(message).not.toContain("\n");
      expect(message).toContain("linux/amd64");
      expect(message).toContain("linux/arm64/v8");
    });

    it(`${repository}: the same refusal through the CI inputs' platform`, async () => {
      const dir = tempDir("stowaway-arm-ci-");
      const values: Record<string, string> = {
        image: ref(),
        "cache-dir": dir,
        platform: "linux/amd64",
        offline: "true",
      };
      const error = await runCi(
        parseCommonInputs((name) => values[name], { outputDir: dir }),
        {
          env: {},
        },
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageError);
      expect((error as Error).message).toContain("linux/arm64/v8");
    });

    it(`${repository}: a requested linux/arm64 scans it`, async () => {
      const result = await scan(ref(), { cacheDir: false, platform: ARM64, registry: { env: {} } });
      expect(result.packages.map((p) => p.name)).toEqual(["armonly"]);
    });
  }
});
