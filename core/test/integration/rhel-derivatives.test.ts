import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildDatabase } from "../../src/index.js";
import { scan } from "../../src/scan.js";
import type { ScanResult } from "../../src/result.js";
import { buildImage, buildLayer, writeOciArchive } from "../helpers/image-builder.js";
import { buildRpmdb, type RpmSpec } from "../helpers/rpmdb-builder.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

/*
 * Rocky Linux, AlmaLinux, CentOS Stream and Oracle Linux images built here, each from the real UBI 8
 * rpm database of ../shared (libuuid) plus a sudo package rpm itself adds with the distro's vendor,
 * and the distro's real /etc/os-release (../shared/fixtures/os-release). Advisories: Red Hat's real
 * CSAF RHSA-2024:0811 (sudo, fixed in the RHEL 8 and 9 mainline BaseOS streams), one VEX document in
 * Red Hat's published layout for a "Will not fix" (CVE-2099-0011, obviously synthetic), and one OSV
 * record in Rocky's feed (RLSA-2099:0811, obviously synthetic) fixing one of the RHSA's CVEs.
 * Expected fix versions are read from these documents here.
 */

const work = mkdtempSync(path.join(os.tmpdir(), "stowaway-rhel-derivatives-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CSAF_0811 = "vulns/rhel-security-data/csaf-advisories/rhsa-2024_0811.json";
const BASEOS = (major: number) => `cpe:/o:redhat:enterprise_linux:${major}::baseos`;
const APPSTREAM = (major: number) => `cpe:/a:redhat:enterprise_linux:${major}::appstream`;
const ROCKY_FIX = "1.9.5p2-10.el9_3";

interface Csaf {
  product_tree: {
    branches: CsafBranch[];
    relationships: Array<{ full_product_name: { product_id: string }; relates_to_product_reference: string }>;
  };
  vulnerabilities: Array<{ cve: string; product_status: { fixed?: string[] } }>;
}
interface CsafBranch {
  branches?: CsafBranch[];
  product?: { product_id: string; product_identification_helper?: { cpe?: string } };
}

/** Red Hat's sudo build for a stream CPE and the CVEs it fixes, read from the CSAF document. */
function redHatFix(csaf: Csaf, cpe: string): { version: string; cves: string[] } {
  const products = new Set<string>();
  const walk = (branches: CsafBranch[] = []) => {
    for (const b of branches) {
      if (b.product?.product_identification_helper?.cpe === cpe) products.add(b.product.product_id);
      walk(b.branches);
    }
  };
  walk(csaf.product_tree.branches);
  const ids = csaf.product_tree.relationships
    .filter((r) => products.has(r.relates_to_product_reference))
    .map((r) => r.full_product_name.product_id)
    .filter((id) => /:sudo-\d+:.*\.x86_64$/.test(id));
  const id = ids[0]!;
  return {
    version: /:sudo-(\d+:.+)\.x86_64$/.exec(id)![1]!,
    cves: csaf.vulnerabilities
      .filter((v) => v.product_status.fixed?.includes(id))
      .map((v) => v.cve)
      .sort(),
  };
}

/** A VEX document (csaf_vex) laid out as Red Hat publishes them: sudo "Will not fix" in RHEL 8 and 9 BaseOS. */
function willNotFixVex(): unknown {
  const product = (major: number) => ({
    category: "product_name",
    name: `Red Hat Enterprise Linux ${major}`,
    product: {
      name: `Red Hat Enterprise Linux ${major}`,
      product_id: `red_hat_enterprise_linux_${major}`,
      product_identification_helper: { cpe: BASEOS(major) },
    },
  });
  const rel = (major: number) => ({
    category: "default_component_of",
    full_product_name: {
      name: `sudo as a component of Red Hat Enterprise Linux ${major}`,
      product_id: `red_hat_enterprise_linux_${major}:sudo`,
    },
    product_reference: "sudo",
    relates_to_product_reference: `red_hat_enterprise_linux_${major}`,
  });
  const affected = ["red_hat_enterprise_linux_8:sudo", "red_hat_enterprise_linux_9:sudo"];
  return {
    document: {
      category: "csaf_vex",
      csaf_version: "2.0",
      title: "CVE-2099-0011 (synthetic)",
      tracking: { id: "CVE-2099-0011", current_release_date: "2099-01-01T00:00:00+00:00" },
    },
    product_tree: {
      branches: [
        {
          category: "vendor",
          name: "Red Hat",
          branches: [
            { category: "product_family", name: "Red Hat Enterprise Linux", branches: [product(8), product(9)] },
            {
              category: "product_version",
              name: "sudo",
              product: {
                name: "sudo",
                product_id: "sudo",
                product_identification_helper: { purl: "pkg:rpm/redhat/sudo?arch=src" },
              },
            },
          ],
        },
      ],
      relationships: [rel(8), rel(9)],
    },
    vulnerabilities: [
      {
        cve: "CVE-2099-0011",
        product_status: { known_affected: affected },
        remediations: [{ category: "no_fix_planned", details: "Will not fix", product_ids: affected }],
        threats: [{ category: "impact", details: "Low" }],
      },
    ],
  };
}

interface Distro {
  osRelease: string;
  sudo: RpmSpec;
}

const DISTROS: Record<string, Distro> = {
  rocky: {
    osRelease: "rocky",
    sudo: {
      name: "sudo",
      version: "1.9.5p2",
      release: "9.el9",
      arch: "x86_64",
      vendor: "Rocky Enterprise Software Foundation",
    },
  },
  // AlmaLinux marks the packages it changes with ".alma": that build is past Red Hat's fix.
  alma: {
    osRelease: "alma",
    sudo: { name: "sudo", version: "1.9.5p2", release: "10.el9_3.alma.1", arch: "x86_64", vendor: "AlmaLinux" },
  },
  "centos-stream": {
    osRelease: "centos-stream",
    sudo: { name: "sudo", version: "1.8.29", release: "10.el8", arch: "x86_64", vendor: "CentOS" },
  },
  oracle: {
    osRelease: "oracle",
    sudo: { name: "sudo", version: "1.8.29", release: "10.el8", arch: "x86_64", vendor: "Oracle America" },
  },
};

describeWithShared("Rocky, Alma, CentOS Stream and Oracle images matched with Red Hat's data as it applies", () => {
  const results: Record<string, ScanResult> = {};
  let fix8: { version: string; cves: string[] };
  let fix9: { version: string; cves: string[] };

  beforeAll(async () => {
    const csaf = JSON.parse(readFileSync(sharedPath(CSAF_0811), "utf8")) as Csaf;
    fix8 = redHatFix(csaf, BASEOS(8));
    fix9 = redHatFix(csaf, BASEOS(9));

    const feeds = path.join(work, "feeds");
    mkdirSync(feeds);
    writeFileSync(path.join(feeds, "rhsa-2024_0811.json"), readFileSync(sharedPath(CSAF_0811)));
    writeFileSync(path.join(feeds, "cve-2099-0011.json"), JSON.stringify(willNotFixVex()));
    writeFileSync(
      path.join(feeds, "RLSA-2099_0811.json"),
      JSON.stringify({
        schema_version: "1.6.0",
        id: "RLSA-2099:0811",
        modified: "2099-01-01T00:00:00Z",
        aliases: [fix9.cves[0]],
        affected: [
          {
            package: { ecosystem: "Rocky Linux:9", name: "sudo" },
            ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: ROCKY_FIX }] }],
          },
        ],
      }),
    );
    const dbDir = path.join(work, "vulndb");
    await buildDatabase({ from: [feeds], dbDir });

    for (const [name, distro] of Object.entries(DISTROS)) {
      const rpmdb = buildRpmdb(path.join(work, name), sharedPath("fixtures/os-packages/rpm/libuuid/Packages"), [
        distro.sudo,
      ]);
      const layer = await buildLayer([
        {
          path: "etc/os-release",
          content: readFileSync(sharedPath(`fixtures/os-release/trivy/release/${distro.osRelease}`), "utf8"),
        },
        { path: "var/lib/rpm/rpmdb.sqlite", content: rpmdb },
      ]);
      const archive = path.join(work, `${name}.oci.tar`);
      await writeOciArchive(archive, { images: [{ image: buildImage({ layers: [layer] }) }] });
      results[name] = await scan(`oci-archive:${archive}`, { cacheDir: false, database: dbDir });
    }
  }, 240_000);

  const sudo = (name: string) =>
    (results[name]!.findings ?? [])
      .filter((f) => f.packageName === "sudo")
      .map((f) => ({
        id: f.id,
        status: f.status,
        fixedVersion: f.fixedVersion,
        redhatFixedVersion: f.redhatFixedVersion,
        // The release, not the stream: RHSA-2024:0811 fixes sudo in RHEL 9's BaseOS and AppStream alike.
        ecosystem: f.match.ecosystem.replace(/::.*$/, ""),
      }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));

  it("detects each distro and gives its packages Red Hat's mainline streams of the same major release", () => {
    expect(results.rocky!.artifact.os).toMatchObject({
      family: "rocky",
      ecosystem: "Rocky Linux:9",
      cpes: [APPSTREAM(9), BASEOS(9)],
    });
    expect(results.alma!.artifact.os).toMatchObject({
      family: "almalinux",
      ecosystem: "AlmaLinux:9",
      cpes: [APPSTREAM(9), BASEOS(9)],
    });
    expect(results["centos-stream"]!.artifact.os).toMatchObject({
      family: "centos",
      version: "8",
      cpes: [APPSTREAM(8), BASEOS(8)],
    });
    expect(results.oracle!.artifact.os).toMatchObject({
      family: "ol",
      version: "8.10",
      cpes: [APPSTREAM(8), BASEOS(8)],
    });
    // No OSV ecosystem exists for CentOS or Oracle Linux: none is invented.
    expect(results["centos-stream"]!.artifact.os?.ecosystem).toBeUndefined();
    expect(results.oracle!.artifact.os?.ecosystem).toBeUndefined();
    // The UBI package keeps Red Hat's vendor: in these images it is a third-party build, never matched.
    for (const result of Object.values(results)) {
      expect(result.packages.find((p) => p.name === "libuuid")?.metadata?.thirdParty).toBeTruthy();
    }
  });

  it("Rocky: its own feed's fix decides; Red Hat's fixes are never claimed; Red Hat's 'Will not fix' holds", () => {
    const rockyCve = fix9.cves[0]!;
    const others = fix9.cves.slice(1);
    expect(sudo("rocky")).toEqual(
      [
        ...others.map((id) => ({
          id,
          status: "affected",
          fixedVersion: undefined,
          redhatFixedVersion: fix9.version,
          ecosystem: "Red Hat:enterprise_linux:9",
        })),
        {
          id: rockyCve,
          status: "fixed",
          fixedVersion: ROCKY_FIX,
          redhatFixedVersion: undefined,
          ecosystem: "Rocky Linux:9",
        },
        {
          id: "CVE-2099-0011",
          status: "will_not_fix",
          fixedVersion: undefined,
          redhatFixedVersion: undefined,
          ecosystem: "Red Hat:enterprise_linux:9",
        },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
  });

  it("AlmaLinux: a build past Red Hat's fix is not vulnerable; the unfixed state still applies", () => {
    expect(sudo("alma").map((f) => [f.id, f.status])).toEqual([["CVE-2099-0011", "will_not_fix"]]);
  });

  it("CentOS Stream and Oracle: older than Red Hat's RHEL 8 fix is affected, with Red Hat's build shown apart", () => {
    for (const name of ["centos-stream", "oracle"]) {
      expect(sudo(name)).toEqual(
        [
          ...fix8.cves.map((id) => ({
            id,
            status: "affected",
            fixedVersion: undefined,
            redhatFixedVersion: fix8.version,
            ecosystem: "Red Hat:enterprise_linux:8",
          })),
          {
            id: "CVE-2099-0011",
            status: "will_not_fix",
            fixedVersion: undefined,
            redhatFixedVersion: undefined,
            ecosystem: "Red Hat:enterprise_linux:8",
          },
        ].sort((a, b) => (a.id < b.id ? -1 : 1)),
      );
    }
  });
});
