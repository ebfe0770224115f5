import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { LayerCache } from "../../src/image/layer-cache.js";
import { readLayerSnapshots } from "../../src/image/layers.js";
import type { ResolvedImage } from "../../src/image/types.js";
import { buildLayer, type BuiltLayer } from "../helpers/image-builder.js";
import { tempDir } from "../helpers/temp-dir.js";

// Two images that share a base layer, opened by two scans at once (a registry inventory with --jobs 2):
// the shared layer must be read, and so decompressed, once (issue 14's "each layer decompressed once").
function imageOf(name: string, layers: BuiltLayer[], opened: Map<string, number>): ResolvedImage {
  return {
    reference: name,
    manifestDigest: `sha256:${"0".repeat(64)}`,
    configDigest: `sha256:${"1".repeat(64)}`,
    platform: { os: "linux", architecture: "amd64" },
    config: {} as ResolvedImage["config"],
    layers: layers.map((layer, index) => ({
      index,
      digest: layer.digest,
      diffId: layer.diffId,
      mediaType: layer.mediaType,
      size: layer.blob.length,
    })),
    async openLayer(index: number) {
      const layer = layers[index]!;
      opened.set(layer.diffId, (opened.get(layer.diffId) ?? 0) + 1);
      // Slow enough that both scans miss the cache while the first read is under way.
      await new Promise((resolve) => setTimeout(resolve, 50));
      return Readable.from([layer.blob]);
    },
    async close() {},
  };
}

describe("layers shared by concurrent scans", () => {
  it("reads a layer two images share once and gives both scans the same files", async () => {
    const base = await buildLayer([{ path: "etc/os-release", content: "ID=debian\n" }]);
    const appA = await buildLayer([{ path: "app/a.txt", content: "a" }]);
    const appB = await buildLayer([{ path: "app/b.txt", content: "b" }]);
    const opened = new Map<string, number>();
    const cache = new LayerCache(tempDir("stowaway-shared-read-"), "fingerprint");
    const options = { wants: () => true, cache };
    const [a, b] = await Promise.all([
      readLayerSnapshots(imageOf("a", [base, appA], opened), options),
      readLayerSnapshots(imageOf("b", [base, appB], opened), options),
    ]);
    expect(opened.get(base.diffId)).toBe(1);
    expect(opened.get(appA.diffId)).toBe(1);
    expect(opened.get(appB.diffId)).toBe(1);
    expect(a[0]!.files.get("etc/os-release")?.toString()).toBe("ID=debian\n");
    expect(b[0]!.files.get("etc/os-release")?.toString()).toBe("ID=debian\n");
    expect(b[1]!.files.get("app/b.txt")?.toString()).toBe("b");
  });

  it("reads the layer itself when the other scan's read failed", async () => {
    const base = await buildLayer([{ path: "etc/os-release", content: "ID=alpine\n" }]);
    const cache = new LayerCache(tempDir("stowaway-shared-read-"), "fingerprint");
    const opened = new Map<string, number>();
    const broken = imageOf("broken", [base], opened);
    broken.openLayer = async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      throw new Error("registry went away");
    };
    const [failed, fine] = await Promise.allSettled([
      readLayerSnapshots(broken, { wants: () => true, cache }),
      readLayerSnapshots(imageOf("fine", [base], opened), { wants: () => true, cache }),
    ]);
    expect(failed.status).toBe("rejected");
    expect(fine.status).toBe("fulfilled");
    expect(opened.get(base.diffId)).toBe(1);
  });
});
