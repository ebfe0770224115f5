import { describe, expect, it } from "vitest";
import { ImageError } from "../../src/errors.js";
import {
  formatPlatform,
  isAttestation,
  parsePlatform,
  platformMatches,
  selectManifest,
  type ImageIndexLike,
} from "../../src/image/platform.js";
import type { Descriptor } from "../../src/image/types.js";
import { buildAttestation, buildImage, buildIndex, buildLayer, type BuiltIndex } from "../helpers/image-builder.js";

describe("parsePlatform", () => {
  it.each([
    ["linux/amd64", { os: "linux", architecture: "amd64" }],
    ["linux/arm64", { os: "linux", architecture: "arm64", variant: "v8" }],
    ["linux/arm64/v8", { os: "linux", architecture: "arm64", variant: "v8" }],
    ["linux/arm/v6", { os: "linux", architecture: "arm", variant: "v6" }],
    ["linux/arm", { os: "linux", architecture: "arm", variant: "v7" }],
    ["arm64", { os: "linux", architecture: "arm64", variant: "v8" }],
    ["Linux/x86_64", { os: "linux", architecture: "amd64" }],
    ["windows/amd64", { os: "windows", architecture: "amd64" }],
  ])("%s", (text, expected) => {
    expect(parsePlatform(text)).toEqual(expected);
  });

  it.each(["", "linux/", "a/b/c/d", "linux amd64"])("rejects %j", (text) => {
    expect(() => parsePlatform(text)).toThrow(ImageError);
  });

  it("matches arm64 with and without the v8 variant, and not other arm variants", () => {
    expect(platformMatches({ os: "linux", architecture: "arm64" }, parsePlatform("linux/arm64/v8"))).toBe(true);
    expect(
      platformMatches({ os: "linux", architecture: "arm64", variant: "v8" }, { os: "linux", architecture: "arm64" }),
    ).toBe(true);
    expect(platformMatches({ os: "linux", architecture: "arm", variant: "v6" }, parsePlatform("linux/arm/v7"))).toBe(
      false,
    );
    expect(platformMatches({ os: "linux", architecture: "amd64", variant: "v3" }, parsePlatform("linux/amd64"))).toBe(
      true,
    );
    expect(formatPlatform({ os: "linux", architecture: "arm64" })).toBe("linux/arm64/v8");
  });
});

describe("selectManifest", () => {
  async function image(architecture: string, variant?: string) {
    const layer = await buildLayer([{ path: `arch-${architecture}${variant ?? ""}`, content: architecture }]);
    return buildImage({ layers: [layer], platform: { os: "linux", architecture, ...(variant ? { variant } : {}) } });
  }

  function fetcher(...indexes: BuiltIndex[]) {
    const byDigest = new Map(indexes.map((i) => [i.indexDigest, i.index as unknown as ImageIndexLike]));
    const fetched: string[] = [];
    return {
      fetched,
      fetchIndex: async (d: Descriptor) => {
        fetched.push(d.digest);
        const found = byDigest.get(d.digest);
        if (!found) throw new Error(`unexpected fetch of ${d.digest}`);
        return found;
      },
    };
  }

  it("picks by platform and skips attestation manifests", async () => {
    const amd = await image("amd64");
    const arm = await image("arm64", "v8");
    const index = buildIndex([amd, arm], { attestations: true });
    const { fetchIndex } = fetcher();
    const list = index.index as unknown as ImageIndexLike;
    expect(list.manifests.filter(isAttestation)).toHaveLength(2);
    const options = { reference: "test", fetchIndex };
    expect((await selectManifest(list, undefined, options)).digest).toBe(amd.manifestDigest);
    expect((await selectManifest(list, parsePlatform("linux/arm64"), options)).digest).toBe(arm.manifestDigest);
  });

  it("never selects an attestation, even when it is the only other entry", async () => {
    const arm = await image("arm64");
    const att = buildAttestation(arm);
    const list = { manifests: [att.descriptor as unknown as Descriptor] };
    await expect(selectManifest(list, undefined, { reference: "r", fetchIndex: fetcher().fetchIndex })).rejects.toThrow(
      /holds no image manifest/,
    );
  });

  it("takes the only image when no platform was asked for, but honours an explicit one", async () => {
    const arm = await image("arm64", "v8");
    const list = buildIndex([arm], { attestations: true }).index as unknown as ImageIndexLike;
    const options = { reference: "r", fetchIndex: fetcher().fetchIndex };
    expect((await selectManifest(list, undefined, options)).digest).toBe(arm.manifestDigest);
    await expect(selectManifest(list, parsePlatform("linux/amd64"), options)).rejects.toThrow(
      "no image for linux/amd64 in r; available: linux/arm64/v8; pass --platform",
    );
  });

  it("recurses into nested indexes", async () => {
    const amd = await image("amd64");
    const arm = await image("arm64", "v8");
    const ppc = await image("ppc64le");
    const inner = buildIndex([arm, ppc], { attestations: true });
    const outer = buildIndex([amd], { children: [inner] });
    const { fetchIndex, fetched } = fetcher(inner);
    const list = outer.index as unknown as ImageIndexLike;
    expect((await selectManifest(list, parsePlatform("linux/ppc64le"), { reference: "r", fetchIndex })).digest).toBe(
      ppc.manifestDigest,
    );
    expect(fetched).toEqual([inner.indexDigest]);
  });

  it("lists the available platforms when nothing matches", async () => {
    const list = buildIndex([await image("amd64"), await image("arm64", "v8")], { attestations: true })
      .index as unknown as ImageIndexLike;
    const error = await selectManifest(list, parsePlatform("linux/s390x"), {
      reference: "example.com/app:1",
      fetchIndex: fetcher().fetchIndex,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageError);
    expect((error as Error).message).toBe(
      "no image for linux/s390x in example.com/app:1; available: linux/amd64, linux/arm64/v8; pass --platform",
    );
  });

  it("uses platformOf for descriptors without a platform", async () => {
    const amd = await image("amd64");
    const arm = await image("arm64");
    const bare = (i: typeof amd): Descriptor => ({ mediaType: i.manifestMediaType, digest: i.manifestDigest, size: 1 });
    const platforms = new Map([
      [amd.manifestDigest, amd.platform],
      [arm.manifestDigest, arm.platform],
    ]);
    const chosen = await selectManifest({ manifests: [bare(amd), bare(arm)] }, parsePlatform("linux/arm64"), {
      reference: "r",
      fetchIndex: fetcher().fetchIndex,
      platformOf: async (d) => platforms.get(d.digest),
    });
    expect(chosen.digest).toBe(arm.manifestDigest);
  });

  it("refuses an index that contains itself", async () => {
    const self: Descriptor = {
      mediaType: "application/vnd.oci.image.index.v1+json",
      digest: `sha256:${"b".repeat(64)}`,
      size: 1,
    };
    const list = { manifests: [self] };
    await expect(selectManifest(list, undefined, { reference: "r", fetchIndex: async () => list })).rejects.toThrow(
      /nest too deeply or refer to themselves/,
    );
  });
});
