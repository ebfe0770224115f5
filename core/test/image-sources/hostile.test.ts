/** Crafted and damaged archives: every one must end in a single-line ImageError naming the input. */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostileInputError, ImageError } from "../../src/errors.js";
import { openImage } from "../../src/image/open.js";
import { openArchive } from "../../src/image/archive-file.js";
import {
  buildImage,
  buildLayer,
  dockerArchiveFiles,
  writeDockerArchive,
  writeOciArchive,
  writeTar,
  type BuiltImage,
  type LayerEntry,
} from "../helpers/image-builder.js";

let dir: string;
let image: BuiltImage;
let legacyMembers: LayerEntry[];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "stowaway-hostile-"));
  image = buildImage({ layers: [await buildLayer([{ path: "etc/os-release", content: "ID=test\n" }])] });
  legacyMembers = [...dockerArchiveFiles([{ image }])].map(([name, content]) => ({ path: name, content }));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function failure(target: string): Promise<Error> {
  const error = await openImage(target).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImageError);
  const message = (error as Error).message;
  expect(message).not.toContain("\n");
  return error as Error;
}

async function archive(name: string, entries: LayerEntry[]): Promise<string> {
  const file = path.join(dir, name);
  await writeTar(file, entries);
  return file;
}

describe("hostile member names", () => {
  it.each([
    ["../escape", "climbs out of the archive"],
    ["blobs/../../escape", "climbs out of the archive"],
    ["/etc/passwd", "absolute path"],
  ])("refuses an archive containing %s", async (name, why) => {
    const file = await archive(`name-${why.length}-${name.length}.tar`, [
      ...legacyMembers,
      { path: name, content: "x" },
    ]);
    const error = await failure(`docker-archive:${file}`);
    expect(error).toBeInstanceOf(HostileInputError);
    expect(error.message).toContain(file);
    expect(error.message).toContain(`member "${name}"`);
    expect(error.message).toContain(why);
  });

  it("refuses a layer symlinked outside the archive", async () => {
    const manifest = JSON.parse(String(legacyMembers.find((m) => m.path === "manifest.json")!.content));
    const layer = (manifest as { Layers: string[] }[])[0]!.Layers[0]!;
    const entries = legacyMembers.map((m) =>
      m.path === layer ? { path: layer, type: "symlink" as const, linkname: "../../../etc/passwd" } : m,
    );
    const error = await failure(`docker-archive:${await archive("symlink-out.tar", entries)}`);
    expect(error).toBeInstanceOf(HostileInputError);
    expect(error.message).toMatch(/links to "\.\.\/\.\.\/\.\.\/etc\/passwd", outside the archive/);
  });

  it("refuses absolute symlinks and hardlinks that leave the archive", async () => {
    const layer = legacyMembers.find((m) => m.path.endsWith("layer.tar"))!.path;
    for (const [type, linkname] of [
      ["symlink", "/etc/passwd"],
      ["hardlink", "../outside"],
    ] as const) {
      const entries = legacyMembers.map((m) => (m.path === layer ? { path: layer, type, linkname } : m));
      const error = await failure(`docker-archive:${await archive(`${type}-abs.tar`, entries)}`);
      expect(error).toBeInstanceOf(HostileInputError);
    }
  });

  it("refuses symlink loops", async () => {
    const layer = legacyMembers.find((m) => m.path.endsWith("layer.tar"))!.path;
    const entries = legacyMembers
      .filter((m) => m.path !== layer)
      .concat([
        { path: layer, type: "symlink", linkname: "../a" },
        { path: "a", type: "symlink", linkname: layer },
      ]);
    const error = await failure(`docker-archive:${await archive("loop.tar", entries)}`);
    expect(error.message).toMatch(/link loop/);
  });

  it("follows in-archive symlinks the way skopeo writes them", async () => {
    const layer = legacyMembers.find((m) => m.path.endsWith("layer.tar"))!;
    const id = layer.path.split("/")[0]!;
    const entries = legacyMembers
      .filter((m) => m !== layer)
      .concat([
        { path: `${id}.tar`, content: layer.content! },
        { path: layer.path, type: "symlink", linkname: `../${id}.tar` },
      ]);
    const opened = await openImage(`docker-archive:${await archive("skopeo-style.tar", entries)}`);
    expect(opened.configDigest).toBe(image.configDigest);
  });
});

describe("damaged archives", () => {
  it("reports a tar truncated inside a member", async () => {
    const full = path.join(dir, "full.tar");
    await writeDockerArchive(full, [{ image }]);
    const data = readFileSync(full);
    const cut = path.join(dir, "cut.tar");
    // Cut inside the layer member's data, well before the end-of-archive blocks.
    writeFileSync(cut, data.subarray(0, data.indexOf(Buffer.from("ID=test")) + 3));
    const error = await failure(`docker-archive:${cut}`);
    expect(error.message).toMatch(/cut\.tar: the archive ends inside member ".*"; it is truncated/);
  });

  it("reports a corrupt header in the middle of the archive", async () => {
    const full = path.join(dir, "full.tar");
    const data = readFileSync(full);
    const header = data.indexOf(Buffer.from("manifest.json\0"));
    expect(header % 512).toBe(0);
    data[header + 1] = data[header + 1]! ^ 0x20; // changes the name, so the stored checksum no longer matches
    const corrupt = path.join(dir, "corrupt.tar");
    writeFileSync(corrupt, data);
    const error = await failure(`docker-archive:${corrupt}`);
    expect(error.message).toBe(
      `${corrupt}: corrupt tar header at offset ${header}; the archive is damaged, re-export it`,
    );
  });

  it("names the archive and member for malformed JSON", async () => {
    const entries = legacyMembers.map((m) => (m.path === "manifest.json" ? { path: m.path, content: "[{" } : m));
    const error = await failure(`docker-archive:${await archive("bad-json.tar", entries)}`);
    expect(error.message).toMatch(/bad-json\.tar: manifest\.json is not valid JSON/);
  });

  it("names a missing config member", async () => {
    const entries = legacyMembers.filter((m) => !m.path.endsWith(".json") || m.path === "manifest.json");
    const error = await failure(`docker-archive:${await archive("no-config.tar", entries)}`);
    expect(error.message).toMatch(/no-config\.tar: member ".*\.json" \(the image config\) is missing/);
  });

  it("rejects a config whose name promises another digest", async () => {
    const configName = legacyMembers.find((m) => m.path.endsWith(".json") && m.path !== "manifest.json")!.path;
    const entries = legacyMembers.map((m) =>
      m.path === configName ? { path: m.path, content: Buffer.from(String(m.content).replace("RUN", "run")) } : m,
    );
    const error = await failure(`docker-archive:${await archive("config-swap.tar", entries)}`);
    expect(error.message).toMatch(/does not match sha256:/);
  });

  it("names a missing OCI blob", async () => {
    const file = path.join(dir, "oci-full.tar");
    await writeOciArchive(file, { images: [{ image }] });
    const members = [...readTarNames(file)];
    expect(members).toContain(`blobs/sha256/${image.configDigest.slice(7)}`);
    const entries = ociMembers().filter((m) => m.path !== `blobs/sha256/${image.configDigest.slice(7)}`);
    const error = await failure(`oci-archive:${await archive("oci-missing.tar", entries)}`);
    expect(error.message).toMatch(/config blob blobs\/sha256\/[a-f0-9]{64} is missing/);
  });

  it("refuses metadata members too large to be real", async () => {
    const huge = `{"manifests":[],"pad":"${"x".repeat(17 * 1024 * 1024)}"}`;
    const entries = [
      { path: "oci-layout", content: '{"imageLayoutVersion":"1.0.0"}' },
      { path: "index.json", content: huge },
    ];
    const error = await failure(`oci-archive:${await archive("huge-index.tar", entries)}`);
    expect(error).toBeInstanceOf(HostileInputError);
    expect(error.message).toMatch(/index\.json" is \d+ bytes, over the \d+-byte limit/);
  });

  it("says what it expected from a file that is not a tar at all", async () => {
    const file = path.join(dir, "text.tar");
    writeFileSync(file, "this is not a tar archive\n".repeat(100));
    const error = await failure(`docker-archive:${file}`);
    expect(error.message).toMatch(/text\.tar: not a tar archive/);
  });

  it("reports a damaged zstd-compressed outer archive as damaged", async () => {
    const file = path.join(dir, "outer.tar.zst");
    writeFileSync(file, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
    const error = await failure(`oci-archive:${file}`);
    expect(error).toBeInstanceOf(ImageError);
    expect(error.message).toMatch(/outer\.tar\.zst/);
  });

  it("stops decompressing a gzip outer archive at the size cap and cleans up", async () => {
    const file = path.join(dir, "bomb.tar.gz");
    writeFileSync(file, gzipSync(Buffer.alloc(8 * 1024 * 1024)));
    const temp = path.join(dir, "bomb-temp");
    const error = (await openArchive(file, { tempDir: temp, maxBytes: 1024 * 1024 }).catch((e: Error) => e)) as Error;
    expect(error).toBeInstanceOf(HostileInputError);
    expect(error.message).toMatch(/bomb\.tar\.gz expands past the 1048576-byte limit/);
    expect(readdirSync(temp)).toEqual([]);
  });

  function ociMembers(): LayerEntry[] {
    const blobs = [...image.blobs].map(([digest, content]) => ({ path: `blobs/sha256/${digest.slice(7)}`, content }));
    const index = {
      schemaVersion: 2,
      manifests: [
        { mediaType: image.manifestMediaType, digest: image.manifestDigest, size: image.manifestBlob.length },
      ],
    };
    return [
      { path: "oci-layout", content: '{"imageLayoutVersion":"1.0.0"}' },
      { path: "index.json", content: JSON.stringify(index) },
      ...blobs,
    ];
  }
});

function readTarNames(file: string): Set<string> {
  const data = readFileSync(file);
  const names = new Set<string>();
  for (let offset = 0; offset + 512 <= data.length;) {
    const header = data.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const name = header.subarray(0, 100).toString().replace(/\0.*$/s, "");
    const size = Number.parseInt(header.subarray(124, 136).toString().replace(/\0.*$/s, "").trim() || "0", 8);
    names.add(name);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}
