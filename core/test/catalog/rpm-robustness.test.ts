import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadSqlite } from "../../src/catalog/rpm/sqlite.js";

// The scan loads the SQLite engine through the cataloger's prepare(); direct calls do it here.
beforeAll(loadSqlite);
import {
  createRpmCataloger,
  defaultCatalogers,
  parseSourceRpm,
  readBdbHashValues,
  readNdbBlobs,
  readSqliteBlobs,
  rpmThirdPartyVendor,
  toRpmEntry,
  withinBound,
  type OsInfo,
  type PackageCandidate,
} from "../../src/catalog/index.js";
import { MemoryView } from "../helpers/memory-view.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

const cataloger = createRpmCataloger();

function run(location: string, bytes: Buffer, os: OsInfo): { packages: PackageCandidate[]; warnings: string[] } {
  const warnings: string[] = [];
  return { packages: cataloger.catalog(new MemoryView({ [location]: bytes }), { os, warnings }), warnings };
}

const DATABASES = [
  { fixture: "fixtures/os-packages/rpm/cbl-mariner-2.0/rpmdb.sqlite", location: "var/lib/rpm/rpmdb.sqlite" },
  { fixture: "fixtures/os-packages/rpm/libuuid/Packages", location: "var/lib/rpm/Packages" },
  { fixture: "fixtures/os-packages/rpm/sle15-bci/Packages.db", location: "usr/lib/sysimage/rpm/Packages.db" },
];
const RHEL: OsInfo = { family: "rhel", version: "9.4" };

/** Deterministic pseudo-random bytes, so a failure reproduces. */
function scramble(bytes: Buffer, seed: number, count: number): Buffer {
  const copy = Buffer.from(bytes);
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    copy[state % copy.length] = (state >>> 8) & 0xff;
  }
  return copy;
}

describeWithShared("rpm databases that are damaged", () => {
  it.each(DATABASES)(
    "$fixture: truncations give warnings and only real packages, never a throw",
    ({ fixture, location }) => {
      const bytes = readFileSync(sharedPath(fixture));
      const whole = run(location, bytes, RHEL).packages.map((pkg) => `${pkg.name} ${pkg.version}`);
      for (const cut of [
        0,
        7,
        100,
        511,
        4096,
        Math.floor(bytes.length / 3),
        Math.floor(bytes.length / 2),
        bytes.length - 1,
      ]) {
        const { packages, warnings } = run(location, bytes.subarray(0, cut), RHEL);
        expect(packages.length, `cut at ${cut}`).toBeLessThanOrEqual(whole.length);
        for (const pkg of packages) expect(whole, `cut at ${cut}`).toContain(`${pkg.name} ${pkg.version}`);
        if (packages.length < whole.length) expect(warnings.length, `cut at ${cut}`).toBeGreaterThan(0);
        for (const message of warnings) expect(message.startsWith(`rpm: ${location}: `)).toBe(true);
      }
    },
  );

  it.each(DATABASES)("$fixture: scrambled bytes never throw and give well-formed packages", ({ fixture, location }) => {
    const bytes = readFileSync(sharedPath(fixture));
    for (let seed = 1; seed <= 40; seed++) {
      const { packages, warnings } = run(location, scramble(bytes, seed, 1 + seed * 5), RHEL);
      expect(Array.isArray(packages)).toBe(true);
      expect(warnings.length).toBeLessThanOrEqual(30);
      for (const pkg of packages) {
        expect(pkg.name).not.toBe("");
        expect(pkg.version).not.toBe("");
        expect(pkg.type).toBe("rpm");
      }
    }
  });

  it("a BerkeleyDB whose pages all point at themselves ends with warnings, not a hang", () => {
    const bytes = Buffer.from(readFileSync(sharedPath(DATABASES[1]!.fixture)));
    const pageSize = bytes.readUInt32LE(20);
    for (let page = 1; page * pageSize < bytes.length; page++) bytes.writeUInt32LE(page, page * pageSize + 16);
    const result = readBdbHashValues(bytes);
    expect(result.problems.length).toBeGreaterThan(0);
  });

  it("a BerkeleyDB with an impossible bucket count is refused", () => {
    const bytes = Buffer.from(readFileSync(sharedPath(DATABASES[1]!.fixture)));
    bytes.writeUInt32LE(0xfffffff0, 72);
    expect(readBdbHashValues(bytes)).toEqual({ blobs: [], problems: [expect.stringMatching(/bucket count/)] });
  });

  it("an NDB slot pointing past the end loses that package only", () => {
    const bytes = Buffer.from(readFileSync(sharedPath(DATABASES[2]!.fixture)));
    const before = readNdbBlobs(bytes).blobs.length;
    // The first slot follows the 32-byte database header: magic, package index, block offset, block count.
    bytes.writeUInt32LE(0x7fffffff, 32 + 8);
    const after = readNdbBlobs(bytes);
    expect(after.blobs).toHaveLength(before - 1);
    expect(after.problems).toEqual([expect.stringMatching(/^package 1: blob location outside the file$/)]);
    bytes.writeUInt32LE(0xffffffff, 12);
    expect(readNdbBlobs(bytes).problems).toEqual([expect.stringMatching(/slot page count/)]);
  });

  it("an SQLite file that is not an rpm database is reported", () => {
    const bytes = readFileSync(sharedPath(DATABASES[0]!.fixture));
    expect(readSqliteBlobs(Buffer.from("SQLite format 3\0" + "x".repeat(200))).problems[0]).toMatch(/unreadable/);
    expect(readSqliteBlobs(bytes.subarray(0, 50)).problems).toEqual(["not an SQLite database"]);
  });

  it("syft's bad.rpm in place of a database is a warning", () => {
    const { packages, warnings } = run(
      "var/lib/rpm/Packages",
      readFileSync(sharedPath("fixtures/syft/redhat/testdata/bad/bad.rpm")),
      RHEL,
    );
    expect(packages).toEqual([]);
    expect(warnings).toEqual(["rpm: var/lib/rpm/Packages: file too short for a Berkeley DB metadata page"]);
    // A database of another backend under the BerkeleyDB name.
    const sqlite = run("var/lib/rpm/Packages", readFileSync(sharedPath(DATABASES[0]!.fixture)), RHEL);
    expect(sqlite).toEqual({ packages: [], warnings: ["rpm: var/lib/rpm/Packages: not a Berkeley DB hash database"] });
  });

  it("a header whose counts exceed the blob is an error, not a read past the end", () => {
    const blob = Buffer.from(readFileSync(sharedPath("fixtures/os-packages/rpm/blob.bin")));
    expect(toRpmEntry(blob.subarray(0, 200))).toEqual({ error: expect.stringMatching(/needs \d+ bytes/) });
    const huge = Buffer.from(blob);
    huge.writeUInt32BE(0x7fffffff, 0);
    expect(toRpmEntry(huge)).toEqual({ error: expect.stringMatching(/entry count/) });
    const outside = Buffer.from(blob);
    outside.writeInt32BE(0x7ffffff0, 8 + 16 + 8);
    expect(toRpmEntry(outside)).toEqual({ error: expect.stringMatching(/outside the data store/) });
  });
});

describeWithShared("third-party rpm packages", () => {
  const mariner = readFileSync(sharedPath(DATABASES[0]!.fixture));

  it("Microsoft's packages are Azure Linux itself on Mariner: matched in its feed, files owned", () => {
    const { packages } = run(DATABASES[0]!.location, mariner, { family: "mariner", version: "2.0" });
    expect(packages.some((pkg) => pkg.metadata?.thirdParty)).toBe(false);
    expect(packages.every((pkg) => pkg.ownedFiles !== undefined)).toBe(true);
  });

  it("the same packages on RHEL come from Microsoft's repository: no distro ecosystem, no owned files", () => {
    const { packages } = run(DATABASES[0]!.location, mariner, {
      ...RHEL,
      ecosystem: "Red Hat:enterprise_linux:9::baseos",
    });
    expect(packages.length).toBeGreaterThan(0);
    for (const pkg of packages) {
      expect(pkg.metadata?.thirdParty).toBe("microsoft");
      expect(pkg.ecosystem).toBe("");
      expect(pkg.ownedFiles).toBeUndefined();
    }
  });

  it("SUSE's packages are openSUSE Leap's own", () => {
    const sle = readFileSync(sharedPath(DATABASES[2]!.fixture));
    const { packages } = run(DATABASES[2]!.location, sle, { family: "opensuse-leap", version: "15.3" });
    expect(packages.some((pkg) => pkg.metadata?.thirdParty)).toBe(false);
  });

  it("names vendors by their repository and reads the vendor against the image's distro", () => {
    const cases: Array<[string | undefined, string, string | undefined]> = [
      ["Fedora Project", "rhel", "epel"],
      ["Fedora Project", "fedora", undefined],
      ["Fedora Project", "almalinux", "epel"],
      ["Docker", "centos", "docker"],
      ["NVIDIA Corporation", "rocky", "nvidia"],
      ["Microsoft Corporation", "rhel", "microsoft"],
      ["Microsoft Corporation", "azurelinux", undefined],
      ["Google Inc.", "fedora", "google"],
      ["NodeSource", "amzn", "nodesource"],
      ["Remi's RPM repository <https://rpms.remirepo.net/>", "rhel", "remi"],
      ["Red Hat, Inc.", "rhel", undefined],
      ["Red Hat, Inc.", "rocky", "Red Hat, Inc."],
      ["Rocky Enterprise Software Foundation", "rocky", undefined],
      ["AlmaLinux", "almalinux", undefined],
      ["Oracle America", "ol", undefined],
      ["Amazon Linux", "amzn", undefined],
      ["CentOS", "centos", undefined],
      ["SUSE LLC <https://www.suse.com/>", "sles", undefined],
      ["openSUSE", "opensuse-tumbleweed", undefined],
      ["VMware, Inc.", "photon", undefined],
      // No vendor says nothing about the origin; the distro keeps it.
      [undefined, "rhel", undefined],
      ["", "rhel", undefined],
      // On an unknown distro only vendors known to run their own repositories count.
      ["Docker", "unknown-distro", "docker"],
      ["Red Hat, Inc.", "unknown-distro", undefined],
      ["Some Local Builder", "unknown-distro", undefined],
    ];
    for (const [vendor, family, expected] of cases) {
      expect(rpmThirdPartyVendor(vendor, family), `${vendor} on ${family}`).toBe(expected);
    }
  });
});

describeWithShared("source rpm names", () => {
  it("splits every SRPM in snyk's RHEL 10 list so that the parts join back to the name", () => {
    const names = readFileSync(sharedPath("fixtures/snyk-docker-plugin/rpm/source_rpms.csv"), "utf8").trim().split(",");
    expect(names.length).toBeGreaterThan(100);
    for (const srpm of names) {
      const parts = parseSourceRpm(srpm);
      expect(parts, srpm).toBeDefined();
      expect(`${parts!.name}-${parts!.version}-${parts!.release}.src.rpm`).toBe(srpm);
      expect(parts!.version).not.toContain("-");
      expect(parts!.release).not.toContain("-");
    }
  });
});

describe("rpm cataloger registration and inputs it must ignore", () => {
  it("is registered among the default catalogers and wants exactly the database files", () => {
    expect(defaultCatalogers().map((c) => c.name)).toContain("rpm");
    const rpm = createRpmCataloger();
    for (const dir of ["var/lib/rpm", "usr/lib/sysimage/rpm", "usr/share/rpm"]) {
      for (const file of ["Packages", "Packages.db", "rpmdb.sqlite"])
        expect(rpm.wants(`${dir}/${file}`, 1024)).toBe(true);
    }
    expect(rpm.wants("var/lib/rpm/Name", 1024)).toBe(false);
    expect(rpm.wants("var/lib/rpm/rpmdb.sqlite-shm", 1024)).toBe(false);
    expect(rpm.wants("var/lib/rpm/Packages", 4 * 1024 * 1024 * 1024)).toBe(true);
    expect(withinBound(rpm, "var/lib/rpm/Packages", 4 * 1024 * 1024 * 1024)).toBe(false);
  });

  it("an empty view is no packages and no warnings", () => {
    const warnings: string[] = [];
    expect(cataloger.catalog(new MemoryView(), { os: RHEL, warnings })).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it("names the malformed SRPM file name as no source rather than guessing", () => {
    expect(parseSourceRpm("not-an-srpm")).toBeUndefined();
    expect(parseSourceRpm("foo.src.rpm")).toBeUndefined();
    expect(parseSourceRpm("perl-Errno-1.28-419.el8.src.rpm")).toEqual({
      name: "perl-Errno",
      version: "1.28",
      release: "419.el8",
    });
  });
});
