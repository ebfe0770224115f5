import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { buildDatabase } from "../../src/index.js";
import { scan } from "../../src/scan.js";
import type { ScanResult } from "../../src/result.js";
import { buildImage, buildLayer, writeOciArchive } from "../helpers/image-builder.js";
import { buildRpmdb } from "../helpers/rpmdb-builder.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

/*
 * A RHEL 8.6 (EUS/AUS) image built here: the real UBI 8 rpm database of ../shared (libuuid), plus
 * sudo, a modular python39-setuptools (python39:3.9) and a modular nodejs (nodejs:18) that rpm
 * itself adds, and a content manifest naming the EUS BaseOS and AUS AppStream content sets.
 * Advisories: Red Hat's real CSAF RHSA-2024:0811 (sudo) and its OSV form of RHSA-2024:6220 (the
 * python39:3.9 module), plus one VEX document written here in Red Hat's published VEX layout
 * (ids CVE-2099-*, obviously synthetic) for the states the real samples lack: a fix in one module
 * stream and "Will not fix" in another, "Will not fix" for a non-modular package, and "not affected"
 * for the real package's source against a (synthetic) record that says otherwise.
 * Expected values are read from these documents here.
 */

const work = mkdtempSync(path.join(os.tmpdir(), "stowaway-rhel-image-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CSAF_0811 = "vulns/rhel-security-data/csaf-advisories/rhsa-2024_0811.json";
const OSV_6220 = "vulns/osv-misc/RHSA-2024_6220.json";
const EUS_BASEOS = "cpe:/o:redhat:rhel_eus:8.6::baseos";
const AUS_APPSTREAM = "cpe:/a:redhat:rhel_aus:8.6::appstream";
const NODEJS_18_FIX = "1:18.20.2-1.module+el8.6.0+21700+1fe4c2b3";
const NODEJS_18_LATER_FIX = "1:18.20.4-1.module+el8.6.0+22000+2ab0c1d4";

/** A VEX document (csaf_vex) laid out as Red Hat documents its VEX files: one CVE, streams, components. */
function syntheticVex(): unknown {
  const product = {
    category: "product_name",
    name: "Red Hat Enterprise Linux AppStream AUS (v.8.6)",
    product: {
      name: "Red Hat Enterprise Linux AppStream AUS (v.8.6)",
      product_id: "AppStream-8.6.0.Z.AUS",
      product_identification_helper: { cpe: AUS_APPSTREAM },
    },
  };
  const baseos = {
    category: "product_name",
    name: "Red Hat Enterprise Linux BaseOS EUS (v.8.6)",
    product: {
      name: "Red Hat Enterprise Linux BaseOS EUS (v.8.6)",
      product_id: "BaseOS-8.6.0.Z.EUS",
      product_identification_helper: { cpe: EUS_BASEOS },
    },
  };
  const version = (name: string, purl: string) => ({
    category: "product_version",
    name,
    product: { name, product_id: name, product_identification_helper: { purl } },
  });
  const rel = (component: string, parent: string) => ({
    category: "default_component_of",
    full_product_name: { name: `${component} as a component of ${parent}`, product_id: `${parent}:${component}` },
    product_reference: component,
    relates_to_product_reference: parent,
  });
  const fixedNode = `nodejs-${NODEJS_18_FIX}.src`;
  const laterNode = `nodejs-${NODEJS_18_LATER_FIX}.src`;
  const stream18 = "AppStream-8.6.0.Z.AUS:nodejs:18:8060020240401000000:ad008a3b";
  return {
    document: {
      category: "csaf_vex",
      csaf_version: "2.0",
      title: "CVE-2099-0001, -0002, -0003 (synthetic)",
      tracking: { id: "CVE-2099-0001", current_release_date: "2099-01-01T00:00:00+00:00" },
    },
    product_tree: {
      branches: [
        {
          category: "vendor",
          name: "Red Hat",
          branches: [
            { category: "product_family", name: "Red Hat Enterprise Linux", branches: [product, baseos] },
            version("nodejs:16/nodejs", "pkg:rpm/redhat/nodejs?arch=src&rpmmod=nodejs:16"),
            version("sudo", "pkg:rpm/redhat/sudo?arch=src"),
            version("util-linux", "pkg:rpm/redhat/util-linux?arch=src"),
            version(
              "nodejs:18:8060020240401000000:ad008a3b",
              "pkg:rpmmod/redhat/nodejs@18:8060020240401000000:ad008a3b",
            ),
            {
              category: "architecture",
              name: "src",
              branches: [
                version(
                  fixedNode,
                  "pkg:rpm/redhat/nodejs@18.20.2-1.module%2Bel8.6.0%2B21700%2B1fe4c2b3?arch=src&epoch=1",
                ),
                version(
                  laterNode,
                  "pkg:rpm/redhat/nodejs@18.20.4-1.module%2Bel8.6.0%2B22000%2B2ab0c1d4?arch=src&epoch=1",
                ),
              ],
            },
          ],
        },
      ],
      relationships: [
        rel("nodejs:16/nodejs", "AppStream-8.6.0.Z.AUS"),
        rel("sudo", "BaseOS-8.6.0.Z.EUS"),
        rel("util-linux", "BaseOS-8.6.0.Z.EUS"),
        rel("nodejs:18:8060020240401000000:ad008a3b", "AppStream-8.6.0.Z.AUS"),
        rel(fixedNode, stream18),
        rel(laterNode, stream18),
      ],
    },
    vulnerabilities: [
      {
        cve: "CVE-2099-0001",
        product_status: {
          fixed: [`${stream18}:${fixedNode}`],
          known_affected: ["AppStream-8.6.0.Z.AUS:nodejs:16/nodejs"],
        },
        remediations: [
          {
            category: "no_fix_planned",
            details: "Will not fix",
            product_ids: ["AppStream-8.6.0.Z.AUS:nodejs:16/nodejs"],
          },
        ],
        threats: [{ category: "impact", details: "Important" }],
      },
      {
        cve: "CVE-2099-0003",
        product_status: {
          fixed: [`${stream18}:${laterNode}`],
          known_affected: ["AppStream-8.6.0.Z.AUS:nodejs:16/nodejs"],
        },
        remediations: [
          {
            category: "no_fix_planned",
            details: "Will not fix",
            product_ids: ["AppStream-8.6.0.Z.AUS:nodejs:16/nodejs"],
          },
        ],
        threats: [{ category: "impact", details: "Moderate" }],
      },
      {
        cve: "CVE-2099-0004",
        product_status: { known_not_affected: ["BaseOS-8.6.0.Z.EUS:util-linux"] },
      },
      {
        cve: "CVE-2099-0002",
        product_status: { known_affected: ["BaseOS-8.6.0.Z.EUS:sudo"] },
        remediations: [
          { category: "no_fix_planned", details: "Will not fix", product_ids: ["BaseOS-8.6.0.Z.EUS:sudo"] },
        ],
        threats: [{ category: "impact", details: "Low" }],
      },
    ],
  };
}

describeWithShared("a RHEL 8 image matched through Red Hat CSAF/VEX data and its content sets", () => {
  let result: ScanResult;
  let sudoFix: string;
  let sudoCves: string[];
  let setuptoolsFix: string;

  beforeAll(async () => {
    // Expected values, read from the documents.
    const csaf = JSON.parse(readFileSync(sharedPath(CSAF_0811), "utf8")) as {
      vulnerabilities: Array<{ cve: string; product_status: { fixed: string[] } }>;
    };
    const sudoId = csaf.vulnerabilities[0]!.product_status.fixed.find((id) =>
      /^BaseOS-8\.6\.0\.Z\.EUS:sudo-\d+:.*\.x86_64$/.test(id),
    )!;
    sudoFix = /:sudo-(\d+:[^-]+-[^-]+)\.x86_64$/.exec(sudoId)![1]!;
    sudoCves = csaf.vulnerabilities.filter((v) => v.product_status.fixed.includes(sudoId)).map((v) => v.cve);
    const osv = JSON.parse(readFileSync(sharedPath(OSV_6220), "utf8")) as {
      affected: Array<{
        package: { name: string; ecosystem: string };
        ranges: Array<{ events: Array<{ fixed?: string }> }>;
      }>;
    };
    setuptoolsFix = osv.affected
      .find(
        (a) => a.package.name === "python39-setuptools" && a.package.ecosystem === "Red Hat:rhel_aus:8.6::appstream",
      )!
      .ranges[0]!.events.find((e) => e.fixed)!.fixed!;

    const rpmdb = buildRpmdb(path.join(work, "rpm"), sharedPath("fixtures/os-packages/rpm/libuuid/Packages"), [
      { name: "sudo", version: "1.8.29", release: "8.el8", arch: "x86_64" },
      {
        name: "python39-setuptools",
        version: "50.3.2",
        release: "4.module+el8.5.0+12204+54860423",
        arch: "noarch",
        modularityLabel: "python39:3.9:8050020210820155128:1b78b4c3",
      },
      {
        // Exactly stream 18's fix for CVE-2099-0001, below its fix for CVE-2099-0003.
        name: "nodejs",
        version: "18.20.2",
        release: "1.module+el8.6.0+21700+1fe4c2b3",
        epoch: 1,
        arch: "x86_64",
        modularityLabel: "nodejs:18:8060020231115000000:ad008a3b",
      },
    ]);
    const layer = await buildLayer([
      {
        path: "etc/os-release",
        content:
          'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="8.6"\nPRETTY_NAME="Red Hat Enterprise Linux 8.6 (Ootpa)"\n',
      },
      { path: "var/lib/rpm/rpmdb.sqlite", content: rpmdb },
      {
        path: "root/buildinfo/content_manifests/ubi8-container-8.6.json",
        content: JSON.stringify({
          metadata: {
            icm_version: 1,
            icm_spec:
              "https://raw.githubusercontent.com/containerbuildsystem/atomic-reactor/master/atomic_reactor/schemas/content_manifest.json",
            image_layer_index: 0,
          },
          content_sets: ["rhel-8-for-x86_64-baseos-eus-rpms__8_DOT_6", "rhel-8-for-x86_64-appstream-aus-rpms__8_DOT_6"],
          image_contents: [],
        }),
      },
    ]);
    const archive = path.join(work, "rhel.oci.tar");
    await writeOciArchive(archive, { images: [{ image: buildImage({ layers: [layer] }) }] });

    const feeds = path.join(work, "feeds");
    mkdirSync(feeds);
    writeFileSync(path.join(feeds, "rhsa-2024_0811.json"), readFileSync(sharedPath(CSAF_0811)));
    writeFileSync(path.join(feeds, "RHSA-2024_6220.json"), readFileSync(sharedPath(OSV_6220)));
    writeFileSync(path.join(feeds, "cve-2099-0001.json"), JSON.stringify(syntheticVex()));
    // Another record (OSV form, synthetic) calls util-linux, libuuid's source, affected by CVE-2099-0004.
    writeFileSync(
      path.join(feeds, "RHSA-2099_0004.json"),
      JSON.stringify({
        id: "RHSA-2099:0004",
        modified: "2099-01-01T00:00:00Z",
        upstream: ["CVE-2099-0004"],
        affected: [
          {
            package: { ecosystem: "Red Hat:rhel_eus:8.6::baseos", name: "util-linux" },
            ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "0:2.32.1-99.el8" }] }],
          },
        ],
      }),
    );
    const dbDir = path.join(work, "vulndb");
    await buildDatabase({ from: [feeds], dbDir });
    result = await scan(`oci-archive:${archive}`, { cacheDir: false, database: dbDir });
  }, 120_000);

  const findingsOf = (name: string) => (result.findings ?? []).filter((f) => f.packageName === name);

  it("takes the product streams from the content manifest", () => {
    expect(result.artifact.os).toMatchObject({
      family: "rhel",
      contentSets: ["rhel-8-for-x86_64-appstream-aus-rpms__8_DOT_6", "rhel-8-for-x86_64-baseos-eus-rpms__8_DOT_6"],
      cpes: [AUS_APPSTREAM, EUS_BASEOS],
    });
    const libuuid = result.packages.find((p) => p.name === "libuuid")!;
    expect(libuuid.metadata?.redhatCpes).toEqual([AUS_APPSTREAM, EUS_BASEOS]);
  });

  it("reports sudo fixed in the EUS stream's build of RHSA-2024:0811, rated by Red Hat", () => {
    const sudo = findingsOf("sudo").filter((f) => sudoCves.includes(f.id));
    expect(sudo.map((f) => f.id).sort()).toEqual([...sudoCves].sort());
    for (const f of sudo) {
      expect(f).toMatchObject({ status: "fixed", fixedVersion: sudoFix, severity: "medium", severitySource: "redhat" });
      expect(f.match.ecosystem).toBe("Red Hat:rhel_eus:8.6::baseos");
    }
  });

  it("keeps Red Hat's 'Will not fix' as the status", () => {
    expect(findingsOf("sudo").find((f) => f.id === "CVE-2099-0002")).toMatchObject({
      status: "will_not_fix",
      severity: "low",
      // A VEX file is written as its own record, apart from the per-CVE merge of advisories.
      severitySource: "redhat-vex",
      match: { dataSource: "redhat-vex", type: "source", name: "sudo" },
    });
  });

  it("matches a modular package against its module's advisory only (R7)", () => {
    expect(findingsOf("python39-setuptools").map((f) => [f.id, f.fixedVersion])).toEqual([
      ["CVE-2024-6345", setuptoolsFix],
    ]);
    // nodejs is in the nodejs:18 stream: stream 18's fixes decide, stream 16's "Will not fix" never
    // applies (CVE-2099-0001 is fixed at the installed build, so nothing may remain of it).
    expect(findingsOf("nodejs").map((f) => [f.id, f.status, f.fixedVersion])).toEqual([
      ["CVE-2099-0003", "fixed", NODEJS_18_LATER_FIX],
    ]);
  });

  it("lists the real database's package, and Red Hat's 'not affected' for its source outweighs another record", () => {
    expect(result.packages.map((p) => p.name).sort()).toEqual(["libuuid", "nodejs", "python39-setuptools", "sudo"]);
    expect(result.packages.find((p) => p.name === "libuuid")?.source?.name).toBe("util-linux");
    expect(findingsOf("libuuid")).toEqual([]);
  });
});
