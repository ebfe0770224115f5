import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { HostileInputError, ImageError } from "../../src/errors.js";
import { walkLayer, DEFAULT_LAYER_LIMITS, type LayerSnapshot, type PathFilter } from "../../src/image/layer-walker.js";
import { SquashedFilesystem } from "../../src/image/squash.js";
import { buildLayer, zstdUnavailableReason, type BuiltLayer, type LayerEntry } from "../helpers/image-builder.js";

const wantsAll: PathFilter = () => true;

async function snapshotOf(layer: BuiltLayer, wants = wantsAll, limits = DEFAULT_LAYER_LIMITS): Promise<LayerSnapshot> {
  return walkLayer(Readable.from([layer.blob]), layer.diffId, { what: "test layer", wants, limits });
}

async function squash(...layers: LayerEntry[][]): Promise<SquashedFilesystem> {
  const filesystem = new SquashedFilesystem();
  for (const [index, entries] of layers.entries()) {
    filesystem.apply(await snapshotOf(await buildLayer(entries)), index);
  }
  return filesystem;
}

describe("layer walker", () => {
  it.each(["gzip", "none"] as const)("reads a %s layer and keeps only the wanted files", async (compression) => {
    const layer = await buildLayer(
      [
        { path: "etc/", type: "dir" },
        { path: "etc/os-release", content: "ID=debian\n" },
        { path: "usr/bin/big", content: "x".repeat(5000) },
      ],
      { compression },
    );
    const snapshot = await snapshotOf(layer, (path) => path.startsWith("etc/"));
    expect([...snapshot.files.keys()]).toEqual(["etc/os-release"]);
    expect(snapshot.files.get("etc/os-release")?.toString()).toBe("ID=debian\n");
    expect(snapshot.stats.compression).toBe(compression);
    expect(snapshot.stats.uncompressedBytes).toBe(layer.tar.length);
  });

  it.skipIf(zstdUnavailableReason() !== undefined)("reads a zstd layer whatever its media type says", async () => {
    const layer = await buildLayer([{ path: "a/b.txt", content: "zstd!" }], { compression: "zstd" });
    const snapshot = await snapshotOf(layer);
    expect(snapshot.stats.compression).toBe("zstd");
    expect(snapshot.files.get("a/b.txt")?.toString()).toBe("zstd!");
  });

  it.skipIf(zstdUnavailableReason() !== undefined)("decodes zstd identically with the pure-JS decoder", async () => {
    const layer = await buildLayer([{ path: "a/b.txt", content: "zstd via fzstd ".repeat(1000) }], {
      compression: "zstd",
    });
    process.env.STOWAWAY_ZSTD = "js";
    try {
      const snapshot = await snapshotOf(layer);
      expect(snapshot.files.get("a/b.txt")?.toString()).toBe("zstd via fzstd ".repeat(1000));
    } finally {
      delete process.env.STOWAWAY_ZSTD;
    }
  });

  it.skipIf(zstdUnavailableReason() !== undefined)("rejects corrupt zstd cleanly, whichever decoder runs", async () => {
    const layer = await buildLayer([{ path: "a", content: "x".repeat(50_000) }], { compression: "zstd" });
    const corrupt = Buffer.concat([layer.blob.subarray(0, 8), Buffer.alloc(200, 0x41), layer.blob.subarray(208)]);
    for (const decoder of ["default", "js"]) {
      if (decoder === "js") process.env.STOWAWAY_ZSTD = "js";
      try {
        await expect(snapshotOf({ ...layer, blob: corrupt })).rejects.toThrow(ImageError);
      } finally {
        delete process.env.STOWAWAY_ZSTD;
      }
    }
  });

  it("normalises ./ and leading slashes in entry names", async () => {
    const snapshot = await snapshotOf(
      await buildLayer([
        { path: "./etc/hostname", content: "h" },
        { path: "/etc/absolute", content: "a" },
      ]),
    );
    expect([...snapshot.files.keys()].sort()).toEqual(["etc/absolute", "etc/hostname"]);
  });

  it("refuses entries that climb out of the root", async () => {
    const layer = await buildLayer([{ path: "../../etc/passwd", content: "root" }]);
    await expect(snapshotOf(layer)).rejects.toThrow(HostileInputError);
    await expect(snapshotOf(layer)).rejects.toThrow(/climbs out of the image root/);
  });

  it("stops a decompression bomb at the per-layer limit", async () => {
    const layer = await buildLayer([{ path: "zeros", content: Buffer.alloc(4 * 1024 * 1024) }]);
    expect(layer.blob.length).toBeLessThan(64 * 1024);
    const limits = { ...DEFAULT_LAYER_LIMITS, maxLayerBytes: 1024 * 1024 };
    await expect(snapshotOf(layer, wantsAll, limits)).rejects.toThrow(/1048576-byte limit/);
  });

  it("skips, with a warning, a wanted file above the per-file limit and lets it hide lower copies", async () => {
    const limits = { ...DEFAULT_LAYER_LIMITS, maxFileBytes: 10 };
    const snapshot = await snapshotOf(
      await buildLayer([{ path: "var/lib/dpkg/status", content: "x".repeat(11) }]),
      wantsAll,
      limits,
    );
    expect(snapshot.files.size).toBe(0);
    expect(snapshot.shadowed).toEqual(["var/lib/dpkg/status"]);
    // Machine-readable, so the gate can fail on it (gate.failOnIncompleteInventory).
    expect(snapshot.warnings[0]).toMatch(
      /^inventory-incomplete: "var\/lib\/dpkg\/status" not read: 11 bytes would exceed the per-file limit of 10 bytes/,
    );
  });

  it("rejects a layer whose content does not match its diff_id", async () => {
    const layer = await buildLayer([{ path: "a", content: "a" }]);
    const other = await buildLayer([{ path: "a", content: "b" }]);
    await expect(
      walkLayer(Readable.from([layer.blob]), other.diffId, { what: "test layer", wants: wantsAll }),
    ).rejects.toThrow(/does not match the config's diff_id/);
  });

  it("rejects a truncated layer cleanly", async () => {
    const layer = await buildLayer([{ path: "a", content: "x".repeat(3000) }], { compression: "none" });
    const truncated = layer.blob.subarray(0, 1500);
    const error = await walkLayer(Readable.from([truncated]), layer.diffId, {
      what: "test layer",
      wants: wantsAll,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageError);
    expect((error as Error).message).toMatch(/^test layer/);
  });

  it("rejects corrupt gzip cleanly", async () => {
    const layer = await buildLayer([{ path: "a", content: "x".repeat(3000) }]);
    const corrupt = Buffer.from(layer.blob);
    corrupt.fill(0x41, 20, 60);
    await expect(
      walkLayer(Readable.from([corrupt]), layer.diffId, { what: "test layer", wants: wantsAll }),
    ).rejects.toThrow(ImageError);
  });
});

describe("whiteouts and squashing (OCI image-spec layer.md)", () => {
  it("deletes a file with .wh.NAME and lets a later layer re-create it", async () => {
    const fs = await squash(
      [
        { path: "etc/app.conf", content: "v1" },
        { path: "etc/keep", content: "k" },
      ],
      [{ path: "etc/.wh.app.conf" }],
    );
    expect(fs.read("etc/app.conf")).toBeUndefined();
    expect(fs.read("etc/keep")?.toString()).toBe("k");
    const recreated = await squash(
      [{ path: "etc/app.conf", content: "v1" }],
      [{ path: "etc/.wh.app.conf" }],
      [{ path: "etc/app.conf", content: "v3" }],
    );
    expect(recreated.read("etc/app.conf")?.toString()).toBe("v3");
    expect(recreated.layerOf("etc/app.conf")).toBe(2);
  });

  it("a whiteout and a re-creation in the same layer leave the new file (whiteouts act on lower layers only)", async () => {
    const fs = await squash(
      [{ path: "etc/app.conf", content: "old" }],
      [{ path: "etc/app.conf", content: "new" }, { path: "etc/.wh.app.conf" }],
    );
    expect(fs.read("etc/app.conf")?.toString()).toBe("new");
  });

  it("a directory whiteout removes the whole subtree", async () => {
    const fs = await squash(
      [
        { path: "opt/app/node_modules/a/package.json", content: "{}" },
        { path: "opt/application/x", content: "x" },
      ],
      [{ path: "opt/.wh.app" }],
    );
    expect(fs.list(() => true)).toEqual(["opt/application/x"]);
  });

  it("an opaque directory hides lower entries but keeps what the same layer adds", async () => {
    const fs = await squash(
      [
        { path: "srv/old.txt", content: "old" },
        { path: "srv/sub/deep.txt", content: "deep" },
        { path: "srvx/other", content: "o" },
      ],
      [{ path: "srv/.wh..wh..opq" }, { path: "srv/new.txt", content: "new" }],
    );
    expect(fs.list(() => true)).toEqual(["srv/new.txt", "srvx/other"]);
  });

  it("a file merely named like a whiteout target is a normal file (which/package.json)", async () => {
    const fs = await squash(
      [{ path: "usr/lib/node_modules/which/package.json", content: '{"name":"which"}' }],
      [{ path: "usr/lib/node_modules/which/README.md", content: "r" }],
    );
    expect(fs.read("usr/lib/node_modules/which/package.json")?.toString()).toBe('{"name":"which"}');
  });

  it("AUFS bookkeeping entries (.wh..wh.plnk) are not deletions", async () => {
    const fs = await squash(
      [{ path: "a/b", content: "b" }],
      [{ path: ".wh..wh.plnk/123", content: "" }, { path: "a/.wh..wh.aufs" }],
    );
    expect(fs.read("a/b")?.toString()).toBe("b");
  });

  it("resolves os-release through relative and absolute symlinks inside the root", async () => {
    const fs = await squash([
      { path: "usr/lib/os-release", content: "ID=debian\n" },
      { path: "etc/os-release", type: "symlink", linkname: "../usr/lib/os-release" },
      { path: "etc/abs", type: "symlink", linkname: "/usr/lib/os-release" },
      { path: "etc/escape", type: "symlink", linkname: "../../../../usr/lib/os-release" },
    ]);
    expect(fs.read("etc/os-release")?.toString()).toBe("ID=debian\n");
    expect(fs.read("etc/abs")?.toString()).toBe("ID=debian\n");
    // Climbing above "/" stays at "/" as it does inside a container, so this still lands inside the image.
    expect(fs.read("etc/escape")?.toString()).toBe("ID=debian\n");
  });

  it("treats symlink loops as absent and says so", async () => {
    const fs = await squash([
      { path: "etc/a", type: "symlink", linkname: "b" },
      { path: "etc/b", type: "symlink", linkname: "a" },
    ]);
    expect(fs.read("etc/a")).toBeUndefined();
    expect(fs.warnings.join("\n")).toMatch(/symlink loop/);
  });

  it("resolves a path through a symlinked directory", async () => {
    const fs = await squash([
      { path: "usr/lib/os-release", content: "ID=alpine\n" },
      { path: "lib", type: "symlink", linkname: "usr/lib" },
    ]);
    expect(fs.read("lib/os-release")?.toString()).toBe("ID=alpine\n");
  });

  it("gives hard links the content of their target", async () => {
    const fs = await squash([
      { path: "usr/lib/os-release", content: "ID=fedora\n" },
      { path: "etc/os-release", type: "hardlink", linkname: "usr/lib/os-release" },
    ]);
    expect(fs.read("etc/os-release")?.toString()).toBe("ID=fedora\n");
  });
});
