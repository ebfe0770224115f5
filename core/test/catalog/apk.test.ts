import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PackageURL } from "packageurl-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createApkCataloger,
  createOsDetector,
  defaultCatalogers,
  type OsInfo,
  type PackageCandidate,
} from "../../src/catalog/index.js";
import { scan } from "../../src/scan.js";
import { MemoryView, viewFromDir } from "../helpers/memory-view.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

const cataloger = createApkCataloger();
const DB = "lib/apk/db/installed";
const ALPINE_319: OsInfo = { family: "alpine", version: "3.19.1", ecosystem: "Alpine:v3.19" };

function run(view: MemoryView, os: OsInfo = ALPINE_319): { packages: PackageCandidate[]; warnings: string[] } {
  const warnings: string[] = [];
  return { packages: cataloger.catalog(view, { os, warnings }), warnings };
}

function sh(script: string, ...args: string[]): string {
  return execFileSync("sh", ["-c", script, "sh", ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

/**
 * "name\tversion\tarch\torigin" per stanza that has both P and V, read by awk in paragraph mode:
 * an independent reading of the database (the origin defaults to the name, as apk's does).
 */
function awkPackages(file: string): string[] {
  const script = String.raw`awk 'BEGIN { RS = ""; FS = "\n" }
    { p = ""; v = ""; a = ""; o = "";
      for (i = 1; i <= NF; i++) {
        k = substr($i, 1, 2); val = substr($i, 3);
        if (k == "P:") p = val; else if (k == "V:") v = val; else if (k == "A:") a = val; else if (k == "o:") o = val;
      }
      if (p != "" && v != "") print p "\t" v "\t" a "\t" (o == "" ? p : o) }' "$1"`;
  return sh(script, file).split("\n").filter(Boolean).sort();
}

/** "name\tpath" for every R: line, joined with the F: directory before it, by awk. */
function awkOwnedFiles(file: string): string[] {
  const script = String.raw`awk '/^P:/ { p = substr($0, 3); d = "" } /^F:/ { d = substr($0, 3) }
    /^R:/ { print p "\t" (d == "" ? "" : d "/") substr($0, 3) } /^$/ { d = "" }' "$1"`;
  return sh(script, file).split("\n").filter(Boolean).sort();
}

const rows = (packages: PackageCandidate[]): string[] =>
  packages.map((pkg) => [pkg.name, pkg.version, pkg.arch ?? "", pkg.source?.name].join("\t")).sort();
const owned = (packages: PackageCandidate[]): string[] =>
  packages.flatMap((pkg) => (pkg.ownedFiles ?? []).map((file) => `${pkg.name}\t${file}`)).sort();

describeWithShared("apk cataloger on real installed databases", () => {
  const fixtures = [
    "fixtures/os-packages/apk/apk-tools-query-installed.data",
    "fixtures/os-packages/apk/trivy-apk-installed",
    "fixtures/syft/alpine/testdata/base",
    "fixtures/syft/alpine/testdata/single",
    "fixtures/syft/alpine/testdata/empty-deps-and-provides",
    "fixtures/syft/alpine/testdata/extra-file-attributes",
    "fixtures/syft/alpine/testdata/multiple-1/lib/apk/db/installed",
    "fixtures/syft/alpine/testdata/multiple-2/lib/apk/db/installed",
    "fixtures/syft/alpine/testdata/corrupt/lib/apk/db/installed",
    "fixtures/snyk-docker-plugin/os/alpine_2_6_6/fs/lib/apk/db/installed",
    "fixtures/snyk-docker-plugin/os/alpine_3_7_0/fs/lib/apk/db/installed",
  ];

  it.each(fixtures)("%s: every stanza with name and version, with arch and origin", (fixture) => {
    const file = sharedPath(fixture);
    const { packages } = run(new MemoryView({ [DB]: readFileSync(file) }));
    const expected = awkPackages(file);
    expect(expected.length).toBeGreaterThan(0);
    expect(rows(packages)).toEqual(expected);
  });

  it.each(fixtures)("%s: owned files are the F/R pairs, as full paths", (fixture) => {
    const file = sharedPath(fixture);
    const { packages } = run(new MemoryView({ [DB]: readFileSync(file) }));
    expect(owned(packages)).toEqual(awkOwnedFiles(file));
  });

  it("counts the apk-tools database independently: 39 stanzas by grep, all complete", () => {
    const file = sharedPath("fixtures/os-packages/apk/apk-tools-query-installed.data");
    const stanzas = Number(sh(`grep -c '^P:' "$1"`, file).trim());
    const { packages, warnings } = run(new MemoryView({ [DB]: readFileSync(file) }));
    expect(packages).toHaveLength(stanzas);
    expect(warnings).toEqual([]);
  });

  it("reports a stanza without version instead of inventing one (trivy fixture)", () => {
    const file = sharedPath("fixtures/os-packages/apk/trivy-apk-installed");
    const stanzas = Number(sh(`grep -c '^P:' "$1"`, file).trim());
    const { packages, warnings } = run(new MemoryView({ [DB]: readFileSync(file) }));
    expect(packages).toHaveLength(stanzas - 1);
    expect(packages.some((pkg) => pkg.name === "invalidPackageWithoutAVersion")).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^apk: lib\/apk\/db\/installed: line \d+: package "invalidPackageWithoutAVersion" without version$/,
    );
  });

  it("reads past a junk line (syft's corrupt fixture) with a warning", () => {
    const file = sharedPath("fixtures/syft/alpine/testdata/corrupt/lib/apk/db/installed");
    const { packages, warnings } = run(new MemoryView({ [DB]: readFileSync(file) }));
    expect(packages.map((pkg) => pkg.name)).toEqual(sh(`sed -n 's/^P://p' "$1"`, file).split("\n").filter(Boolean));
    expect(warnings.join("\n")).toMatch(/line 1: /);
  });

  it("builds purls keyed by the branch, with upstream = origin when it differs", () => {
    const file = sharedPath("fixtures/os-packages/apk/apk-tools-query-installed.data");
    const { packages } = run(new MemoryView({ [DB]: readFileSync(file) }));
    const byName = new Map(awkPackages(file).map((row) => [row.split("\t")[0]!, row.split("\t")]));
    for (const pkg of packages) {
      const [name, version, arch, origin] = byName.get(pkg.name)!;
      const purl = PackageURL.fromString(pkg.purl);
      expect([purl.type, purl.namespace, purl.name, purl.version]).toEqual(["apk", "alpine", name, version]);
      expect(purl.qualifiers).toEqual({
        arch,
        distro: "alpine-3.19",
        ...(origin !== name ? { upstream: origin } : {}),
      });
      expect(pkg).toMatchObject({ type: "apk", ecosystem: "Alpine:v3.19", locations: [DB] });
    }
  });

  it("takes the licence, maintainer and commit from L, m and c", () => {
    const file = sharedPath("fixtures/os-packages/apk/trivy-apk-installed");
    const { packages } = run(new MemoryView({ [DB]: readFileSync(file) }));
    const musl = packages.find((pkg) => pkg.name === "musl")!;
    const field = (key: string): string =>
      sh(
        `awk -v k="${key}" '/^P:musl$/ { m = 1 } m && index($0, k ":") == 1 { print substr($0, 3); exit }' "$1"`,
        file,
      ).trim();
    expect(musl.licenses).toEqual([field("L")]);
    expect(musl.metadata).toMatchObject({ maintainer: field("m"), commit: field("c") });
  });

  it("uses the image's own release files through the detector (snyk alpine 3.7.0 tree)", () => {
    const view = viewFromDir(sharedPath("fixtures/snyk-docker-plugin/os/alpine_3_7_0/fs"));
    const os = createOsDetector().detect(view, []);
    const { packages } = run(view, os);
    expect(os.ecosystem).toBe("Alpine:v3.7");
    expect(new Set(packages.map((pkg) => pkg.ecosystem))).toEqual(new Set(["Alpine:v3.7"]));
    expect(packages.every((pkg) => pkg.purl.includes("distro=alpine-3.7"))).toBe(true);
  });
});

describe("apk cataloger edge cases", () => {
  it("never throws on binary junk and reports it", () => {
    const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256));
    const { packages, warnings } = run(new MemoryView({ [DB]: junk }));
    expect(packages).toEqual([]);
    expect(warnings.length).toBeGreaterThan(0);
  });

  it("leaves ecosystem empty and the purl without namespace when the OS is unknown", () => {
    const { packages } = run(new MemoryView({ [DB]: "P:musl\nV:1.2.4-r2\nA:x86_64\n" }), { family: "unknown" });
    expect(packages).toHaveLength(1);
    expect(packages[0]).toMatchObject({ ecosystem: "", purl: "pkg:apk/musl@1.2.4-r2?arch=x86_64" });
  });

  it("reads one database once when lib is a link to usr/lib", () => {
    const view = new MemoryView({ "usr/lib/apk/db/installed": "P:musl\nV:1.2.4-r2\n" }, { lib: "usr/lib" });
    const { packages } = run(view);
    expect(packages.map((pkg) => pkg.name)).toEqual(["musl"]);
    expect(packages[0]!.locations).toEqual([DB]);
  });

  it("is registered among the default catalogers", () => {
    expect(defaultCatalogers().map((c) => c.name)).toContain("apk");
  });
});

/** Pulls lib/apk/db/installed out of a gzip'd docker-save archive with tar alone, layer by layer. */
function extractInstalled(archive: string, dir: string): string {
  const manifest = JSON.parse(sh('tar -xzOf "$1" manifest.json', archive)) as Array<{ Layers: string[] }>;
  let found = "";
  manifest[0]!.Layers.forEach((layer, index) => {
    const out = path.join(dir, `installed.${index}`);
    sh(`tar -xzOf "$1" "$2" | tar -xOf - ${DB} > "$3" 2>/dev/null || true`, archive, layer, out);
    if (readFileSync(out).length > 0) found = out;
  });
  return found;
}

describeWithShared("apk cataloger on real Alpine images", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "stowaway-apk-"));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(["alpine-310", "alpine-311"])("%s: the database in the image, counted by grep", (image) => {
    const file = extractInstalled(sharedPath(`images/trivy/${image}.tar.gz`), mkdtempSync(path.join(dir, image)));
    expect(file).not.toBe("");
    const stanzas = Number(sh(`grep -c '^P:' "$1"`, file).trim());
    const { packages, warnings } = run(new MemoryView({ [DB]: readFileSync(file) }));
    expect(stanzas).toBeGreaterThan(10);
    expect(packages).toHaveLength(stanzas);
    expect(rows(packages)).toEqual(awkPackages(file));
    expect(owned(packages)).toEqual(awkOwnedFiles(file));
    expect(warnings).toEqual([]);
  });

  it("scan() of alpine-310 finds Alpine v3.10 and exactly the database's packages", async () => {
    const archive = sharedPath("images/trivy/alpine-310.tar.gz");
    const file = extractInstalled(archive, mkdtempSync(path.join(dir, "scan")));
    const expected = sh(String.raw`awk '/^P:/ { p = substr($0, 3) } /^V:/ { print p "\t" substr($0, 3) }' "$1"`, file)
      .split("\n")
      .filter(Boolean)
      .sort();
    const result = await scan(`docker-archive:${archive}`, { cacheDir: mkdtempSync(path.join(dir, "cache")) });
    expect(result.artifact.os).toMatchObject({ family: "alpine", ecosystem: "Alpine:v3.10" });
    const apks = result.packages.filter((pkg) => pkg.type === "apk");
    expect(apks.map((pkg) => `${pkg.name}\t${pkg.version}`).sort()).toEqual(expected);
    expect(new Set(apks.map((pkg) => pkg.ecosystem))).toEqual(new Set(["Alpine:v3.10"]));
    expect(apks.every((pkg) => pkg.layerIndex === 0)).toBe(true);
  });
});
