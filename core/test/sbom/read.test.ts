import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PackageURL } from "packageurl-js";
import { afterAll, describe, expect, it } from "vitest";
import { StowawayError } from "../../src/errors.js";
import { purlFacts, readSbom } from "../../src/sbom/index.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const workDir = mkdtempSync(path.join(os.tmpdir(), "stowaway-sbom-read-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function write(name: string, content: string): string {
  const file = path.join(workDir, name);
  writeFileSync(file, content);
  return file;
}

describe("package URL → package facts", () => {
  it.each([
    ["pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12", "Debian:12"],
    ["pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12.5", "Debian:12"],
    ["pkg:deb/debian/libc6@2.36-9?distro=debian-bookworm", "Debian:12"],
    ["pkg:deb/debian/libc6@2.31-13?distro=debian-bullseye", "Debian:11"],
    ["pkg:deb/ubuntu/libc6@2.35-0ubuntu3?distro=ubuntu-22.04", "Ubuntu:22.04:LTS"],
    ["pkg:deb/ubuntu/libc6@2.35-0ubuntu3?distro=ubuntu-jammy", "Ubuntu:22.04:LTS"],
    ["pkg:deb/ubuntu/libc6@2.38-1ubuntu6?distro=ubuntu-23.10", "Ubuntu:23.10"],
    ["pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19", "Alpine:v3.19"],
    ["pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1", "Alpine:v3.19"],
    ["pkg:apk/alpine/musl@1.2.3-r0?arch=x86_64&distro=3.16.2", "Alpine:v3.16"],
    ["pkg:rpm/rocky/bash@5.1.8-6.el9?arch=x86_64&distro=rocky-9.3", "Rocky Linux:9"],
    ["pkg:rpm/almalinux/bash@4.4.20-4.el8?distro=almalinux-8.9", "AlmaLinux:8"],
    ["pkg:pypi/requests@2.31.0", "PyPI"],
    ["pkg:npm/%40babel/core@7.24.0", "npm"],
    ["pkg:golang/golang.org/x/net@v0.17.0", "Go"],
    ["pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "Maven"],
    ["pkg:cargo/serde@1.0.190", "crates.io"],
    ["pkg:nuget/Newtonsoft.Json@13.0.1", "NuGet"],
    ["pkg:composer/laravel/framework@10.0.0", "Packagist"],
    ["pkg:gem/rails@7.1.0", "RubyGems"],
    ["pkg:conda/openssl@1.1.1q", ""],
  ])("%s → %s", (purl, ecosystem) => {
    expect(purlFacts(purl).ecosystem).toBe(ecosystem);
  });

  it("builds ecosystem-style names from namespace and name", () => {
    expect(purlFacts("pkg:npm/%40babel/core@7.24.0").name).toBe("@babel/core");
    expect(purlFacts("pkg:golang/golang.org/x/net@v0.17.0").name).toBe("golang.org/x/net");
    expect(purlFacts("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1").name).toBe(
      "org.apache.logging.log4j:log4j-core",
    );
    expect(purlFacts("pkg:composer/laravel/framework@10.0.0").name).toBe("laravel/framework");
    expect(purlFacts("pkg:deb/debian/libc6@2.36-9").name).toBe("libc6");
  });

  it("reads the source package from upstream= in its three spellings and the epoch from epoch=", () => {
    expect(purlFacts("pkg:deb/debian/libc6@2.36-9?upstream=glibc%402.36-9").source).toEqual({
      name: "glibc",
      version: "2.36-9",
    });
    expect(purlFacts("pkg:deb/debian/libc6@2.36-9?upstream=glibc").source).toEqual({
      name: "glibc",
      version: "2.36-9",
    });
    const rpm = purlFacts("pkg:rpm/redhat/openssl-libs@1.1.1k-9.el8?epoch=1&upstream=openssl-1.1.1k-9.el8.src.rpm");
    expect(rpm.version).toBe("1:1.1.1k-9.el8");
    expect(rpm.source).toEqual({ name: "openssl", version: "1:1.1.1k-9.el8" });
  });

  it("uses the SBOM's OS for OS packages without a distro qualifier", () => {
    const os = { family: "debian", version: "10.2", ecosystem: "Debian:10" };
    expect(purlFacts("pkg:deb/debian/bash@5.0-4", os).ecosystem).toBe("Debian:10");
    expect(purlFacts("pkg:deb/ubuntu/bash@5.0-4", os).ecosystem).toBe("");
  });
});

describe("SBOM input errors", () => {
  it.each([
    [
      "cyclonedx.xml",
      '<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.6"/>',
      /XML SBOMs are not supported/,
    ],
    ["tag.spdx", "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n", /SPDX tag-value is not supported/],
    ["doc.spdx.yaml", "spdxVersion: SPDX-2.3\nSPDXID: SPDXRef-DOCUMENT\n", /not JSON \(SPDX YAML is not supported\)/],
    ["garbage.json", "{ not json", /not JSON/],
    ["array.json", "[1, 2]", /not an object/],
    ["other.json", '{"hello": "world"}', /neither CycloneDX \(bomFormat\) nor SPDX \(spdxVersion\)/],
    [
      "old.cdx.json",
      '{"bomFormat": "CycloneDX", "specVersion": "1.1", "components": []}',
      /specVersion "1.1" is not supported/,
    ],
    ["future.cdx.json", '{"bomFormat": "CycloneDX", "specVersion": "2.0"}', /specVersion "2.0" is not supported/],
    [
      "bad-components.cdx.json",
      '{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": {}}',
      /"components" is not a list/,
    ],
    [
      "spdx3.json",
      '{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []}',
      /SPDX 3 \(JSON-LD\) is not supported/,
    ],
    ["spdx21.json", '{"spdxVersion": "SPDX-2.1", "packages": []}', /SPDX-2.1 is not supported/],
    ["dsse.json", '{"payloadType": "text/plain", "payload": "aGVsbG8=", "signatures": []}', /not an in-toto statement/],
  ])("%s fails with one line naming the file", async (name, content, message) => {
    const file = write(name, content);
    const error = await readSbom(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StowawayError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message.startsWith(`${file}: `)).toBe(true);
    expect((error as Error).message).not.toContain("\n");
  });

  it("names a missing file", async () => {
    const missing = path.join(workDir, "nope.json");
    await expect(readSbom(missing)).rejects.toThrow(`${missing}: cannot read the SBOM (ENOENT)`);
  });

  it("skips components with a malformed purl with a warning naming them", async () => {
    const file = write(
      "malformed.cdx.json",
      JSON.stringify({
        bomFormat: "CycloneDX",
        specVersion: "1.6",
        components: [
          { type: "library", name: "good", version: "1.0.0", purl: "pkg:npm/good@1.0.0" },
          { type: "library", name: "bad", version: "1", purl: "not a purl" },
        ],
      }),
    );
    const inventory = await readSbom(file);
    expect(inventory.packages.map((pkg) => pkg.name)).toEqual(["good"]);
    expect(inventory.warnings).toEqual([
      expect.stringContaining('"bad": skipped, its package URL "not a purl" is malformed'),
    ]);
  });
});

/** Counts what the reader must return without using it: components (or packages) with a parseable purl. */
function countCycloneDx(doc: Json): number {
  let count = 0;
  const visit = (components: unknown): void => {
    if (!Array.isArray(components)) return;
    for (const component of components as Json[]) {
      if (typeof component?.purl === "string" && parses(component.purl)) count++;
      visit(component?.components);
    }
  };
  visit(doc.metadata?.component?.components);
  visit(doc.components);
  return count;
}

function countSpdx(doc: Json): number {
  const described = new Set<string>(doc.documentDescribes ?? []);
  for (const rel of doc.relationships ?? []) {
    if (rel.relationshipType === "DESCRIBES" && rel.spdxElementId === doc.SPDXID) described.add(rel.relatedSpdxElement);
  }
  return (doc.packages ?? []).filter(
    (pkg: Json) =>
      !described.has(pkg.SPDXID) &&
      (pkg.externalRefs ?? []).some(
        (ref: Json) =>
          ref.referenceType === "purl" &&
          /PACKAGE[-_]MANAGER/.test(ref.referenceCategory) &&
          parses(ref.referenceLocator),
      ),
  ).length;
}

function parses(purl: string): boolean {
  try {
    PackageURL.fromString(purl);
    return true;
  } catch {
    return false;
  }
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const file = path.join(dir, entry);
    return statSync(file).isDirectory() ? walk(file) : [file];
  });
}

/** The SBOM inside a file as the test vectors hold it: plain JSON, or an in-toto DSSE envelope (.jsonl). */
function sbomIn(file: string): Json | undefined {
  let doc: Json;
  try {
    doc = JSON.parse(readFileSync(file, "utf8")) as Json;
  } catch {
    return undefined;
  }
  if (typeof doc?.payload === "string") doc = JSON.parse(Buffer.from(doc.payload, "base64").toString("utf8")).predicate;
  return doc?.bomFormat !== undefined || typeof doc?.spdxVersion === "string" ? doc : undefined;
}

describeWithShared("third-party and example SBOMs from ../shared/testvectors", () => {
  const dirs = ["testvectors/scanner-outputs", "testvectors/cyclonedx-examples", "testvectors/spdx-examples"];
  const files = dirs.flatMap((dir) => walk(sharedPath(dir))).sort();
  const sboms = files.map((file) => ({ file, doc: sbomIn(file) })).filter((entry) => entry.doc !== undefined);

  it("finds the CycloneDX and SPDX JSON samples", () => {
    expect(sboms.length).toBeGreaterThan(100);
  });

  for (const { file, doc } of sboms) {
    const name = path.relative(sharedPath("testvectors"), file);
    // Every sample that says it is CycloneDX 1.4-1.7 or SPDX 2.2/2.3 must be read; others must be refused cleanly.
    const readable =
      (doc!.bomFormat === "CycloneDX" && ["1.4", "1.5", "1.6", "1.7"].includes(doc!.specVersion)) ||
      ["SPDX-2.2", "SPDX-2.3"].includes(doc!.spdxVersion);
    it(`${name}: ${readable ? "yields one package per element with a purl" : "fails with a StowawayError"}`, async () => {
      if (readable) {
        const inventory = await readSbom(file);
        const expected = doc!.bomFormat === "CycloneDX" ? countCycloneDx(doc!) : countSpdx(doc!);
        expect(inventory.packages).toHaveLength(expected);
        for (const pkg of inventory.packages) {
          expect(pkg.purl).not.toBe("");
          expect(pkg.id).toMatch(/^[\w.-]+$/);
        }
        expect(new Set(inventory.packages.map((pkg) => pkg.id)).size).toBe(inventory.packages.length);
      } else {
        const error = await readSbom(file).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(StowawayError);
        expect((error as Error).message.startsWith(`${file}: `)).toBe(true);
      }
    });
  }

  it("reads the Trivy CentOS 7 image SBOM in CycloneDX, SPDX and attestation form alike", async () => {
    const dir = sharedPath("testvectors/scanner-outputs/trivy/sbom-inputs");
    for (const file of ["centos-7-cyclonedx.json", "centos-7-spdx.json", "centos-7-cyclonedx.intoto.jsonl"]) {
      const inventory = await readSbom(path.join(dir, file));
      expect(inventory.artifact.os).toMatchObject({ family: "centos", version: "7.6.1810" });
      expect(inventory.artifact.configDigest).toBe(
        "sha256:f1cb7c7d58b73eac859c395882eec49d50651244e342cd6c68a5c7809785f427",
      );
      const openssl = inventory.packages.find((pkg) => pkg.name === "openssl-libs")!;
      // The purl carries epoch=1 separately; RPM comparison needs it in the version.
      expect(openssl.version).toBe("1:1.0.2k-16.el7");
      expect(openssl.type).toBe("rpm");
      expect(openssl.arch).toBe("x86_64");
    }
    const attested = await readSbom(path.join(dir, "centos-7-cyclonedx.intoto.jsonl"));
    // The in-toto subject digest from the envelope.
    expect(attested.artifact.manifestDigest).toBe(
      "sha256:be65f488b7764ad3638f236b7b515b3678369a5124c47b8d32916d6487418ea4",
    );
    expect(attested.warnings).toContainEqual(expect.stringContaining("signature not verified"));
  });

  it("takes the Debian release of Trivy's OS component for debs whose purl has no distro", async () => {
    const inventory = await readSbom(
      sharedPath("testvectors/scanner-outputs/trivy/sbom-inputs/fluentd-multiple-lockfiles-cyclonedx.json"),
    );
    const debs = inventory.packages.filter((pkg) => pkg.type === "deb");
    expect(debs.length).toBeGreaterThan(0);
    expect(new Set(debs.map((pkg) => pkg.ecosystem))).toEqual(new Set(["Debian:10"]));
    expect(inventory.packages.find((pkg) => pkg.type === "gem")).toMatchObject({ ecosystem: "RubyGems" });
  });

  it("refuses the tag-value and YAML SPDX examples with a clear message", async () => {
    await expect(readSbom(sharedPath("testvectors/spdx-examples/SPDXTagExample-v2.3.spdx"))).rejects.toThrow(
      /tag-value/,
    );
    await expect(readSbom(sharedPath("testvectors/spdx-examples/SPDXYAMLExample-2.3.spdx.yaml"))).rejects.toThrow(
      /YAML/,
    );
  });
});
