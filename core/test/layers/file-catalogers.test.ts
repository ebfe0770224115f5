import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { FileCataloger, FileContent, PackageCandidate } from "../../src/catalog/types.js";
import { catalogLayers } from "../../src/catalog/inventory.js";
import { FileBlob } from "../../src/image/file-blob.js";
import { walkLayer } from "../../src/image/layer-walker.js";
import { SpooledFile } from "../../src/image/spooled-file.js";
import { NO_OS, walkWithFileCataloger } from "../helpers/layer-walk.js";

const tempDir = mkdtempSync(path.join(os.tmpdir(), "stowaway-file-catalogers-"));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

/**
 * A real (tiny) file cataloger for the walker's contract: "*.pkg" files hold "name@version", and
 * only files starting with "PKG" are worth reading.
 */
function pkgCataloger(seen: string[] = []): FileCataloger {
  return {
    kind: "file",
    name: "test-pkg",
    version: 1,
    wants: (file) => file.endsWith(".pkg"),
    sniff: (head) => head.subarray(0, 3).toString() === "PKG",
    async analyze(file: FileContent): Promise<PackageCandidate[]> {
      seen.push(file.path);
      const [name, version] = (await file.readAll()).toString().slice(4).trim().split("@");
      return [
        {
          name: name!,
          version: version!,
          type: "generic",
          ecosystem: "",
          purl: `pkg:generic/${name}@${version}`,
          locations: [file.path],
        },
      ];
    },
  };
}

describe("file catalogers in the layer walk", () => {
  it("analyses wanted files as they stream past and attributes packages to the layer that added them", async () => {
    const cataloger = pkgCataloger();
    const layers = await walkWithFileCataloger(
      cataloger,
      tempDir,
      [{ path: "opt/a.pkg", content: "PKG a@1.0" }],
      [
        { path: "opt/b.pkg", content: "PKG b@2.0" },
        { path: "opt/readme.txt", content: "PKG not wanted" },
      ],
    );
    const inventory = catalogLayers(layers, [cataloger], NO_OS);
    expect(inventory.packages.map((pkg) => [pkg.name, pkg.version, pkg.layerIndex])).toEqual([
      ["a", "1.0", 0],
      ["b", "2.0", 1],
    ]);
  });

  it("drops results when a later layer deletes or replaces the file", async () => {
    const cataloger = pkgCataloger();
    const layers = await walkWithFileCataloger(
      cataloger,
      tempDir,
      [
        { path: "opt/a.pkg", content: "PKG a@1.0" },
        { path: "opt/lib/b.pkg", content: "PKG b@1.0" },
        { path: "opt/c.pkg", content: "PKG c@1.0" },
      ],
      [{ path: "opt/.wh.a.pkg" }, { path: "opt/.wh.lib" }, { path: "opt/c.pkg", content: "PKG c@2.0" }],
    );
    const inventory = catalogLayers(layers, [cataloger], NO_OS);
    expect(inventory.packages.map((pkg) => [pkg.name, pkg.version, pkg.layerIndex])).toEqual([["c", "2.0", 1]]);
  });

  it("skips files whose first bytes fail the sniff, yet lets them hide a lower copy", async () => {
    const seen: string[] = [];
    const cataloger = pkgCataloger(seen);
    const layers = await walkWithFileCataloger(
      cataloger,
      tempDir,
      [{ path: "opt/a.pkg", content: "PKG a@1.0" }],
      [{ path: "opt/a.pkg", content: "ELF not a package" }],
    );
    expect(seen).toEqual(["opt/a.pkg"]);
    expect(catalogLayers(layers, [cataloger], NO_OS).packages).toEqual([]);
  });

  it("keeps the same package in an unchanged rewrite attributed to the layer that introduced it", async () => {
    const cataloger = pkgCataloger();
    const layers = await walkWithFileCataloger(
      cataloger,
      tempDir,
      [{ path: "opt/a.pkg", content: "PKG a@1.0" }],
      [{ path: "opt/a.pkg", content: "PKG a@1.0" }],
    );
    expect(catalogLayers(layers, [cataloger], NO_OS).packages.map((pkg) => pkg.layerIndex)).toEqual([0]);
  });

  it("a cataloger that throws costs one warning, not the scan", async () => {
    const broken: FileCataloger = { ...pkgCataloger(), analyze: async () => Promise.reject(new Error("bad header")) };
    const [snapshot] = await walkWithFileCataloger(broken, tempDir, [{ path: "opt/a.pkg", content: "PKG a@1.0" }]);
    expect(snapshot!.warnings).toEqual(["test-pkg: opt/a.pkg: bad header"]);
  });
});

describe("spooled files", () => {
  it("spills past the memory limit, reads back at any offset and removes the spill", async () => {
    const spool = new SpooledFile(tempDir, 1024);
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
    for (let offset = 0; offset < data.length; offset += 700) await spool.write(data.subarray(offset, offset + 700));
    const content = await spool.content("big.bin", 0o644);
    expect(content.size).toBe(5000);
    expect(readdirSync(tempDir).some((name) => name.startsWith("stowaway-spill-"))).toBe(true);
    expect((await content.read(4000, 200)).equals(data.subarray(4000, 4200))).toBe(true);
    expect((await content.read(4900, 500)).equals(data.subarray(4900))).toBe(true);
    expect((await content.readAll()).equals(data)).toBe(true);
    await spool.dispose();
    expect(readdirSync(tempDir).some((name) => name.startsWith("stowaway-spill-"))).toBe(false);
    expect(existsSync(tempDir)).toBe(true);
  });
});

describe("files only file catalogers read", () => {
  it("are read whole as a view of the one chunk they arrived in, kept files as a copy of their own", async () => {
    const data = "PKG view@1.0\n";
    const chunk = () => Buffer.from(`tar bytes before${data}and after`);
    const inChunk = (bytes: Buffer) => bytes.subarray(16, 16 + data.length);
    // Overwriting the chunk afterwards shows whether readAll() handed over a view or a copy.
    const readBack = async (transient: boolean, pieces: number) => {
      const source = chunk();
      const spool = new SpooledFile(tempDir, undefined, data.length, transient);
      const bytes = inChunk(source);
      if (pieces === 1) spool.write(bytes);
      else {
        spool.write(bytes.subarray(0, 5));
        spool.write(bytes.subarray(5));
      }
      const read = await (await spool.content("a.pkg", 0o644)).readAll();
      expect(read.toString()).toBe(data);
      source.fill(0x2a);
      return read.toString();
    };
    expect(await readBack(true, 1)).toBe("*".repeat(data.length));
    expect(await readBack(false, 1)).toBe(data);
    // In several chunks, even a transient file is joined into a buffer of its own.
    expect(await readBack(true, 2)).toBe(data);
  });

  it("are analysed intact while the walker recycles its read buffers, and kept files stay intact after", async () => {
    // Hundreds of small files (some across the 1 MiB reads of a blob on disk) between files no one
    // wants, where most reads end, so their buffers are reused, in a tar made by tar(1).
    const root = path.join(tempDir, "recycle-root");
    mkdirSync(root, { recursive: true });
    const expected = new Map<string, string>();
    const kept = new Map<string, Buffer>();
    for (let i = 0; i < 400; i++) {
      const body = Buffer.alloc(100 + ((i * 7919) % 70_000), i % 251);
      const content = Buffer.concat([Buffer.from(`PKG p${i}@${i}.0\n`), body]);
      const name = `f${String(i).padStart(3, "0")}a.${i % 5 === 0 ? "view" : "pkg"}`;
      writeFileSync(path.join(root, name), content);
      writeFileSync(path.join(root, `f${String(i).padStart(3, "0")}b.bin`), Buffer.alloc(64 * 1024, 0xee));
      if (name.endsWith(".pkg")) expected.set(name, createHash("sha256").update(content).digest("hex"));
      else kept.set(name, content);
    }
    const tar = path.join(tempDir, "recycle.tar");
    execFileSync("tar", ["-cf", tar, "-C", root, "--sort=name", "."]);
    const size = statSync(tar).size;
    const digests = new Map<string, string>();
    const hashing: FileCataloger = {
      kind: "file",
      name: "hash",
      version: 1,
      wants: (file) => file.endsWith(".pkg"),
      async analyze(file) {
        // readAll() and read() must both see the file's bytes, whatever happened to other buffers.
        const whole = await file.readAll();
        const parts = Buffer.concat([await file.read(0, 10), await file.read(10, file.size)]);
        expect(parts.equals(whole)).toBe(true);
        digests.set(file.path, createHash("sha256").update(whole).digest("hex"));
        return [];
      },
    };
    const blob = await FileBlob.open({ file: tar, start: 0, size }, undefined, "recycle.tar");
    const snapshot = await walkLayer(blob, "sha256:unchecked", {
      what: "recycle.tar",
      wants: (file) => file.endsWith(".view"),
      fileCatalogers: [hashing],
      tempDir,
      verifyDiffId: false,
    });
    expect(snapshot.warnings).toEqual([]);
    expect(digests).toEqual(expected);
    expect(snapshot.files.size).toBe(kept.size);
    for (const [name, content] of kept) expect(snapshot.files.get(name)?.equals(content), name).toBe(true);
  });
});
