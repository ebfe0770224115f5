/**
 * Reading a layer hashes each of its bytes once (README "Caching and speed"): the stored blob
 * against the digest the manifest addresses, never the uncompressed stream again for the diff_id;
 * only a docker-archive's compressed layer, which nothing addresses, is hashed as its uncompressed
 * tar instead. node:crypto's createHash is wrapped to count the bytes every hash is fed while the
 * layers are read; expected counts are the blob and tar sizes the image builder wrote.
 */
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { openImage } from "../../src/image/open.js";
import { readLayerSnapshots } from "../../src/image/layers.js";
import {
  buildImage,
  buildLayer,
  dockerArchiveFiles,
  writeOciLayout,
  writeTar,
  type BuiltLayer,
} from "../helpers/image-builder.js";
import { tempDir } from "../helpers/temp-dir.js";

const hashed = { bytes: 0, hashes: 0, counting: false };

vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  const createHash = (...args: Parameters<typeof actual.createHash>) => {
    const hash = actual.createHash(...args);
    if (!hashed.counting) return hash;
    hashed.hashes += 1;
    const update = hash.update.bind(hash);
    hash.update = ((data: Buffer) => {
      hashed.bytes += data.length;
      return update(data);
    }) as typeof hash.update;
    return hash;
  };
  return { ...actual, createHash, default: { ...actual, createHash } };
});

const root = tempDir("stowaway-hash-once-");
const OS_RELEASE = { path: "etc/os-release", content: "ID=alpine\nVERSION_ID=3.19.1\n" };
const filler = (name: string): { path: string; content: Buffer } => ({
  path: name,
  content: Buffer.alloc(300_000, name),
});

/** Bytes hashed (and hashes made) while every layer of `target` is read, without a cache. */
async function hashedWhileReading(target: string): Promise<{ bytes: number; hashes: number }> {
  const image = await openImage(target);
  try {
    Object.assign(hashed, { bytes: 0, hashes: 0, counting: true });
    await readLayerSnapshots(image, { wants: () => true });
    return { bytes: hashed.bytes, hashes: hashed.hashes };
  } finally {
    hashed.counting = false;
    await image.close();
  }
}

afterEach(() => {
  hashed.counting = false;
});

describe("reading layers hashes each byte once", () => {
  const layers = async (compression: "gzip" | "zstd" | "none"): Promise<BuiltLayer[]> => [
    await buildLayer([OS_RELEASE, filler("a.bin")], { compression }),
    await buildLayer([filler("b.bin")], { compression }),
  ];

  it.each(["gzip", "none"] as const)("an OCI layout's %s layers: the blob bytes, once", async (compression) => {
    const built = await layers(compression);
    const dir = path.join(root, `oci-${compression}`);
    await writeOciLayout(dir, { images: [{ image: buildImage({ layers: built }), tag: "t" }] });
    const blobBytes = built.reduce((sum, layer) => sum + layer.blob.length, 0);
    expect(await hashedWhileReading(`oci:${dir}:t`)).toEqual({ bytes: blobBytes, hashes: built.length });
  });

  it("a docker-archive's compressed layers: the uncompressed tar, once, for the diff_id", async () => {
    const built = await layers("gzip");
    const image = buildImage({ layers: built, mediaTypes: "docker" });
    const files = dockerArchiveFiles([{ image }]);
    for (const layer of built) files.set(`${layer.diffId.slice(7)}/layer.tar`, layer.blob);
    const file = path.join(root, "docker-gzip.tar");
    await writeTar(
      file,
      [...files].map(([member, content]) => ({ path: member, content })),
    );
    const tarBytes = built.reduce((sum, layer) => sum + layer.tar.length, 0);
    expect(await hashedWhileReading(`docker-archive:${file}`)).toEqual({ bytes: tarBytes, hashes: built.length });
  });
});
