import { beforeAll, describe, expect, it } from "vitest";
import type { Package } from "../../src/catalog/types.js";
import { matchPackages } from "../../src/match/index.js";
import type { Finding } from "../../src/result.js";
import { MemoryStore, readOsvFile } from "../helpers/memory-store.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { bookwormPackages, distroRecord, pkg } from "./fixtures.js";

// Hand-made Debian 12 advisories (ids CVE-2099-*, obviously synthetic) against the real package
// names and versions of the bookworm minbase image. Expected verdicts follow from dpkg ordering
// and docs/matching-rules.md R2–R13, worked out by hand in the comments.
const D12 = "Debian:12";

function byPackage(findings: Finding[]): Record<string, Finding[]> {
  const out: Record<string, Finding[]> = {};
  for (const f of findings) (out[f.packageName] ??= []).push(f);
  return out;
}

describeWithShared("Debian and Ubuntu: source-package matching (R2)", () => {
  let image: Map<string, Package>;
  const get = (name: string) => image.get(name)!;
  beforeAll(() => {
    image = bookwormPackages();
  });

  it("compares the source version of a binNMU, never the binary version", async () => {
    // bash 5.2.15-2+b13 is a binNMU of source bash 5.2.15-2. A Debian `versions` list names source
    // versions, so only the source version can be found in it.
    const store = new MemoryStore([
      distroRecord("CVE-2099-0001", { ecosystem: D12, name: "bash", versions: ["5.2.15-1", "5.2.15-2"] }),
      distroRecord("CVE-2099-0002", {
        ecosystem: D12,
        name: "bash",
        events: [{ introduced: "0" }, { fixed: "5.2.15-3" }],
      }),
      // The source is exactly at the fix: not vulnerable although the binary carries "+b13".
      distroRecord("CVE-2099-0003", {
        ecosystem: D12,
        name: "bash",
        events: [{ introduced: "0" }, { fixed: "5.2.15-2" }],
      }),
    ]);
    const { findings } = await matchPackages([get("bash")], store);
    expect(findings.map((f) => f.id).sort()).toEqual(["CVE-2099-0001", "CVE-2099-0002"]);
    const listed = findings.find((f) => f.id === "CVE-2099-0001")!;
    expect(listed.installedVersion).toBe("5.2.15-2+b13");
    expect(listed.match).toMatchObject({
      type: "source",
      ecosystem: D12,
      name: "bash",
      version: "5.2.15-2",
      constraint: "versions: [5.2.15-2]",
      recordId: "CVE-2099-0001",
    });
    const ranged = findings.find((f) => f.id === "CVE-2099-0002")!;
    expect(ranged.match.constraint).toBe(">=0 <5.2.15-3");
    expect(ranged.fixedVersion).toBe("5.2.15-3");
    expect(ranged.status).toBe("fixed");
  });

  it("uses the source version when only the binary has an epoch (bsdutils 1:2.38.1 from util-linux 2.38.1)", async () => {
    // Binary comparison would put 1:2.38.1-5+deb12u3 above the fix (epoch 1 > 0) and miss it.
    const store = new MemoryStore([
      distroRecord("CVE-2099-0010", {
        ecosystem: D12,
        name: "util-linux",
        events: [{ introduced: "0" }, { fixed: "2.38.1-5+deb12u4" }],
      }),
    ]);
    const utilLinux = [...image.values()].filter((p) => p.source?.name === "util-linux");
    const { findings } = await matchPackages([...image.values()], store);
    // Every binary built from util-linux is reported, each as itself.
    expect(findings.map((f) => f.packageName).sort()).toEqual(utilLinux.map((p) => p.name).sort());
    expect(utilLinux.map((p) => p.name).sort()).toEqual([
      "bsdutils",
      "libblkid1",
      "libmount1",
      "libsmartcols1",
      "libuuid1",
      "mount",
      "util-linux",
      "util-linux-extra",
    ]);
    const bsdutils = findings.find((f) => f.packageName === "bsdutils")!;
    expect(bsdutils.installedVersion).toBe("1:2.38.1-5+deb12u3");
    expect(bsdutils.match.version).toBe("2.38.1-5+deb12u3");
    expect(bsdutils.findingId).toBe("deb:bsdutils/CVE-2099-0010");
    expect(new Set(findings.map((f) => f.findingId)).size).toBe(8);
  });

  it("reaches gcc-12's binaries (gcc-12-base, libgcc-s1, libstdc++6) through the gcc-12 source", async () => {
    const store = new MemoryStore([
      distroRecord("CVE-2099-0020", {
        ecosystem: D12,
        name: "gcc-12",
        events: [{ introduced: "0" }, { fixed: "12.2.0-14+deb12u2" }],
      }),
      // Debian feeds never key by binary name; a record filed under a binary name must not match it.
      distroRecord("CVE-2099-0021", { ecosystem: D12, name: "libgcc-s1", events: [{ introduced: "0" }] }),
    ]);
    const { findings } = await matchPackages([...image.values()], store);
    expect(findings.map((f) => `${f.packageName}/${f.id}`).sort()).toEqual([
      "gcc-12-base/CVE-2099-0020",
      "libgcc-s1/CVE-2099-0020",
      "libstdc++6/CVE-2099-0020",
    ]);
    expect(store.lookups.some((l) => l.name === "libgcc-s1")).toBe(false);
  });
});

describeWithShared("Debian statuses, fixes and releases (R3, R10, R16, R18)", () => {
  let image: Map<string, Package>;
  const get = (name: string) => image.get(name)!;
  beforeAll(() => {
    image = bookwormPackages();
  });

  it('treats a fix at "0" as not affected', async () => {
    const store = new MemoryStore([
      distroRecord("CVE-2099-0030", { ecosystem: D12, name: "glibc", events: [{ introduced: "0" }, { fixed: "0" }] }),
    ]);
    expect((await matchPackages([get("libc6"), get("libc-bin")], store)).findings).toEqual([]);
  });

  it("keeps the highest fixed version when several advisories fix one CVE, as one finding per binary", async () => {
    const store = new MemoryStore(
      [
        distroRecord("DSA-9999-1", {
          ecosystem: D12,
          name: "glibc",
          aliases: ["CVE-2099-0031"],
          events: [{ introduced: "0" }, { fixed: "2.36-9+deb12u15" }],
        }),
        distroRecord("CVE-2099-0031", {
          ecosystem: D12,
          name: "glibc",
          events: [{ introduced: "0" }, { fixed: "2.36-9+deb12u16" }],
          vendorSeverity: "high",
        }),
      ],
      {
        kev: [{ cveId: "CVE-2099-0031", dateAdded: "2099-01-01", knownRansomwareCampaignUse: "Known" }],
        epss: [{ cveId: "CVE-2099-0031", score: 0.42, percentile: 0.97 }],
      },
    );
    const { findings } = await matchPackages([get("libc6"), get("libc-bin")], store);
    expect(findings).toHaveLength(2);
    for (const f of findings) {
      expect(f.id).toBe("CVE-2099-0031");
      expect(f.aliases).toEqual(["DSA-9999-1"]);
      expect(f.fixedVersion).toBe("2.36-9+deb12u16");
      expect(f.match.recordId).toBe("CVE-2099-0031");
      expect(f.severity).toBe("high");
      expect(f.kev).toBe(true);
      expect(f.kevRansomware).toBe(true);
      expect(f.epss).toEqual({ score: 0.42, percentile: 0.97 });
    }
  });

  it("reports unfixed, will_not_fix, fix_deferred and end_of_life, but not under_investigation", async () => {
    const open = [{ introduced: "0" }];
    const store = new MemoryStore([
      distroRecord("CVE-2099-0040", {
        ecosystem: D12,
        name: "zlib",
        events: open,
        status: "affected",
        vendorSeverity: "low",
      }),
      distroRecord("CVE-2099-0041", { ecosystem: D12, name: "tar", events: open, status: "will_not_fix" }),
      distroRecord("CVE-2099-0042", { ecosystem: D12, name: "perl", events: open, status: "fix_deferred" }),
      distroRecord("CVE-2099-0043", { ecosystem: D12, name: "sed", events: open, status: "end_of_life" }),
      distroRecord("CVE-2099-0044", { ecosystem: D12, name: "gzip", events: open, status: "under_investigation" }),
    ]);
    const names = ["zlib1g", "tar", "perl-base", "sed", "gzip"];
    const found = byPackage((await matchPackages(names.map(get), store)).findings);
    expect(Object.keys(found).sort()).toEqual(["perl-base", "sed", "tar", "zlib1g"]);
    expect(found.zlib1g![0]).toMatchObject({
      status: "affected",
      severity: "low",
      severitySource: "debian-security-tracker",
    });
    expect(found.zlib1g![0]!.fixedVersion).toBeUndefined();
    expect(found.zlib1g![0]!.match.constraint).toBe(">=0");
    expect(found.tar![0]!.status).toBe("will_not_fix");
    expect(found["perl-base"]![0]!.status).toBe("fix_deferred");
    expect(found.sed![0]!.status).toBe("end_of_life");
  });

  it("never matches another release's records, and drops withdrawn ones", async () => {
    const store = new MemoryStore([
      distroRecord("CVE-2099-0050", { ecosystem: "Debian:11", name: "zlib", events: [{ introduced: "0" }] }),
      distroRecord("CVE-2099-0051", {
        ecosystem: D12,
        name: "zlib",
        events: [{ introduced: "0" }],
        withdrawn: "2099-02-01T00:00:00Z",
      }),
    ]);
    expect((await matchPackages([get("zlib1g")], store)).findings).toEqual([]);
  });

  it("needs the release to pick a feed; comprehensive mode tries every release of the distro", async () => {
    const store = new MemoryStore([
      distroRecord("CVE-2099-0052", { ecosystem: "Debian:11", name: "zlib", events: [{ introduced: "0" }] }),
      distroRecord("CVE-2099-0053", { ecosystem: D12, name: "zlib", events: [{ introduced: "0" }] }),
    ]);
    const bare = { ...get("zlib1g"), ecosystem: "Debian" };
    const precise = await matchPackages([bare], store);
    expect(precise.findings).toEqual([]);
    expect(precise.warnings.join("\n")).toMatch(/no distro release detected.*zlib1g/);
    const wide = await matchPackages([bare], store, { comprehensive: true });
    expect(wide.findings.map((f) => f.id).sort()).toEqual(["CVE-2099-0052", "CVE-2099-0053"]);
  });

  it("skips packages without a version instead of calling them vulnerable (R14, R15)", async () => {
    const store = new MemoryStore([
      distroRecord("CVE-2099-0060", { ecosystem: D12, name: "tzdata", events: [{ introduced: "0" }] }),
    ]);
    const { findings, warnings } = await matchPackages(
      [{ ...get("tzdata"), version: "", source: { name: "tzdata", version: "" } }],
      store,
    );
    expect(findings).toEqual([]);
    expect(warnings.join("\n")).toMatch(/no version.*tzdata/);
  });

  it("does not match third-party packages against the distro feed (R1, P12)", async () => {
    const store = new MemoryStore([
      distroRecord("CVE-2099-0070", {
        ecosystem: D12,
        name: "nodejs",
        events: [{ introduced: "0" }],
        status: "affected",
      }),
    ]);
    const nodesource = pkg({
      name: "nodejs",
      version: "20.11.1-1nodesource1",
      type: "deb",
      ecosystem: D12,
      source: { name: "nodejs", version: "20.11.1-1nodesource1" },
      metadata: { thirdParty: "NodeSource" },
    });
    const { findings, warnings } = await matchPackages([nodesource], store);
    expect(findings).toEqual([]);
    expect(warnings.join("\n")).toMatch(/third-party.*nodejs/);
    // The same package from Debian itself is affected.
    const debian = { ...nodesource, metadata: {} };
    expect((await matchPackages([debian], store)).findings).toHaveLength(1);
  });

  it("ignores kernel headers reached through the linux source unless asked (R13)", async () => {
    const store = new MemoryStore([
      distroRecord("CVE-2099-0080", {
        ecosystem: D12,
        name: "linux",
        events: [{ introduced: "0" }, { fixed: "6.1.135-1" }],
      }),
    ]);
    const headers = ["linux-libc-dev", "linux-headers-6.1.0-31-amd64", "linux-kbuild-6.1"].map((name) =>
      pkg({ name, version: "6.1.129-1", type: "deb", ecosystem: D12, source: { name: "linux", version: "6.1.129-1" } }),
    );
    expect((await matchPackages(headers, store)).findings).toEqual([]);
    const opted = await matchPackages(headers, store, { includeKernelHeaders: true });
    expect(opted.findings.map((f) => f.packageName).sort()).toEqual(headers.map((h) => h.name).sort());
  });

  it("puts the vendor's rating first and keeps every source's rating and CVSS score", async () => {
    const record = distroRecord("CVE-2099-0090", {
      ecosystem: D12,
      name: "zlib",
      events: [{ introduced: "0" }],
      vendorSeverity: "low",
    });
    record.severity = [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }];
    const [finding] = (await matchPackages([get("zlib1g")], new MemoryStore([record]))).findings;
    expect(finding!.severity).toBe("low");
    expect(finding!.severitySource).toBe("debian-security-tracker");
    expect(finding!.cvss).toEqual([
      {
        version: "3.1",
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        score: 9.8,
        source: "debian-security-tracker",
      },
    ]);
    // "not yet assigned" is no rating, so the CVSS band decides.
    const unrated = distroRecord("CVE-2099-0091", {
      ecosystem: D12,
      name: "zlib",
      events: [{ introduced: "0" }],
      vendorSeverity: "unknown",
    });
    unrated.severity = record.severity;
    const [second] = (await matchPackages([get("zlib1g")], new MemoryStore([unrated]))).findings;
    expect(second!.severity).toBe("critical");
    expect(second!.severitySource).toBe("debian-security-tracker:cvss");
    expect(second!.severities).toEqual([
      { source: "debian-security-tracker", severity: "unknown" },
      { source: "debian-security-tracker:cvss", severity: "critical" },
    ]);
  });
});

describeWithShared("Ubuntu OSV records (R4, R18)", () => {
  it("keys by the LTS ecosystem string and shows the upstream CVE with Ubuntu's priority", async () => {
    const record = readOsvFile(sharedPath("vulns", "osv-ubuntu", "osv", "cve", "2021", "UBUNTU-CVE-2021-3782.json"));
    const entry = record.affected!.find((a) => a.package?.ecosystem === "Ubuntu:18.04:LTS")!;
    const version = entry.versions![0]!;
    const make = (ecosystem: string) =>
      pkg({
        name: "libwayland-client0",
        version,
        type: "deb",
        ecosystem,
        source: { name: entry.package!.name, version },
      });
    const store = new MemoryStore([record]);
    const { findings } = await matchPackages([make("Ubuntu:18.04:LTS"), make("Ubuntu:18.04")], store);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      id: "CVE-2021-3782",
      aliases: ["UBUNTU-CVE-2021-3782"],
      severity: "medium",
      severitySource: "ubuntu",
      packageName: "libwayland-client0",
    });
    expect(findings[0]!.match).toMatchObject({ type: "source", name: "wayland", recordId: "UBUNTU-CVE-2021-3782" });
  });
});

describe("Alpine: origin names, apk order, fixes at 0 (R5)", () => {
  const A = "Alpine:v3.19";
  const libcrypto = pkg({
    name: "libcrypto3",
    version: "3.1.4-r0",
    type: "apk",
    ecosystem: A,
    source: { name: "openssl", version: "3.1.4-r0" },
  });

  it("looks subpackages up by their origin", async () => {
    const store = new MemoryStore([
      distroRecord("CVE-2099-0100", {
        ecosystem: A,
        name: "openssl",
        events: [{ introduced: "0" }, { fixed: "3.1.4-r1" }],
        source: "alpine-secdb",
      }),
      // apk order: 3.1.4_p1-r0 is a patch release after 3.1.4-r0... but it is fixed at "0" here: never affected.
      distroRecord("CVE-2099-0101", {
        ecosystem: A,
        name: "openssl",
        events: [{ introduced: "0" }, { fixed: "0" }],
        source: "alpine-secdb",
      }),
      distroRecord("CVE-2099-0102", {
        ecosystem: "Alpine:v3.18",
        name: "openssl",
        events: [{ introduced: "0" }, { fixed: "3.1.4-r1" }],
      }),
    ]);
    const { findings } = await matchPackages([libcrypto], store);
    expect(findings.map((f) => f.id)).toEqual(["CVE-2099-0100"]);
    expect(findings[0]!.match).toMatchObject({
      type: "source",
      name: "openssl",
      version: "3.1.4-r0",
      dataSource: "alpine-secdb",
    });
  });

  it("orders _p suffixes after the release (3.1.4_p1-r0 > 3.1.4-r1)", async () => {
    const store = new MemoryStore([
      distroRecord("CVE-2099-0103", {
        ecosystem: A,
        name: "openssl",
        events: [{ introduced: "0" }, { fixed: "3.1.4-r1" }],
      }),
    ]);
    const patched = { ...libcrypto, version: "3.1.4_p1-r0", source: { name: "openssl", version: "3.1.4_p1-r0" } };
    expect((await matchPackages([patched], store)).findings).toEqual([]);
  });
});

describe("rpm: EVR, source RPMs, arch and kernel headers (R6, R8, R13)", () => {
  const ALMA = "AlmaLinux:8";
  const opensslLibs = pkg({
    name: "openssl-libs",
    version: "1.1.1k-12.el8_9",
    type: "rpm",
    ecosystem: ALMA,
    arch: "x86_64",
    source: { name: "openssl", version: "1.1.1k-12.el8_9" },
    metadata: { epoch: 1 },
  });

  it("copies the binary's epoch onto the source RPM version", async () => {
    // openssl-libs carries epoch 1; its SRPM file name does not. Read as epoch 0 the source would
    // sort below every "1:" fix and look vulnerable to all of them.
    const store = new MemoryStore([
      distroRecord("CVE-2099-0110", {
        ecosystem: ALMA,
        name: "openssl",
        events: [{ introduced: "0" }, { fixed: "1:1.1.1k-9.el8_7" }],
      }),
      distroRecord("CVE-2099-0111", {
        ecosystem: ALMA,
        name: "openssl",
        events: [{ introduced: "0" }, { fixed: "1:1.1.1k-13.el8_9" }],
      }),
    ]);
    const { findings } = await matchPackages([opensslLibs], store);
    expect(findings.map((f) => f.id)).toEqual(["CVE-2099-0111"]);
    expect(findings[0]!.match).toMatchObject({ type: "source", name: "openssl", version: "1:1.1.1k-12.el8_9" });
  });

  it("compares binaries by full EVR, a missing epoch counting as 0", async () => {
    const store = new MemoryStore([
      distroRecord("CVE-2099-0112", {
        ecosystem: ALMA,
        name: "openssl-libs",
        events: [{ introduced: "0" }, { fixed: "1:1.1.1k-13.el8_9" }],
      }),
    ]);
    const [direct] = (await matchPackages([opensslLibs], store)).findings;
    expect(direct!.match).toMatchObject({ type: "direct", version: "1:1.1.1k-12.el8_9" });
    const noEpoch = { ...opensslLibs, metadata: {}, source: undefined };
    // 0:1.1.1k-12 < 1:1.1.1k-13 as well.
    expect((await matchPackages([noEpoch], store)).findings).toHaveLength(1);
  });

  it("requires the package's arch when the advisory lists arches", async () => {
    const store = new MemoryStore([
      distroRecord("CVE-2099-0113", {
        ecosystem: ALMA,
        name: "openssl-libs",
        events: [{ introduced: "0" }],
        arches: ["aarch64"],
      }),
    ]);
    expect((await matchPackages([opensslLibs], store)).findings).toEqual([]);
    expect((await matchPackages([{ ...opensslLibs, arch: "aarch64" }], store)).findings).toHaveLength(1);
  });

  it("ignores kernel-headers' matches through the kernel source unless asked", async () => {
    const headers = pkg({
      name: "kernel-headers",
      version: "4.18.0-513.5.1.el8_9",
      type: "rpm",
      ecosystem: ALMA,
      arch: "x86_64",
      source: { name: "kernel", version: "4.18.0-513.5.1.el8_9" },
    });
    const store = new MemoryStore([
      distroRecord("CVE-2099-0114", {
        ecosystem: ALMA,
        name: "kernel",
        events: [{ introduced: "0" }, { fixed: "4.18.0-513.9.1.el8_9" }],
      }),
    ]);
    expect((await matchPackages([headers], store)).findings).toEqual([]);
    expect((await matchPackages([headers], store, { includeKernelHeaders: true })).findings).toHaveLength(1);
  });
});
