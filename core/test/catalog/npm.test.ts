import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  createNpmCataloger,
  defaultCatalogers,
  withinBound,
  type OsInfo,
  type PackageCandidate,
} from "../../src/catalog/index.js";
import { MemoryView, viewFromDir } from "../helpers/memory-view.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

const cataloger = createNpmCataloger();
const OS: OsInfo = { family: "unknown" };

function run(view: MemoryView): { packages: PackageCandidate[]; warnings: string[] } {
  const warnings: string[] = [];
  return { packages: cataloger.catalog(view, { os: OS, warnings }), warnings };
}

/** name and version as python3's json module reads them, independently of the cataloger. */
function pythonNameVersion(file: string): [string, string] {
  const out = execFileSync(
    "python3",
    ["-c", 'import json,sys; d=json.load(open(sys.argv[1])); print(d["name"]); print(d["version"])', file],
    {
      encoding: "utf8",
    },
  );
  const [name, version] = out.trim().split("\n");
  return [name!, version!];
}

const pkg = (name: string, version: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name, version, ...extra });

describeWithShared("npm cataloger on syft fixtures", () => {
  const testdata = sharedPath("fixtures/syft/javascript/testdata");

  it("finds the installed packages of a real node_modules tree, scoped ones included", () => {
    const view = viewFromDir(`${testdata}/pkg-lock`, "app");
    const { packages, warnings } = run(view);
    const expected = ["node_modules/cowsay/package.json", "node_modules/@actions/core/package.json"].map((file) => {
      const [name, version] = pythonNameVersion(`${testdata}/pkg-lock/${file}`);
      return { name, version, location: `app/${file}` };
    });
    expect(
      packages
        .map((p) => ({ name: p.name, version: p.version, location: p.locations[0] }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    ).toEqual(expected.sort((a, b) => a.name.localeCompare(b.name)));
    expect(warnings).toEqual([]);
    const actions = packages.find((p) => p.name === "@actions/core")!;
    expect(actions).toMatchObject({
      type: "npm",
      ecosystem: "npm",
      purl: `pkg:npm/%40actions/core@${expected.find((e) => e.name === "@actions/core")!.version}`,
    });
    expect(actions.licenses).toEqual(["MIT"]);
    expect(actions.bundled).toBeUndefined();
  });

  it.each([
    ["package-license-object.json", ["ISC"]],
    ["package-license-objects.json", ["MIT", "Apache-2.0"]],
    ["package-malformed-license.json", ["MIT"]],
    ["package.json", ["Artistic-2.0"]],
    ["package-no-license.json", undefined],
  ])("reads the license forms of %s", (file, licenses) => {
    const { packages } = run(
      new MemoryView({ "node_modules/npm/package.json": readFileSync(`${testdata}/pkg-json/${file}`) }),
    );
    expect(packages).toHaveLength(1);
    expect(packages[0]!.licenses).toEqual(licenses);
  });

  it("skips a manifest without name and version, and warns about corrupt JSON", () => {
    const view = new MemoryView({
      "node_modules/partial/package.json": readFileSync(`${testdata}/pkg-json/package-partial.json`),
      "node_modules/corrupt/package.json": readFileSync(`${testdata}/corrupt/package.json`),
    });
    const { packages, warnings } = run(view);
    expect(packages).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^npm: node_modules\/corrupt\/package\.json: malformed JSON/);
  });
});

describe("npm cataloger on synthetic trees", () => {
  const tree = new MemoryView({
    "app/package.json": pkg("my-app", "1.0.0"),
    "app/node_modules/express/package.json": pkg("express", "4.18.2", { license: "MIT" }),
    "app/node_modules/express/lib/package.json": pkg("not-a-package", "0.0.0"),
    "app/node_modules/express/node_modules/debug/package.json": pkg("debug", "2.6.9"),
    "app/node_modules/@babel/core/package.json": pkg("@babel/core", "7.23.0"),
    "app/node_modules/@babel/package.json": pkg("scope-dir", "0.0.0"),
    "app/node_modules/.bin/package.json": pkg("bin-dir", "0.0.0"),
    "app/node_modules/.pnpm/left-pad@1.3.0/node_modules/left-pad/package.json": pkg("left-pad", "1.3.0"),
    "app/node_modules/alias/package.json": pkg("real-name", "2.0.0"),
    "app/node_modules/old-bundle/package.json": pkg("old-bundle", "1.0.0", { _inBundle: true }),
    "usr/local/lib/node_modules/npm/package.json": pkg("npm", "10.2.4"),
    "usr/local/lib/node_modules/npm/node_modules/cross-spawn/package.json": pkg("cross-spawn", "7.0.3"),
    "usr/local/lib/node_modules/npm/node_modules/@npmcli/arborist/package.json": pkg("@npmcli/arborist", "7.2.1"),
    "usr/local/lib/node_modules/npm/node_modules/@npmcli/arborist/node_modules/semver/package.json": pkg(
      "semver",
      "7.5.4",
    ),
    "usr/lib/node_modules/corepack/node_modules/x/package.json": pkg("x", "1.0.0"),
    "opt/yarn/node_modules/yarn/node_modules/y/package.json": pkg("y", "1.0.0"),
  });
  const { packages, warnings } = run(tree);
  const byName = new Map(packages.map((p) => [p.name, p]));

  it("takes only manifests that are node_modules entries, at any depth", () => {
    expect([...byName.keys()].sort()).toEqual(
      [
        "@babel/core",
        "@npmcli/arborist",
        "cross-spawn",
        "debug",
        "express",
        "left-pad",
        "npm",
        "old-bundle",
        "real-name",
        "semver",
        "x",
        "y",
      ].sort(),
    );
    expect(warnings).toEqual([]);
  });

  it("names an aliased install by its package.json, not its directory", () => {
    expect(byName.get("real-name")?.locations).toEqual(["app/node_modules/alias/package.json"]);
  });

  it("flags packages inside npm, corepack and yarn's own trees as bundled, and keeps them (P13)", () => {
    for (const name of ["cross-spawn", "@npmcli/arborist", "semver", "x", "y", "old-bundle"])
      expect(byName.get(name)?.bundled, name).toBe(true);
    for (const name of ["npm", "express", "debug", "@babel/core", "left-pad"])
      expect(byName.get(name)?.bundled, name).toBeUndefined();
  });

  it("builds purls with the scope percent-encoded", () => {
    expect(byName.get("@babel/core")?.purl).toBe("pkg:npm/%40babel/core@7.23.0");
    expect(byName.get("express")?.purl).toBe("pkg:npm/express@4.18.2");
  });

  it("never throws on junk and warns instead", () => {
    const junk = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 59) % 256));
    const view = new MemoryView({
      "node_modules/a/package.json": junk,
      "node_modules/b/package.json": "null",
      "node_modules/c/package.json": "[1,2]",
      "node_modules/d/package.json": JSON.stringify({ name: 5, version: {} }),
      "node_modules/e/package.json": JSON.stringify({ name: "e", version: "1.0.0", license: { nope: 1 }, licenses: 7 }),
    });
    const result = run(view);
    expect(result.packages.map((p) => [p.name, p.licenses])).toEqual([["e", undefined]]);
    expect(result.warnings).toHaveLength(3);
  });

  it("wants installed manifests only", () => {
    const wanted = [
      "node_modules/a/package.json",
      "x/node_modules/@s/a/package.json",
      "node_modules/a/node_modules/b/package.json",
    ];
    const unwanted = [
      "package.json",
      "node_modules/a/lib/package.json",
      "node_modules/@s/package.json",
      "node_modules/.bin/package.json",
      "node_modules/a/package.json.bak",
    ];
    for (const p of wanted) expect(cataloger.wants(p, 1000), p).toBe(true);
    for (const p of unwanted) expect(cataloger.wants(p, 1000), p).toBe(false);
    expect(cataloger.wants("node_modules/a/package.json", 64 * 1024 * 1024)).toBe(true);
    expect(withinBound(cataloger, "node_modules/a/package.json", 64 * 1024 * 1024)).toBe(false);
  });

  it("is registered among the default catalogers", () => {
    expect(defaultCatalogers().map((c) => c.name)).toEqual(expect.arrayContaining(["dpkg", "npm"]));
  });
});
