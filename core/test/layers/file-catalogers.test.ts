import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { FileCataloger, FileContent, PackageCandidate } from "../../src/catalog/types.js";
import { catalogLayers } from "../../src/catalog/inventory.js";
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
