import { describe, expect, it } from "vitest";
import { StowawayError } from "../../src/errors.js";
import {
  baseEcosystem,
  comparatorFor,
  compareVersions,
  InvalidVersionError,
  isSupportedEcosystem,
  isValidVersion,
  parseRpmVersion,
  UnsupportedEcosystemError,
} from "../../src/versions/index.js";

// Expected orders below are taken from the ecosystems' documentation, not from this code.
describe("ecosystem names", () => {
  it("strips OSV release suffixes", () => {
    expect(baseEcosystem("Debian:12")).toBe("Debian");
    expect(baseEcosystem("Ubuntu:22.04:LTS")).toBe("Ubuntu");
    expect(baseEcosystem("Ubuntu:Pro:18.04:LTS")).toBe("Ubuntu");
    expect(baseEcosystem("Alpine:v3.19")).toBe("Alpine");
    expect(baseEcosystem("Red Hat:enterprise_linux:9::appstream")).toBe("Red Hat");
    expect(compareVersions("Debian:12", "1.0-1", "1.0-1+deb12u1")).toBe(-1);
    expect(compareVersions("Ubuntu:22.04:LTS", "1.0~rc1", "1.0")).toBe(-1);
    expect(compareVersions("Alpine:v3.19", "1.2.3-r0", "1.2.3_p1-r0")).toBe(-1);
  });

  it("refuses unknown ecosystems with a one-line StowawayError", () => {
    for (const eco of ["GIT", "Linux", "debian", "", "SwiftURL"]) {
      expect(isSupportedEcosystem(eco)).toBe(false);
      expect(() => compareVersions(eco, "1", "2")).toThrow(UnsupportedEcosystemError);
    }
    try {
      comparatorFor("OSS-Fuzz");
    } catch (e) {
      expect(e).toBeInstanceOf(StowawayError);
      expect((e as StowawayError).code).toBe("ECOSYSTEM_UNSUPPORTED");
      expect((e as Error).message).not.toContain("\n");
    }
  });

  it("covers every ecosystem the issue names", () => {
    for (const eco of [
      "Debian",
      "Ubuntu",
      "Alpine",
      "Red Hat",
      "Rocky Linux",
      "AlmaLinux",
      "PyPI",
      "Maven",
      "npm",
      "Go",
      "crates.io",
      "RubyGems",
      "NuGet",
      "Packagist",
    ]) {
      expect(isSupportedEcosystem(eco), eco).toBe(true);
    }
  });
});

describe("invalid versions", () => {
  it("throw InvalidVersionError naming ecosystem and version, never a string comparison", () => {
    const cases: [string, string][] = [
      ["Debian", "a1.0"],
      ["Debian", "1:"],
      ["Debian", "x:1.0"],
      ["Alpine", "1.0bc"],
      ["PyPI", "1.0-foo"],
      ["npm", "1.2"],
      ["Go", "v1.2.3.4"],
      ["RubyGems", "1beta"],
      ["NuGet", "1.0.0.0.0"],
      ["Red Hat", ""],
      ["Maven", ""],
    ];
    for (const [eco, v] of cases) {
      expect(isValidVersion(eco, v), `${eco} ${v}`).toBe(false);
      expect(() => compareVersions(eco, v, v)).toThrow(InvalidVersionError);
      try {
        compareVersions(eco, "1.0.0", v);
      } catch (e) {
        expect((e as StowawayError).code).toBe("VERSION_INVALID");
        expect((e as Error).message).toContain(JSON.stringify(v));
        expect((e as Error).message).not.toContain("\n");
      }
    }
  });
});

describe("rpm EVR (rpm labelCompare semantics)", () => {
  it("keeps an absent epoch distinct from 0 but compares it as 0", () => {
    expect(parseRpmVersion("1.0-1").epoch).toBeUndefined();
    expect(parseRpmVersion("0:1.0-1").epoch).toBe("0");
    expect(compareVersions("Red Hat", "1.0-1", "0:1.0-1")).toBe(0);
    expect(compareVersions("Red Hat", "1.0-1", "1:0.1-1")).toBe(-1);
  });

  it("orders ~ below and ^ above the base version", () => {
    expect(compareVersions("Rocky Linux", "1.0~rc1-1", "1.0-1")).toBe(-1);
    expect(compareVersions("AlmaLinux", "1.0^git1-1", "1.0-1")).toBe(1);
    expect(compareVersions("AlmaLinux", "1.0^git1-1", "1.0.1-1")).toBe(-1);
  });

  it("splits the release at the last hyphen only", () => {
    expect(parseRpmVersion("2:1.2-rc-3.el9")).toEqual({ epoch: "2", version: "1.2-rc", release: "3.el9" });
  });
});

describe("Go modules", () => {
  it("accepts versions with and without the v prefix", () => {
    expect(compareVersions("Go", "v1.2.3", "1.2.3")).toBe(0);
  });

  it("orders pseudo-versions as prereleases of the next patch", () => {
    // go.dev/ref/mod#pseudo-versions: vX.Y.(Z+1)-0.yyyymmddhhmmss-hash sorts after vX.Y.Z, before vX.Y.(Z+1).
    expect(compareVersions("Go", "v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3")).toBe(1);
    expect(compareVersions("Go", "v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4")).toBe(-1);
    expect(compareVersions("Go", "v0.0.0-20191109021931-daa7c04131f5", "v0.0.0-20200101000000-aaaaaaaaaaaa")).toBe(-1);
  });

  it("ignores +incompatible, which is build metadata", () => {
    expect(compareVersions("Go", "v2.0.0+incompatible", "v2.0.0")).toBe(0);
    expect(compareVersions("Go", "v2.0.1+incompatible", "v2.0.0+incompatible")).toBe(1);
  });
});

describe("NuGet", () => {
  it("compares prerelease labels case-insensitively and pads to four parts", () => {
    expect(compareVersions("NuGet", "1.0.0-BETA", "1.0.0-beta")).toBe(0);
    expect(compareVersions("NuGet", "1.0", "1.0.0.0")).toBe(0);
    expect(compareVersions("NuGet", "1.0.0.1", "1.0.0")).toBe(1);
  });
});

describe("comparator objects", () => {
  it("parse once, compare many", () => {
    const c = comparatorFor("Debian:12");
    const sorted = ["1.0-1", "1:0.9-1", "1.0~rc1-1", "1.0-1+deb12u1"].map((v) => ({ v, p: c.parse(v) }));
    sorted.sort((x, y) => c.compareParsed(x.p, y.p));
    expect(sorted.map((x) => x.v)).toEqual(["1.0~rc1-1", "1.0-1", "1.0-1+deb12u1", "1:0.9-1"]);
  });
});
