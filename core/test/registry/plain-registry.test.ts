import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ImageError } from "../../src/errors.js";
import { openRegistryImage, RegistryClient } from "../../src/image/registry/index.js";
import type { ResolvedImage } from "../../src/image/types.js";
import { buildImage, buildIndex, buildLayer, type BuiltImage, type BuiltIndex } from "../helpers/image-builder.js";
import {
  pushArchive,
  pushImage,
  pushIndex,
  readArchiveFile,
  readArchiveJson,
  type PushTarget,
} from "../helpers/registry-push.js";
import { describeWithRegistry, startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

const FAST_RETRY = { sleep: async () => undefined };

async function drain(stream: Readable): Promise<{ digest: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest("hex")}`, bytes };
}

async function withImage<T>(image: Promise<ResolvedImage>, body: (image: ResolvedImage) => Promise<T>): Promise<T> {
  const resolved = await image;
  try {
    return await body(resolved);
  } finally {
    await resolved.close();
  }
}

let registry: RegistryServer;
let target: PushTarget;

function open(
  repository: string,
  tagOrDigest: string,
  platform?: { os: string; architecture: string; variant?: string },
) {
  const isDigest = tagOrDigest.includes(":");
  return openRegistryImage(
    { registry: registry.host, repository, ...(isDigest ? { digest: tagOrDigest } : { tag: tagOrDigest }) },
    { ...(platform ? { platform } : {}), client: { retry: FAST_RETRY } },
  );
}

describeWithRegistry("registry pull from a plain-HTTP docker-registry", () => {
  let single: BuiltImage;
  let dockerTyped: BuiltImage;
  let multi: BuiltIndex;

  beforeAll(async () => {
    registry = await startRegistry({ kind: "plain" });
    target = { baseUrl: registry.baseUrl };

    single = buildImage({
      layers: [
        await buildLayer([{ path: "etc/os-release", content: "ID=test\n" }]),
        await buildLayer([{ path: "usr/bin/tool", content: "#!/bin/sh\n" }], { compression: "none" }),
      ],
    });
    await pushImage(target, "tools/single", single, "1.0");

    dockerTyped = buildImage({
      layers: [await buildLayer([{ path: "hello", content: "docker" }], { mediaTypes: "docker" })],
      mediaTypes: "docker",
    });
    await pushImage(target, "tools/docker", dockerTyped, "v2");

    const platforms = [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64", variant: "v8" },
      { os: "linux", architecture: "arm", variant: "v7" },
    ];
    const images: BuiltImage[] = [];
    for (const platform of platforms) {
      const layer = await buildLayer([{ path: "arch", content: `${platform.architecture}${platform.variant ?? ""}` }]);
      images.push(buildImage({ layers: [layer], platform }));
    }
    multi = buildIndex(images, { attestations: true });
    await pushIndex(target, "multi/app", multi, "1");
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it("reads a single-platform image back with the pushed digests and layer bytes", async () => {
    await withImage(open("tools/single", "1.0"), async (image) => {
      expect(image.manifestDigest).toBe(single.manifestDigest);
      expect(image.configDigest).toBe(single.configDigest);
      expect(image.platform).toEqual({ os: "linux", architecture: "amd64" });
      expect(image.layers.map((l) => [l.digest, l.diffId, l.size, l.mediaType, l.createdBy])).toEqual(
        single.layers.map((l, i) => [l.digest, l.diffId, l.blob.length, l.mediaType, `RUN step ${i}`]),
      );
      for (const [index, layer] of single.layers.entries()) {
        const read = await drain(await image.openLayer(index));
        expect(read.digest).toBe(layer.digest);
        expect(read.bytes).toBe(layer.blob.length);
      }
    });
  });

  it("reads Docker v2 schema 2 media types", async () => {
    await withImage(open("tools/docker", "v2"), async (image) => {
      expect(image.manifestDigest).toBe(dockerTyped.manifestDigest);
      expect(image.layers[0]!.mediaType).toBe("application/vnd.docker.image.rootfs.diff.tar.gzip");
      expect((await drain(await image.openLayer(0))).digest).toBe(dockerTyped.layers[0]!.digest);
    });
  });

  it("pulls by digest", async () => {
    await withImage(open("tools/single", single.manifestDigest), async (image) => {
      expect(image.manifestDigest).toBe(single.manifestDigest);
      expect(image.reference).toBe(`${registry.host}/tools/single@${single.manifestDigest}`);
    });
  });

  it("selects linux/amd64 from a multi-arch index by default and skips attestation manifests", async () => {
    await withImage(open("multi/app", "1"), async (image) => {
      expect(image.manifestDigest).toBe(multi.images[0]!.manifestDigest);
      expect(image.platform).toEqual({ os: "linux", architecture: "amd64" });
      expect((await drain(await image.openLayer(0))).digest).toBe(multi.images[0]!.layers[0]!.digest);
    });
  });

  it("selects the requested platform, arm64 without a variant meaning v8", async () => {
    await withImage(open("multi/app", "1", { os: "linux", architecture: "arm64" }), async (image) => {
      expect(image.manifestDigest).toBe(multi.images[1]!.manifestDigest);
      expect((await drain(await image.openLayer(0))).digest).toBe(multi.images[1]!.layers[0]!.digest);
    });
    await withImage(open("multi/app", "1", { os: "linux", architecture: "arm", variant: "v7" }), async (image) => {
      expect(image.manifestDigest).toBe(multi.images[2]!.manifestDigest);
      expect(image.platform).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
    });
  });

  it("fails clearly when the index has no image for the platform, listing what it has", async () => {
    const error = await open("multi/app", "1", { os: "windows", architecture: "amd64" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageError);
    const message = (error as Error).message;
    expect(message).toContain("windows/amd64");
    expect(message).toContain("linux/arm64/v8");
    expect(message).toContain("linux/arm/v7");
    expect(message).not.toContain("unknown/unknown");
  });

  it("names the registry and repository when the tag does not exist", async () => {
    await expect(open("tools/single", "missing")).rejects.toThrow(
      `manifest unknown: ${registry.host}/tools/single:missing was not found in the registry`,
    );
    await expect(open("no/such-repo", "latest")).rejects.toThrow(
      /^manifest unknown: 127\.0\.0\.1:\d+\/no\/such-repo:latest/,
    );
  });

  it("lists tags and repositories for registry-wide inventory", async () => {
    const client = new RegistryClient(registry.host, { retry: FAST_RETRY });
    try {
      expect(await client.listTags("tools/single")).toEqual(["1.0"]);
      expect((await client.listRepositories()).sort()).toEqual(["multi/app", "tools/docker", "tools/single"].sort());
      const manifest = await client.getManifest("tools/single", "1.0");
      expect(manifest.digest).toBe(single.manifestDigest);
      expect(manifest.body.equals(single.manifestBlob)).toBe(true);
      const blob = await client.getBlob("tools/single", single.configDigest, single.configBlob.length, 1 << 20);
      expect(blob.equals(single.configBlob)).toBe(true);
    } finally {
      client.close();
    }
  });

  it("reports a blob the registry lost as blob unknown", async () => {
    const lost = buildImage({ layers: [await buildLayer([{ path: "gone", content: "soon" }])] });
    await pushImage(target, "tools/lost", lost, "1");
    const response = await fetch(`${registry.baseUrl}/v2/tools/lost/blobs/${lost.layers[0]!.digest}`, {
      method: "DELETE",
    });
    expect(response.status).toBe(202);
    await withImage(open("tools/lost", "1"), async (image) => {
      await expect(image.openLayer(0)).rejects.toThrow(/^blob unknown: 127\.0\.0\.1:\d+\/tools\/lost@sha256:/);
    });
  });

  describeWithShared("real images from /work/shared", () => {
    const debianArchive = sharedPath("images/debian/bookworm-minbase.oci-archive.tar");
    const attestedArchive = sharedPath(
      "images/snyk-docker-plugin/containerd-archives/busybox-single-arch-with-attestation-manifest.tar",
    );

    it("pushes debian bookworm-minbase and reads it back layer by layer", async () => {
      const index = JSON.parse(readArchiveFile(debianArchive, "index.json").toString("utf8")) as {
        manifests: Array<{ digest: string }>;
      };
      const manifestDigest = index.manifests[0]!.digest;
      const manifest = readArchiveJson<{ config: { digest: string }; layers: Array<{ digest: string; size: number }> }>(
        debianArchive,
        manifestDigest,
      );
      const config = readArchiveJson<{ rootfs: { diff_ids: string[] } }>(debianArchive, manifest.config.digest);
      expect(await pushArchive(target, "debian", debianArchive, "bookworm-minbase")).toBe(manifestDigest);

      await withImage(open("debian", "bookworm-minbase"), async (image) => {
        expect(image.manifestDigest).toBe(manifestDigest);
        expect(image.configDigest).toBe(manifest.config.digest);
        expect(image.layers.map((l) => [l.digest, l.size, l.diffId])).toEqual(
          manifest.layers.map((l, i) => [l.digest, l.size, config.rootfs.diff_ids[i]]),
        );
        for (const [i, layer] of manifest.layers.entries()) {
          const read = await drain(await image.openLayer(i));
          expect(read).toMatchObject({ digest: layer.digest, bytes: layer.size });
        }
      });
    });

    it("resolves a buildx single-arch index with a real attestation manifest to its only image", async () => {
      const top = await pushArchive(target, "foo/bar", attestedArchive, "v3");
      expect(top).toBe("sha256:183b1c266030c632d6d7decc62be45b72509c6a48c81b32a31d5ab58e91cb92a");
      await withImage(open("foo/bar", "v3"), async (image) => {
        expect(image.manifestDigest).toBe("sha256:cf7d823e4eea96316ae629fb9a45b4211869162a5f5dc1654928c7ca530ed810");
        expect(image.configDigest).toBe("sha256:0f7981b59ce1b84d8ab35f636be2d5a3f94c83a9e1759ae8718f0b415285e402");
        expect(image.platform).toEqual({ os: "linux", architecture: "arm64" });
        expect(image.layers.map((l) => l.digest)).toEqual([
          "sha256:189fdd1508372905e80cc3edcdb56cdc4fa216aebef6f332dd3cba6e300238ea",
        ]);
        const read = await drain(await image.openLayer(0));
        expect(read).toMatchObject({
          digest: "sha256:189fdd1508372905e80cc3edcdb56cdc4fa216aebef6f332dd3cba6e300238ea",
          bytes: 1844697,
        });
      });
      await expect(open("foo/bar", "v3", { os: "linux", architecture: "amd64" })).rejects.toThrow(
        /no image for linux\/amd64 .*available: linux\/arm64\/v8/,
      );
    });
  });
});
