import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Package } from "../../src/catalog/types.js";
import { renderCycloneDx } from "../../src/report/cyclonedx.js";
import { renderSpdx } from "../../src/report/spdx.js";
import type { Finding, ScanResult } from "../../src/result.js";
import { scan } from "../../src/scan.js";
import { purlFacts, readSbom } from "../../src/sbom/index.js";
import { imageIdentity } from "../../src/report/sbom/common.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { cycloneDx16Validator, errorsOf, spdx23Validators } from "../helpers/schema.js";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const demoImage = fileURLToPath(new URL("../../../examples/demo/demo-image.oci.tar", import.meta.url));
const IMAGES = {
  "debian bookworm minbase": `oci-archive:${sharedPath("images/debian/bookworm-minbase.oci-archive.tar")}`,
  "examples/demo": demoImage,
} as const;
const FIXED_TIME = new Date("2026-01-02T03:04:05Z");

const workDir = mkdtempSync(path.join(os.tmpdir(), "stowaway-sbom-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function writeTemp(name: string, content: string): string {
  const file = path.join(workDir, name);
  writeFileSync(file, content);
  return file;
}

const identity = (pkg: Pick<Package, "name" | "version" | "type" | "purl" | "ecosystem">) =>
  JSON.stringify([pkg.name, pkg.version, pkg.type, pkg.purl, pkg.ecosystem]);

describe("image package URL (purl-spec types/oci)", () => {
  const digest = `sha256:${"a".repeat(64)}`;
  const resultFor = (reference: string) =>
    ({
      artifact: { reference, manifestDigest: digest, platform: { os: "linux", architecture: "arm64" } },
    }) as ScanResult;

  it.each([
    ["alpine:3.19", `pkg:oci/alpine@${digest}?arch=arm64&repository_url=docker.io%2Flibrary%2Falpine&tag=3.19`],
    [
      "ghcr.io/acme/tools/scanner",
      `pkg:oci/scanner@${digest}?arch=arm64&repository_url=ghcr.io%2Facme%2Ftools%2Fscanner&tag=latest`,
    ],
    ["oci-archive:/tmp/My Image.tar", `pkg:oci/my-image@${digest}?arch=arm64`],
    ["./images/debian-12.oci.tar", `pkg:oci/debian-12@${digest}?arch=arm64`],
  ])("%s → %s", (reference, purl) => {
    expect(imageIdentity(resultFor(reference))).toEqual({ name: reference, purl });
  });
});

describeWithShared("CycloneDX 1.6 and SPDX 2.3 output from real inventories", () => {
  const results = new Map<string, ScanResult>();
  const cdx16 = cycloneDx16Validator();
  const spdx = spdx23Validators();

  beforeAll(async () => {
    for (const [name, target] of Object.entries(IMAGES)) {
      results.set(name, await scan(target, { cacheDir: path.join(workDir, "cache") }));
    }
  }, 120_000);

  it("uses validators that reject documents missing required fields", () => {
    expect(cdx16({ bomFormat: "CycloneDX", specVersion: "1.6", serialNumber: "not-a-urn" })).toBe(false);
    expect(spdx.draft07({ spdxVersion: "SPDX-2.3" })).toBe(false);
    expect(spdx.draft2019({ spdxVersion: "SPDX-2.3" })).toBe(false);
  });

  for (const name of Object.keys(IMAGES)) {
    it(`${name}: CycloneDX validates against bom-1.6 and records every package and the image digest`, () => {
      const result = results.get(name)!;
      expect(result.packages.length).toBeGreaterThan(0);
      const bom = JSON.parse(renderCycloneDx(result, { timestamp: FIXED_TIME })) as Json;
      expect(cdx16(bom), errorsOf(cdx16)).toBe(true);

      expect(bom.specVersion).toBe("1.6");
      expect(bom.serialNumber).toMatch(
        /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(bom.metadata.timestamp).toBe(FIXED_TIME.toISOString());
      expect(bom.metadata.tools.components).toEqual([
        expect.objectContaining({ type: "application", name: "stowaway", version: result.scanner.version }),
      ]);
      const image = bom.metadata.component;
      expect(image).toMatchObject({
        type: "container",
        name: result.artifact.reference,
        version: result.artifact.manifestDigest,
      });
      expect(image.hashes).toEqual([
        { alg: "SHA-256", content: result.artifact.manifestDigest.slice("sha256:".length) },
      ]);
      expect(image.purl).toContain(`@${result.artifact.manifestDigest}`);
      expect(image.properties).toContainEqual({ name: "stowaway:configDigest", value: result.artifact.configDigest });

      const libraries = (bom.components as Json[]).filter((component) => component.type === "library");
      const osComponents = (bom.components as Json[]).filter((component) => component.type === "operating-system");
      expect(libraries).toHaveLength(result.packages.length);
      expect(osComponents).toEqual([expect.objectContaining({ name: "debian", version: result.artifact.os.version })]);
      expect(new Set(libraries.map((component) => component.purl))).toEqual(
        new Set(result.packages.map((pkg) => pkg.purl)),
      );
      expect(libraries.map((component) => component["bom-ref"])).toEqual(result.packages.map((pkg) => pkg.id));
      for (const [index, pkg] of result.packages.entries()) {
        expect(libraries[index]!.properties).toContainEqual({
          name: "stowaway:layerIndex",
          value: String(pkg.layerIndex),
        });
        for (const location of pkg.locations) {
          expect(libraries[index]!.properties).toContainEqual({ name: "stowaway:location", value: location });
        }
      }

      const dependencies = new Map((bom.dependencies as Json[]).map((entry) => [entry.ref, entry.dependsOn ?? []]));
      expect(new Set(dependencies.get(image["bom-ref"]))).toEqual(
        new Set([osComponents[0]!["bom-ref"], ...result.packages.map((pkg) => pkg.id)]),
      );
      for (const pkg of result.packages.filter((candidate) => candidate.type === "deb")) {
        expect(dependencies.get(pkg.id)).toEqual([osComponents[0]!["bom-ref"]]);
      }
      expect(bom.vulnerabilities).toBeUndefined();
    });

    it(`${name}: SPDX validates against both SPDX 2.3 schemas and records every package and the image digest`, () => {
      const result = results.get(name)!;
      const doc = JSON.parse(renderSpdx(result, { timestamp: FIXED_TIME })) as Json;
      expect(spdx.draft07(doc), errorsOf(spdx.draft07)).toBe(true);
      expect(spdx.draft2019(doc), errorsOf(spdx.draft2019)).toBe(true);

      expect(doc.creationInfo).toEqual({
        created: "2026-01-02T03:04:05Z",
        creators: [`Tool: stowaway-${result.scanner.version}`],
      });
      expect(doc.documentNamespace).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
      const packages = doc.packages as Json[];
      const image = packages.find((pkg) => pkg.SPDXID === "SPDXRef-Image")!;
      expect(image.primaryPackagePurpose).toBe("CONTAINER");
      expect(image.checksums).toEqual([
        { algorithm: "SHA256", checksumValue: result.artifact.manifestDigest.slice(7) },
      ]);
      expect(image.externalRefs[0].referenceLocator).toMatch(/^pkg:oci\/[a-z0-9._-]+@sha256:[a-f0-9]{64}/);
      expect(doc.documentDescribes).toEqual(["SPDXRef-Image"]);

      const withPurl = packages.filter((pkg) => pkg.SPDXID.startsWith("SPDXRef-Package-"));
      expect(withPurl).toHaveLength(result.packages.length);
      const purls = withPurl.map(
        (pkg) => pkg.externalRefs.find((ref: Json) => ref.referenceType === "purl").referenceLocator,
      );
      expect(new Set(purls)).toEqual(new Set(result.packages.map((pkg) => pkg.purl)));
      for (const pkg of withPurl) expect(pkg.SPDXID).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);

      const contains = (doc.relationships as Json[]).filter((rel) => rel.relationshipType === "CONTAINS");
      const containedBy = new Map(contains.map((rel) => [rel.relatedSpdxElement, rel.spdxElementId]));
      expect(containedBy.get("SPDXRef-OperatingSystem")).toBe("SPDXRef-Image");
      for (const [index, pkg] of result.packages.entries()) {
        expect(containedBy.get(withPurl[index]!.SPDXID)).toBe(
          pkg.type === "deb" ? "SPDXRef-OperatingSystem" : "SPDXRef-Image",
        );
        expect(withPurl[index]!.annotations[0].comment).toContain(`stowaway:layerIndex=${pkg.layerIndex}`);
      }
    });

    it(`${name}: our CycloneDX and SPDX read back to the scanned packages`, async () => {
      const result = results.get(name)!;
      const expected = new Set(result.packages.map(identity));
      for (const [format, rendered] of [
        ["cdx.json", renderCycloneDx(result)],
        ["spdx.json", renderSpdx(result)],
      ] as const) {
        const file = path.join(workDir, `${name.replace(/\W+/g, "-")}.${format}`);
        writeFileSync(file, rendered);
        const inventory = await readSbom(file);
        expect(inventory.warnings).toEqual([]);
        expect(inventory.packages).toHaveLength(result.packages.length);
        expect(new Set(inventory.packages.map(identity))).toEqual(expected);
        expect(inventory.packages.map((pkg) => [pkg.id, pkg.layerIndex, pkg.source])).toEqual(
          result.packages.map((pkg) => [pkg.id, pkg.layerIndex, pkg.source]),
        );
        expect(inventory.artifact).toMatchObject({
          reference: result.artifact.reference,
          manifestDigest: result.artifact.manifestDigest,
          configDigest: result.artifact.configDigest,
          platform: result.artifact.platform,
          os: { family: "debian", ecosystem: result.artifact.os.ecosystem },
        });
        expect(inventory.artifact.layers.map((layer) => layer.digest)).toEqual(
          result.artifact.layers.map((layer) => layer.digest),
        );
      }
    });

    it(`${name}: the ecosystem derived from each purl alone equals the cataloger's`, () => {
      const result = results.get(name)!;
      // Third-party debs carry a distro qualifier but deliberately no ecosystem (docs/matching-rules.md §3.1).
      const distroPackages = result.packages.filter((pkg) => !(pkg.metadata && "thirdParty" in pkg.metadata));
      for (const pkg of distroPackages) expect(purlFacts(pkg.purl).ecosystem, pkg.purl).toBe(pkg.ecosystem);
    });
  }

  it("keeps a third-party package's empty ecosystem through the round trip", async () => {
    const base = results.get("debian bookworm minbase")!;
    const template = base.packages.find((pkg) => pkg.type === "deb")!;
    // As the dpkg cataloger records a vendor package: distro purl, but no ecosystem to match in.
    const vendor = {
      ...template,
      id: "vendor0001",
      name: "docker-ce",
      ecosystem: "",
      metadata: { thirdParty: "docker" },
    };
    vendor.purl = template.purl.replace(`/${template.name}@`, "/docker-ce@");
    const result: ScanResult = { ...base, packages: [vendor] };
    for (const [format, rendered] of [
      ["cdx.json", renderCycloneDx(result)],
      ["spdx.json", renderSpdx(result)],
    ] as const) {
      const inventory = await readSbom(writeTemp(`vendor.${format}`, rendered));
      expect(inventory.packages.map((pkg) => [pkg.name, pkg.ecosystem])).toEqual([["docker-ce", ""]]);
    }
  });

  it("is reproducible for the same inventory and changes its serial number when the inventory changes", () => {
    const result = results.get("examples/demo")!;
    const first = renderCycloneDx(result, { timestamp: FIXED_TIME });
    expect(renderCycloneDx(structuredClone(result), { timestamp: FIXED_TIME })).toBe(first);
    expect(renderSpdx(structuredClone(result), { timestamp: FIXED_TIME })).toBe(
      renderSpdx(result, { timestamp: FIXED_TIME }),
    );
    const fewer = { ...result, packages: result.packages.slice(1) };
    expect(JSON.parse(renderCycloneDx(fewer, { timestamp: FIXED_TIME })).serialNumber).not.toBe(
      JSON.parse(first).serialNumber,
    );
  });

  it("writes findings as CycloneDX vulnerabilities with ratings, affects, fix advice and VEX analysis", () => {
    const base = results.get("examples/demo")!;
    const npmPackage = base.packages.find((pkg) => pkg.type === "npm")!;
    const debPackage = base.packages.find((pkg) => pkg.type === "deb")!;
    const finding = (pkg: Package, id: string, extra: Partial<Finding>): Finding => ({
      findingId: `${pkg.id}/${id}`,
      id,
      aliases: [],
      packageId: pkg.id,
      packageName: pkg.name,
      installedVersion: pkg.version,
      status: "affected",
      severity: "high",
      severitySource: "nvd",
      severities: [{ source: "nvd", severity: "high" }],
      cvss: [],
      kev: false,
      layerIndex: pkg.layerIndex,
      match: {
        type: "direct",
        ecosystem: pkg.ecosystem,
        name: pkg.name,
        version: pkg.version,
        constraint: ">=0",
        recordId: id,
        dataSource: "osv",
      },
      ...extra,
    });
    const findings = [
      finding(npmPackage, "CVE-2024-0001", {
        aliases: ["GHSA-aaaa-bbbb-cccc"],
        fixedVersion: "99.0.0",
        cvss: [{ version: "3.1", vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", score: 9.8, source: "nvd" }],
        severity: "critical",
        severities: [{ source: "nvd", severity: "critical" }],
        kev: true,
        references: ["https://example.org/advisory"],
      }),
      finding(debPackage, "CVE-2024-0002", {
        status: "will_not_fix",
        severity: "negligible",
        severitySource: "debian",
        severities: [],
      }),
      finding(debPackage, "CVE-2024-0003", {}),
    ];
    const result: ScanResult = {
      ...base,
      findings,
      policy: {
        outcome: "pass",
        violations: [],
        warnings: [],
        suppressed: [
          { findingId: findings[1]!.findingId, source: "openvex", reason: "vulnerable_code_not_present" },
          {
            findingId: findings[2]!.findingId,
            source: "policy-exception",
            reason: "accepted until the rebuild",
            expires: "2026-12-31",
          },
        ],
      },
    };
    const bom = JSON.parse(renderCycloneDx(result, { timestamp: FIXED_TIME })) as Json;
    expect(cdx16(bom), errorsOf(cdx16)).toBe(true);
    const vulns = bom.vulnerabilities as Json[];
    expect(vulns.map((vuln) => vuln.id)).toEqual(["CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0003"]);

    const [critical, wontFix, accepted] = vulns as [Json, Json, Json];
    expect(critical.source).toEqual({ name: "NVD", url: "https://nvd.nist.gov/vuln/detail/CVE-2024-0001" });
    expect(critical.ratings).toContainEqual({
      source: { name: "nvd" },
      score: 9.8,
      method: "CVSSv31",
      vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    });
    expect(critical.ratings).toContainEqual({ source: { name: "nvd" }, severity: "critical" });
    expect(critical.references).toEqual([
      {
        id: "GHSA-aaaa-bbbb-cccc",
        source: { name: "GitHub", url: "https://github.com/advisories/GHSA-aaaa-bbbb-cccc" },
      },
    ]);
    expect(critical.affects).toEqual([
      { ref: npmPackage.id, versions: [{ version: npmPackage.version, status: "affected" }] },
    ]);
    expect(critical.recommendation).toContain("99.0.0");
    expect(critical.advisories).toEqual([{ url: "https://example.org/advisory" }]);
    expect(critical.properties).toContainEqual({ name: "stowaway:kev", value: "true" });
    expect(critical.analysis).toBeUndefined();

    expect(wontFix.ratings).toEqual([{ source: { name: "debian" }, severity: "info" }]);
    expect(wontFix.recommendation).toMatch(/will not fix/);
    expect(wontFix.analysis).toEqual({
      state: "not_affected",
      detail: "suppressed by openvex: vulnerable_code_not_present",
    });
    expect(accepted.analysis.state).toBeUndefined();
    expect(accepted.analysis.detail).toContain("accepted until the rebuild");
    expect(accepted.properties).toContainEqual({ name: "stowaway:suppressed", value: "policy-exception" });
  });

  it("keeps valid SPDX license expressions and turns free text into LicenseRefs", () => {
    const base = results.get("examples/demo")!;
    const template = base.packages.find((pkg) => pkg.type === "npm")!;
    const cases: [string[], string, unknown[]][] = [
      [["mit"], "MIT", [{ license: { id: "MIT" } }]],
      [["GPL-2.0-or-later OR MIT"], "GPL-2.0-or-later OR MIT", [{ expression: "GPL-2.0-or-later OR MIT" }]],
      [
        ["Apache-2.0 WITH LLVM-exception"],
        "Apache-2.0 WITH LLVM-exception",
        [{ expression: "Apache-2.0 WITH LLVM-exception" }],
      ],
      [["MIT", "ISC"], "MIT AND ISC", [{ license: { id: "MIT" } }, { license: { id: "ISC" } }]],
      [["GPLv2+"], "LicenseRef-GPLv2", [{ license: { name: "GPLv2+" } }]],
      [
        ["BSD", "MIT OR Apache-2.0"],
        "LicenseRef-BSD AND (MIT OR Apache-2.0)",
        [{ license: { name: "BSD" } }, { license: { name: "MIT OR Apache-2.0" } }],
      ],
    ];
    const packages = cases.map(([licenses], index) => ({ ...template, id: `lic${index}`, licenses }));
    const result: ScanResult = { ...base, packages };
    const doc = JSON.parse(renderSpdx(result)) as Json;
    expect(spdx.draft07(doc), errorsOf(spdx.draft07)).toBe(true);
    expect(spdx.draft2019(doc), errorsOf(spdx.draft2019)).toBe(true);
    const declared = (doc.packages as Json[])
      .filter((pkg) => pkg.SPDXID.startsWith("SPDXRef-Package-"))
      .map((pkg) => pkg.licenseDeclared);
    expect(declared).toEqual(cases.map(([, spdxValue]) => spdxValue));
    expect(doc.hasExtractedLicensingInfos).toEqual([
      { licenseId: "LicenseRef-GPLv2", extractedText: "GPLv2+", name: "GPLv2+" },
      { licenseId: "LicenseRef-BSD", extractedText: "BSD", name: "BSD" },
    ]);

    const bom = JSON.parse(renderCycloneDx(result)) as Json;
    expect(cdx16(bom), errorsOf(cdx16)).toBe(true);
    const libraries = (bom.components as Json[]).filter((component) => component.type === "library");
    expect(libraries.map((component) => component.licenses)).toEqual(cases.map(([, , cdxValue]) => cdxValue));
  });
});
