import { describe, expect, it } from "vitest";
import { matchPackages } from "../../src/match/index.js";
import { goToolchainVersion, languageIdentity, normalizePackageName } from "../../src/match/ecosystem.js";
import type { OsvRecord } from "../../src/vulndb/osv.js";
import { MemoryStore, readOsvFile } from "../helpers/memory-store.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { pkg } from "./fixtures.js";

const vuln = (...p: string[]) => readOsvFile(sharedPath("vulns", ...p));

describe("language package names and versions as the feeds write them (R18)", () => {
  it("normalises PyPI names per PEP 503 and case-folds NuGet and Packagist", () => {
    expect(normalizePackageName("PyPI", "Flask_SQLAlchemy")).toBe("flask-sqlalchemy");
    expect(normalizePackageName("PyPI", "zope.interface")).toBe("zope-interface");
    expect(normalizePackageName("PyPI", "a__-.b")).toBe("a-b");
    expect(normalizePackageName("NuGet", "Newtonsoft.Json")).toBe("newtonsoft.json");
    expect(normalizePackageName("npm", "Foo")).toBe("Foo");
  });

  it("names the Go standard library `stdlib` with SemVer versions", () => {
    const id = languageIdentity(pkg({ name: "stdlib", version: "go1.22.4", type: "golang" }), "Go");
    expect(id).toMatchObject({ name: "stdlib", version: "1.22.4" });
    expect(goToolchainVersion("go1.22rc1")).toBe("1.22.0-rc.1");
    expect(goToolchainVersion("go1.21")).toBe("1.21.0");
  });

  it("adds the /vN major suffix a v2+ Go module path must carry, but not for +incompatible", () => {
    const id = (name: string, version: string) => languageIdentity(pkg({ name, version, type: "golang" }), "Go").name;
    expect(id("github.com/golang-jwt/jwt", "v4.5.0")).toBe("github.com/golang-jwt/jwt/v4");
    expect(id("github.com/golang-jwt/jwt/v4", "v4.5.0")).toBe("github.com/golang-jwt/jwt/v4");
    expect(id("github.com/docker/docker", "v24.0.7+incompatible")).toBe("github.com/docker/docker");
    expect(id("gopkg.in/yaml.v3", "v3.0.1")).toBe("gopkg.in/yaml.v3");
  });

  it("builds Maven groupId:artifactId from metadata or the purl", () => {
    const fromMeta = pkg({
      name: "spring-boot",
      version: "1.5.9",
      type: "maven",
      metadata: { groupId: "org.springframework.boot" },
    });
    const fromPurl = pkg({
      name: "spring-boot",
      version: "1.5.9",
      type: "maven",
      purl: "pkg:maven/org.springframework.boot/spring-boot@1.5.9",
    });
    expect(languageIdentity(fromMeta, "Maven").name).toBe("org.springframework.boot:spring-boot");
    expect(languageIdentity(fromPurl, "Maven").name).toBe("org.springframework.boot:spring-boot");
  });
});

describeWithShared("language matching against real advisories", () => {
  it("merges a GHSA and a Go vulndb record for one CVE into one finding (R17)", async () => {
    const store = new MemoryStore([vuln("osv-go", "GO-2024-3321.json"), vuln("osv-ghsa", "GHSA-v778-237x-gjrc.json")]);
    const crypto = pkg({ name: "golang.org/x/crypto", version: "v0.30.0", type: "golang" });
    const { findings } = await matchPackages([crypto], store);
    expect(findings).toHaveLength(1);
    const [f] = findings;
    expect(f).toMatchObject({
      id: "CVE-2024-45337",
      aliases: ["GHSA-v778-237x-gjrc", "GO-2024-3321"],
      fixedVersion: "0.31.0",
      status: "fixed",
      // GHSA's own word (HIGH) outranks the band of its CVSS vector (9.1, critical).
      severity: "high",
      severitySource: "ghsa",
    });
    expect(f!.severities).toEqual([
      { source: "ghsa", severity: "high" },
      { source: "ghsa:cvss", severity: "critical" },
    ]);
    expect(f!.cvss).toEqual([
      { version: "3.1", vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N", score: 9.1, source: "ghsa" },
    ]);
    expect(f!.match).toMatchObject({ recordId: "GHSA-v778-237x-gjrc", constraint: ">=0 <0.31.0", version: "0.30.0" });
    expect((await matchPackages([{ ...crypto, version: "v0.31.0" }], store)).findings).toEqual([]);
  });

  it("merges a PYSEC record with its GHSA alias into one finding (R17)", async () => {
    const pysec = vuln("osv-pypi", "lxml", "PYSEC-2021-19.yaml");
    // The GHSA record itself is not in /work/shared; this counterpart carries only what PYSEC-2021-19
    // says about it (its id, the shared CVE, the package and the fix 4.6.3), plus GHSA's severity word.
    const ghsa: OsvRecord = {
      id: "GHSA-jq4v-f5q6-mjqq",
      modified: "2021-03-30T00:00:00Z",
      aliases: ["CVE-2021-28957"],
      affected: [
        {
          package: { ecosystem: "PyPI", name: "lxml" },
          ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "4.6.3" }] }],
        },
      ],
      database_specific: { severity: "MODERATE" },
    };
    expect(pysec.aliases).toEqual(expect.arrayContaining(["CVE-2021-28957", "GHSA-jq4v-f5q6-mjqq"]));
    const store = new MemoryStore([pysec, ghsa]);
    const { findings } = await matchPackages([pkg({ name: "LXML", version: "4.6.2", type: "pypi" })], store);
    expect(findings.map((f) => [f.id, f.aliases, f.fixedVersion, f.severity, f.severitySource])).toEqual([
      ["CVE-2021-28957", ["GHSA-jq4v-f5q6-mjqq", "PYSEC-2021-19"], "4.6.3", "medium", "ghsa"],
    ]);
  });

  it("matches the Go stdlib from the toolchain version, across both of the record's intervals", async () => {
    const store = new MemoryStore([vuln("osv-misc", "GO-2024-2963.json")]);
    const stdlib = (version: string) => pkg({ name: "stdlib", version, type: "golang" });
    const { findings } = await matchPackages(
      ["go1.21.11", "go1.21.12", "go1.22.4", "go1.22.5", "go1.22rc1"].map(stdlib),
      store,
    );
    expect(findings.map((f) => [f.installedVersion, f.fixedVersion, f.match.constraint])).toEqual([
      ["go1.21.11", "1.21.12", ">=0 <1.21.12"],
      ["go1.22.4", "1.22.5", ">=1.22.0-0 <1.22.5"],
      ["go1.22rc1", "1.22.5", ">=1.22.0-0 <1.22.5"],
    ]);
    // Go vulndb records carry no severity at all.
    expect(findings[0]).toMatchObject({ id: "CVE-2024-24791", severity: "unknown", severitySource: "none" });
  });

  it("finds a v2+ module catalogued without its /vN suffix", async () => {
    const store = new MemoryStore([vuln("osv-go", "GO-2024-3250.json")]);
    const jwt = pkg({ name: "github.com/golang-jwt/jwt", version: "v4.5.0", type: "golang" });
    const { findings } = await matchPackages([jwt], store);
    expect(findings.map((f) => f.fixedVersion)).toEqual(["4.5.1"]);
  });

  it("matches Maven packages by groupId:artifactId", async () => {
    const store = new MemoryStore([vuln("osv-ghsa", "GHSA-xx65-cc7g-9pfp.json")]);
    const boot = pkg({
      name: "spring-boot",
      version: "1.5.9.RELEASE",
      type: "maven",
      metadata: { groupId: "org.springframework.boot" },
    });
    const { findings } = await matchPackages([boot], store);
    expect(findings.map((f) => [f.id, f.fixedVersion, f.severity])).toEqual([["CVE-2018-1196", "1.5.10", "medium"]]);
  });

  it("matches PyPI names in any PEP 503 spelling", async () => {
    const store = new MemoryStore([vuln("osv-pypi", "pyjwt", "PYSEC-2022-202.yaml")]);
    const { findings } = await matchPackages([pkg({ name: "PyJWT", version: "2.3.0", type: "pypi" })], store);
    expect(findings.map((f) => f.fixedVersion)).toEqual(["2.4.0"]);
  });

  it("never matches OS packages against language feeds (R1)", async () => {
    const store = new MemoryStore([vuln("osv-pypi", "lxml", "PYSEC-2021-19.yaml")]);
    const debLxml = pkg({
      name: "python3-lxml",
      version: "4.6.2-1",
      type: "deb",
      ecosystem: "Debian:12",
      source: { name: "lxml", version: "4.6.2-1" },
    });
    expect((await matchPackages([debLxml], store)).findings).toEqual([]);
    expect(store.lookups).toEqual([{ ecosystem: "Debian:12", name: "lxml" }]);
  });
});

describe("declared version ranges (R15)", () => {
  const record: OsvRecord = {
    id: "GHSA-test-0001",
    modified: "2025-01-01T00:00:00Z",
    affected: [
      {
        package: { ecosystem: "npm", name: "lodash" },
        ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "4.17.21" }] }],
      },
    ],
  };

  it("skips a range in precise mode and uses its minimum in comprehensive mode", async () => {
    const store = new MemoryStore([record]);
    const declared = pkg({ name: "lodash", version: "^4.17.0", type: "npm" });
    const precise = await matchPackages([declared], store);
    expect(precise.findings).toEqual([]);
    expect(precise.warnings).toEqual([
      'match: lodash: version "^4.17.0" is a range, not an installed version; not matched',
    ]);
    const wide = await matchPackages([declared], store, { comprehensive: true });
    expect(wide.findings.map((f) => f.match.version)).toEqual(["4.17.0"]);
  });
});

describe("finding order", () => {
  it("sorts by severity (worst first), then package, then id", async () => {
    const rec = (id: string, name: string, severity: string): OsvRecord => ({
      id,
      modified: "2025-01-01T00:00:00Z",
      affected: [{ package: { ecosystem: "npm", name }, ranges: [{ type: "SEMVER", events: [{ introduced: "0" }] }] }],
      database_specific: { severity },
    });
    const store = new MemoryStore([
      rec("GHSA-aaaa-0000-0001", "b", "LOW"),
      rec("GHSA-aaaa-0000-0002", "a", "LOW"),
      rec("GHSA-aaaa-0000-0003", "b", "CRITICAL"),
      rec("GHSA-aaaa-0000-0000", "a", "LOW"),
    ]);
    const pkgs = ["b", "a"].map((name) => pkg({ name, version: "1.0.0", type: "npm" }));
    const { findings } = await matchPackages(pkgs, store);
    expect(findings.map((f) => `${f.severity} ${f.packageName} ${f.id}`)).toEqual([
      "critical b GHSA-aaaa-0000-0003",
      "low a GHSA-aaaa-0000-0000",
      "low a GHSA-aaaa-0000-0002",
      "low b GHSA-aaaa-0000-0001",
    ]);
  });
});
