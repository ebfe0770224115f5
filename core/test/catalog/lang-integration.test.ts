import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultCatalogers, isFileCataloger } from "../../src/catalog/index.js";
import { scan } from "../../src/scan.js";
import { buildImage, buildLayer, writeDockerArchive } from "../helpers/image-builder.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

const tempDir = mkdtempSync(path.join(os.tmpdir(), "stowaway-lang-integration-"));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

const cacheDir = () => mkdtempSync(path.join(tempDir, "cache-"));

const METADATA = (name: string, version: string) =>
  `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\nLicense: Apache 2.0\n\nlong description\n`;

describe("language catalogers in a whole scan", () => {
  it("reports a dist-info an OS package installed once, as the OS package (R1), and keeps pip's own", async () => {
    const debMetadata = "usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA";
    const pipMetadata = "usr/local/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA";
    const status = [
      "Package: python3-requests",
      "Status: install ok installed",
      "Architecture: all",
      "Source: requests",
      "Version: 2.28.1+dfsg-1",
      "Maintainer: Debian Python Team <team+python@tracker.debian.org>",
      "Description: elegant and simple HTTP library for Python3",
      "",
    ].join("\n");
    const list = [
      "/.",
      "/usr",
      "/usr/lib/python3/dist-packages",
      `/${path.dirname(debMetadata)}`,
      `/${debMetadata}`,
    ].join("\n");
    const osLayer = await buildLayer([
      { path: "etc/os-release", content: 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n' },
      { path: "var/lib/dpkg/status", content: status },
      { path: "var/lib/dpkg/info/python3-requests.list", content: `${list}\n` },
    ]);
    const pythonLayer = await buildLayer([
      { path: debMetadata, content: METADATA("requests", "2.28.1") },
      { path: pipMetadata, content: METADATA("requests", "2.31.0") },
    ]);
    const archive = path.join(tempDir, "owned.tar");
    await writeDockerArchive(archive, [{ image: buildImage({ layers: [osLayer, pythonLayer] }) }]);
    const result = await scan(`docker-archive:${archive}`, { cacheDir: cacheDir() });
    expect(result.packages.map((p) => [p.type, p.name, p.version, p.locations[0], p.layerIndex])).toEqual([
      ["deb", "python3-requests", "2.28.1+dfsg-1", "var/lib/dpkg/status", 0],
      ["pypi", "requests", "2.31.0", pipMetadata, 1],
    ]);
    expect(result.warnings).toEqual([]);
  });

  it("finds every language's packages in one image walk", async () => {
    const layer = await buildLayer([
      { path: "app/site-packages/flask-3.0.0.dist-info/METADATA", content: METADATA("Flask", "3.0.0") },
      {
        path: "app/App.deps.json",
        content: JSON.stringify({
          libraries: { "App/1.0.0": { type: "project" }, "Serilog/3.1.1": { type: "package" } },
        }),
      },
      {
        path: "var/www/vendor/composer/installed.json",
        content: JSON.stringify({ packages: [{ name: "monolog/monolog", version: "3.5.0" }] }),
      },
      {
        path: "usr/local/bundle/specifications/rack-3.0.8.gemspec",
        content: 'Gem::Specification.new do |s|\n  s.name = "rack".freeze\n  s.version = "3.0.8"\nend\n',
      },
    ]);
    const archive = path.join(tempDir, "polyglot.tar");
    await writeDockerArchive(archive, [{ image: buildImage({ layers: [layer] }) }]);
    const result = await scan(`docker-archive:${archive}`, { cacheDir: cacheDir() });
    expect(result.packages.map((p) => [p.ecosystem, p.name, p.version])).toEqual([
      ["Packagist", "monolog/monolog", "3.5.0"],
      ["RubyGems", "rack", "3.0.8"],
      ["NuGet", "Serilog", "3.1.1"],
      ["PyPI", "flask", "3.0.0"],
    ]);
  });

  it("registers each language cataloger once, as a versioned file cataloger", () => {
    const catalogers = defaultCatalogers();
    const names = catalogers.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of ["python", "java", "golang", "rust", "dotnet", "php", "ruby"]) {
      const cataloger = catalogers.find((c) => c.name === name);
      expect(cataloger && isFileCataloger(cataloger), name).toBe(true);
      expect(cataloger!.version, name).toBeGreaterThanOrEqual(1);
    }
  });
});

describeWithShared("lockfile-only images", () => {
  const images = sharedPath("images/snyk-docker-plugin/docker-archives/docker-save");

  // Installed artifacts are catalogued, lockfiles are not (docs/matching-rules.md §3.4): these images ship only lockfiles.
  it.each(["gemfile.tar", "poetry.tar"])("%s yields no language packages", async (image) => {
    const result = await scan(`docker-archive:${images}/${image}`, { cacheDir: cacheDir() });
    expect(result.packages.filter((p) => ["gem", "pypi"].includes(p.type))).toEqual([]);
  });
});
