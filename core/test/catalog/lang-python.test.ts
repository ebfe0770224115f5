import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildZip } from "../helpers/zip-builder.js";
import { createPythonCataloger, isInstalledPythonMetadata } from "../../src/catalog/python/index.js";
import { scan } from "../../src/scan.js";
import { buildImage, buildLayer, writeDockerArchive } from "../helpers/image-builder.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { analyzeFile, analyzeFixture, python } from "./lang-helpers.js";

const tempDir = mkdtempSync(path.join(os.tmpdir(), "stowaway-lang-python-"));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

const cataloger = createPythonCataloger();

interface Headers {
  name: string | null;
  version: string | null;
  normalized: string | null;
  license: string | null;
  classifiers: string[];
}

/** The headers as Python's own email parser reads them, and the name normalised by PEP 503's regex. */
function pythonHeaders(file: string): Headers {
  return python<Headers>(
    `import json, re, sys
from email.parser import BytesHeaderParser
m = BytesHeaderParser().parse(open(sys.argv[1], "rb"))
name = m.get("Name")
print(json.dumps({"name": name, "version": m.get("Version"), "license": m.get("License"),
  "normalized": re.sub(r"[-_.]+", "-", name).lower() if name else None,
  "classifiers": m.get_all("Classifier") or []}))`,
    file,
  );
}

describeWithShared("python cataloger on syft fixtures", () => {
  const testdata = sharedPath("fixtures/syft/python/testdata");
  const cases: [string, string][] = [
    [
      "site-packages/nested/dist-name/dist-info/METADATA",
      "usr/lib/python3/dist-packages/Pygments-2.6.1.dist-info/METADATA",
    ],
    [
      "site-packages/nested/egg-name/egg-info/PKG-INFO",
      "usr/local/lib/python3.8/site-packages/requests-2.22.0-py3.8.egg-info/PKG-INFO",
    ],
    ["site-packages/test/test.egg-info", "usr/lib/python3/dist-packages/requests-2.22.0.egg-info"],
    ["Python-2.7.egg-info", "usr/lib/python2.7/lib-dynload/Python-2.7.egg-info"],
    [
      "site-packages/uppercase/egg-name/EGG-INFO/PKG-INFO",
      "opt/lib/site-packages/requests-2.22.0-py3.8.egg/EGG-INFO/PKG-INFO",
    ],
    ["site-packages/nested/egg-name/egg-info/PKG-INFO-INVALID", "opt/mxnet.egg-info/PKG-INFO"],
  ];

  it.each(cases)("reads %s as Python's email parser does", async (fixture, path) => {
    const expected = pythonHeaders(`${testdata}/${fixture}`);
    const { wanted, packages, warnings } = await analyzeFixture(cataloger, `${testdata}/${fixture}`, path);
    expect(wanted).toBe(true);
    expect(warnings).toEqual([]);
    expect(packages).toHaveLength(1);
    const [pkg] = packages;
    expect(pkg).toMatchObject({
      name: expected.normalized,
      version: expected.version,
      type: "pypi",
      ecosystem: "PyPI",
      purl: `pkg:pypi/${expected.normalized}@${expected.version}`,
      locations: [path],
    });
    if (expected.license && !expected.license.includes("\n") && expected.license !== "UNKNOWN")
      expect(pkg!.licenses).toEqual([expected.license]);
  });

  it("falls back to the licence classifiers when there is no License header", async () => {
    const fixture = `${testdata}/site-packages/license/with-license-file-declared.dist-info/METADATA`;
    const expected = pythonHeaders(fixture);
    expect(expected.license).toBeNull();
    const classifierLicenses = expected.classifiers
      .filter((c) => c.startsWith("License ::"))
      .map((c) => c.split("::").pop()!.trim());
    const { packages } = await analyzeFixture(cataloger, fixture, "app/Pygments-2.6.1.dist-info/METADATA");
    expect(packages[0]!.licenses).toEqual(classifierLicenses);
  });

  it("warns about metadata without a version and takes an empty egg-info's identity from its file name", async () => {
    const noVersion = await analyzeFixture(
      cataloger,
      `${testdata}/site-packages/no-version/no-version-py3.8.egg-info`,
      "usr/lib/python3/dist-packages/no-version-py3.8.egg-info",
    );
    expect(noVersion.packages).toEqual([]);
    expect(noVersion.warnings).toEqual([
      "python: usr/lib/python3/dist-packages/no-version-py3.8.egg-info: no Version header for no-version",
    ]);
    // The fixture's own file name is the only source of its identity: empty-1.0.0-py3.8.egg-info.
    const empty = await analyzeFixture(
      cataloger,
      `${testdata}/empty-1.0.0-py3.8.egg-info`,
      "usr/lib/python3/dist-packages/empty-1.0.0-py3.8.egg-info",
    );
    expect(empty.packages.map((p) => [p.name, p.version])).toEqual([["empty", "1.0.0"]]);
  });
});

describe("python cataloger on synthetic metadata", () => {
  it("wants installed metadata only", () => {
    for (const path of [
      "usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA",
      "usr/lib/python3.11/site-packages/six-1.16.0.egg-info/PKG-INFO",
      "usr/lib/python3/dist-packages/six-1.16.0.egg-info",
      "opt/x/foo-1.0-py3.8.egg/EGG-INFO/PKG-INFO",
    ])
      expect(isInstalledPythonMetadata(path), path).toBe(true);
    for (const path of [
      "app/METADATA",
      "usr/lib/python3/dist-packages/requests-2.28.1.dist-info/RECORD",
      "usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA.bak",
      "app/poetry.lock",
      "app/requirements.txt",
    ])
      expect(isInstalledPythonMetadata(path), path).toBe(false);
  });

  it("normalises names per PEP 503 and keeps the declared one, with continuation lines and License-Expression", async () => {
    const metadata = [
      "Metadata-Version: 2.4",
      "Name: Zope.Interface_Extra",
      "Version: 6.0.post1",
      "License-Expression: MIT OR",
      "  Apache-2.0",
      "License: ignored when an expression exists",
      "",
      "Name: not-a-header",
    ].join("\r\n");
    const { packages } = await analyzeFile(
      cataloger,
      "usr/lib/python3/site-packages/zope.interface_extra-6.0.post1.dist-info/METADATA",
      metadata,
    );
    expect(packages).toEqual([
      expect.objectContaining({
        name: "zope-interface-extra",
        version: "6.0.post1",
        purl: "pkg:pypi/zope-interface-extra@6.0.post1",
        licenses: ["MIT OR\nApache-2.0"],
        metadata: { declaredName: "Zope.Interface_Extra" },
      }),
    ]);
  });

  it("ignores a licence pasted in full and never throws on junk", async () => {
    const full = await analyzeFile(
      cataloger,
      "a/x-1.0.dist-info/METADATA",
      "Name: x\nVersion: 1.0\nLicense: Copyright (c) 2020\n  Permission is hereby granted, free of charge\n",
    );
    expect(full.packages[0]!.licenses).toBeUndefined();
    const junk = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 131) % 256));
    const result = await analyzeFile(cataloger, "a/junk.egg-info/PKG-INFO", junk);
    expect(result.packages).toEqual([]);
    expect(result.warnings).toHaveLength(1);
  });

  it("does not take a directory version for a different name", async () => {
    const { packages, warnings } = await analyzeFile(cataloger, "a/other-2.0.dist-info/METADATA", "Name: mine\n");
    expect(packages).toEqual([]);
    expect(warnings[0]).toMatch(/no Version header for mine/);
  });
});

/** Zipimport-readable eggs are plain deflated zips. */
const zip = (entries: Record<string, Buffer | string>): Promise<Buffer> => buildZip(entries);

/** The Name and Version of a zipped egg's EGG-INFO/PKG-INFO, as zipfile and the email parser read them. */
function eggHeaders(egg: string): { name: string; version: string; normalized: string } {
  return python(
    `import json, re, sys, zipfile
from email.parser import BytesHeaderParser
m = BytesHeaderParser().parsebytes(zipfile.ZipFile(sys.argv[1]).read("EGG-INFO/PKG-INFO"))
print(json.dumps({"name": m["Name"], "version": m["Version"], "normalized": re.sub(r"[-_.]+", "-", m["Name"]).lower()}))`,
    egg,
  );
}

const HAS_SETUPTOOLS = spawnSync("python3", ["-c", "import setuptools"], { stdio: "ignore" }).status === 0;

describe.skipIf(!HAS_SETUPTOOLS)("python cataloger on an egg built by setuptools' bdist_egg", () => {
  let egg = "";

  function buildEgg(): string {
    if (egg) return egg;
    const project = path.join(tempDir, "project");
    mkdirSync(path.join(project, "sample_pkg"), { recursive: true });
    writeFileSync(path.join(project, "sample_pkg", "__init__.py"), "VALUE = 1\n");
    writeFileSync(
      path.join(project, "setup.py"),
      "from setuptools import setup\nsetup(name='Sample.Egg_Pkg', version='1.4.2', packages=['sample_pkg'], license='MIT', zip_safe=True)\n",
    );
    execFileSync("python3", ["setup.py", "-q", "bdist_egg"], {
      cwd: project,
      stdio: "pipe",
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    });
    const built = readdirSync(path.join(project, "dist")).filter((name) => name.endsWith(".egg"));
    expect(built).toHaveLength(1);
    egg = path.join(project, "dist", built[0]!);
    return egg;
  }

  it("reads the egg's EGG-INFO/PKG-INFO from inside the zip", async () => {
    const file = buildEgg();
    const expected = eggHeaders(file);
    const at = `usr/local/lib/python3.11/site-packages/${path.basename(file)}`;
    const { wanted, packages, warnings } = await analyzeFile(cataloger, at, readFileSync(file));
    expect(wanted).toBe(true);
    expect(warnings).toEqual([]);
    expect(packages).toEqual([
      expect.objectContaining({
        name: expected.normalized,
        version: expected.version,
        type: "pypi",
        ecosystem: "PyPI",
        purl: `pkg:pypi/${expected.normalized}@${expected.version}`,
        locations: [at],
        metadata: { declaredName: expected.name },
      }),
    ]);
  });

  it("reports the egg in a whole image scan", async () => {
    const file = buildEgg();
    const at = `usr/lib/python3/site-packages/${path.basename(file)}`;
    const layer = await buildLayer([
      { path: at, content: readFileSync(file) },
      { path: "usr/lib/python3/site-packages/easy-install.pth", content: `./${path.basename(file)}\n` },
    ]);
    const archive = path.join(tempDir, "egg-image.tar");
    await writeDockerArchive(archive, [{ image: buildImage({ layers: [layer] }) }]);
    const result = await scan(`docker-archive:${archive}`, { cacheDir: mkdtempSync(path.join(tempDir, "cache-")) });
    const expected = eggHeaders(file);
    expect(result.packages.map((p) => [p.type, p.name, p.version, p.locations[0]])).toEqual([
      ["pypi", expected.normalized, expected.version, at],
    ]);
    expect(result.warnings).toEqual([]);
  });
});

describeWithShared("python cataloger on zipped eggs made from real metadata", () => {
  it("reads a real PKG-INFO zipped as an egg with its modules", async () => {
    const fixture = sharedPath("fixtures/syft/python/testdata/site-packages/uppercase/egg-name/EGG-INFO/PKG-INFO");
    const testdata = path.dirname(fixture);
    const egg = await zip({
      "EGG-INFO/PKG-INFO": readFileSync(fixture),
      "EGG-INFO/top_level.txt": readFileSync(path.join(testdata, "top_level.txt")),
      "EGG-INFO/zip-safe": "\n",
      "requests/__init__.py": "__version__ = '2.22.0'\n",
    });
    const eggFile = path.join(tempDir, "requests-2.22.0-py3.8.egg");
    writeFileSync(eggFile, egg);
    const expected = eggHeaders(eggFile);
    const at = "opt/venv/lib/python3.8/site-packages/requests-2.22.0-py3.8.egg";
    const { packages, warnings } = await analyzeFile(cataloger, at, egg);
    expect(warnings).toEqual([]);
    expect(packages.map((p) => [p.name, p.version, p.locations[0]])).toEqual([
      [expected.normalized, expected.version, at],
    ]);
  });
});

describe("python cataloger on damaged eggs", () => {
  it("wants zipped eggs but not empty files, and warns once about what it cannot read", async () => {
    expect(cataloger.wants("usr/lib/python3/site-packages/six-1.16.0-py3.11.egg", 4096, 0o644)).toBe(true);
    expect(cataloger.wants("usr/lib/python3/site-packages/six-1.16.0-py3.11.egg", 0, 0o644)).toBe(false);
    expect(cataloger.wants("usr/lib/python3/site-packages/six-1.16.0-py3.11.egg.bak", 4096, 0o644)).toBe(false);
    const notZip = await analyzeFile(cataloger, "site-packages/x-1.0-py3.11.egg", "not a zip at all");
    expect(notZip.packages).toEqual([]);
    expect(notZip.warnings).toEqual([
      expect.stringMatching(/^python: site-packages\/x-1\.0-py3\.11\.egg: not a readable egg archive: /),
    ]);
    const noInfo = await analyzeFile(cataloger, "site-packages/y-1.0-py3.11.egg", await zip({ "y/__init__.py": "" }));
    expect(noInfo).toMatchObject({
      packages: [],
      warnings: ["python: site-packages/y-1.0-py3.11.egg: no EGG-INFO/PKG-INFO in the egg"],
    });
  });
});

describe("core-metadata headers", () => {
  it("reads CRLF headers with continuation lines and stops at the blank line before the description", async () => {
    const metadata =
      "Metadata-Version: 2.1\r\nName: Foo_Bar\r\nVersion: 1.2\r\nLicense: MIT\r\n  or Apache\r\n\r\n" +
      "Name: not-a-header\r\nVersion: 9\r\n";
    const { packages } = await analyzeFile(
      createPythonCataloger(),
      "usr/lib/python3/dist-packages/Foo_Bar-1.2.dist-info/METADATA",
      metadata,
    );
    expect(packages.map(({ name, version, licenses, metadata }) => ({ name, version, licenses, metadata }))).toEqual([
      { name: "foo-bar", version: "1.2", licenses: undefined, metadata: { declaredName: "Foo_Bar" } },
    ]);
  });

  it("reads the headers alone, whatever the description after the first blank line holds", async () => {
    const description = Buffer.concat([
      Buffer.from("License: GPL-3.0\nName: decoy\n\nVersion: 0\n"),
      Buffer.from([0xff, 0xfe, 0xc3, 0x0a, 0x0a]),
    ]);
    const cases: [string, Buffer, string, string | undefined][] = [
      ["LF", Buffer.from("Name: Pkg\nVersion: 1.0\nLicense: MIT\n\n"), "1.0", "MIT"],
      [
        "a blank CRLF line after LF lines",
        Buffer.from("Name: Pkg\nVersion: 2.0\n\r\nLicense: MIT\n\n"),
        "2.0",
        undefined,
      ],
      ["a line of spaces", Buffer.from("Name: Pkg\nVersion: 3.0\n   \nLicense: MIT\n\n"), "3.0", undefined],
      ["no blank line at all", Buffer.from("Name: Pkg\nVersion: 4.0\nLicense: BSD\n"), "4.0", "BSD"],
      ["a non-ASCII last header", Buffer.from("Name: Pkg\nVersion: 5.0\nLicense: Müller-1\n\n"), "5.0", "Müller-1"],
    ];
    for (const [what, headers, version, license] of cases) {
      const { packages, warnings } = await analyzeFile(
        createPythonCataloger(),
        "usr/lib/python3/site-packages/Pkg-9.dist-info/METADATA",
        what === "no blank line at all" ? headers : Buffer.concat([headers, description]),
      );
      expect(warnings, what).toEqual([]);
      expect(
        packages.map((p) => [p.name, p.version, p.licenses?.[0]]),
        what,
      ).toEqual([["pkg", version, license]]);
    }
  });
});
