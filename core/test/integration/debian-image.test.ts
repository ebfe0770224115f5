import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { scan } from "../../src/scan.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

const archive = sharedPath("images/debian/bookworm-minbase.oci-archive.tar");
const groundTruthFile = sharedPath("images/debian/bookworm-minbase.dpkg-query.tsv");
const cacheDir = mkdtempSync(path.join(os.tmpdir(), "stowaway-debian-"));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

describeWithShared("the real Debian 12 minbase image against its dpkg-query ground truth", () => {
  const [header, ...rows] = readFileSync(groundTruthFile, "utf8")
    .trimEnd()
    .split("\n")
    .map((line) => line.split("\t"));
  const column = (name: string): number => header!.indexOf(name);
  const installed = rows.filter((row) => row[column("status")]!.trim() === "ii");
  const expected = installed.map((row) => ({
    name: row[column("package")],
    version: row[column("version")],
    arch: row[column("architecture")],
    source: {
      name: row[column("source_package")] || row[column("package")],
      version: row[column("source_version")] || row[column("version")],
    },
  }));

  it("lists exactly the installed packages dpkg-query lists, with versions, arch and source", async () => {
    const result = await scan(`oci-archive:${archive}`, { cacheDir });
    const debs = result.packages.filter((pkg) => pkg.type === "deb");
    const actual = debs.map((pkg) => ({ name: pkg.name, version: pkg.version, arch: pkg.arch, source: pkg.source }));
    const byName = (a: { name?: string }, b: { name?: string }): number => a.name!.localeCompare(b.name!);
    expect(actual.sort(byName)).toEqual(expected.sort(byName));
    expect(result.artifact.os).toMatchObject({ family: "debian", codename: "bookworm", ecosystem: "Debian:12" });
    expect(result.artifact.os.version).toMatch(/^12(\.\d+)?$/);
    expect(new Set(debs.map((pkg) => pkg.ecosystem))).toEqual(new Set(["Debian:12"]));
    expect(
      debs.every(
        (pkg) => pkg.layerIndex === 0 && pkg.purl.startsWith(`pkg:deb/debian/${encodeURIComponent(pkg.name)}@`),
      ),
    ).toBe(true);
  });

  it("gives the same answer from the warm layer cache", async () => {
    const cold = await scan(`oci-archive:${archive}`, { cacheDir });
    let walked = 0;
    const warm = await scan(`oci-archive:${archive}`, {
      cacheDir,
      onProgress: (event) => {
        if (event.kind === "layer-start") walked += 1;
      },
    });
    expect(walked).toBe(0);
    expect(warm).toEqual(cold);
  });
});
