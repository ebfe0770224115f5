import { describe, expect, it } from "vitest";
import { evaluateAffected } from "../../src/match/osv-range.js";
import { matchPackages } from "../../src/match/index.js";
import type { OsvAffected, OsvRange } from "../../src/vulndb/osv.js";
import { MemoryStore } from "../helpers/memory-store.js";
import { pkg } from "./fixtures.js";

// Expected verdicts follow the osv-schema evaluation algorithm (docs/matching-rules.md §7).
function check(affected: OsvAffected, version: string, ecosystem = "PyPI") {
  const warnings: string[] = [];
  const hit = evaluateAffected(affected, version, { ecosystem, recordId: "TEST-1", warn: (m) => warnings.push(m) });
  return { hit, warnings };
}

const eco = (events: OsvRange["events"]): OsvRange => ({ type: "ECOSYSTEM", events });

describe("OSV range evaluation", () => {
  it("sorts events by the ecosystem's order before walking them", () => {
    // Written out of order; PEP 440 puts 1.10 after 1.9, which string order would not.
    const affected = { ranges: [eco([{ fixed: "1.10" }, { introduced: "1.9" }])] };
    expect(check(affected, "1.9.5").hit).toEqual({ constraint: ">=1.9 <1.10", fixed: "1.10" });
    expect(check(affected, "1.10").hit).toBeUndefined();
    expect(check(affected, "1.8").hit).toBeUndefined();
  });

  it('treats introduced "0" as before every version, and handles several intervals', () => {
    const affected = {
      ranges: [eco([{ introduced: "0" }, { fixed: "1.0" }, { introduced: "2.0" }, { fixed: "2.3" }])],
    };
    expect(check(affected, "0.0.1").hit?.fixed).toBe("1.0");
    expect(check(affected, "1.5").hit).toBeUndefined();
    expect(check(affected, "2.1").hit).toEqual({ constraint: ">=2.0 <2.3", fixed: "2.3" });
  });

  it("includes last_affected itself and nothing after it", () => {
    const affected = { ranges: [eco([{ introduced: "1.0" }, { last_affected: "1.4" }])] };
    expect(check(affected, "1.4").hit).toEqual({ constraint: ">=1.0 <=1.4" });
    expect(check(affected, "1.4.1").hit).toBeUndefined();
  });

  it("honours limit events (scalibr ignores them)", () => {
    // An open range capped by a limit: versions at or past the limit are outside the range.
    const affected = { ranges: [eco([{ introduced: "1.0" }, { limit: "2.0" }])] };
    expect(check(affected, "1.5").hit?.constraint).toBe(">=1.0 (limit <2.0)");
    expect(check(affected, "2.0").hit).toBeUndefined();
    expect(check(affected, "3.0").hit).toBeUndefined();
    // limit "*" is no limit.
    expect(check({ ranges: [eco([{ introduced: "1.0" }, { limit: "*" }])] }, "9.0").hit).toBeDefined();
  });

  it("skips a GIT range listed first instead of letting it hide the ECOSYSTEM range (scalibr)", () => {
    const affected: OsvAffected = {
      ranges: [
        { type: "GIT", repo: "https://example.invalid/repo", events: [{ introduced: "0" }, { fixed: "a".repeat(40) }] },
        eco([{ introduced: "2.3.0" }, { fixed: "2.31.0" }]),
      ],
    };
    const { hit, warnings } = check(affected, "2.30.0");
    expect(hit).toEqual({ constraint: ">=2.3.0 <2.31.0", fixed: "2.31.0" });
    expect(warnings).toEqual([]);
  });

  it("uses SemVer for SEMVER ranges and the ecosystem's order for ECOSYSTEM ranges", () => {
    // PEP 440 and SemVer disagree on prereleases spelled "1.0.0rc1" (not SemVer at all) and on
    // "1.0.0-rc.1" < "1.0.0" (both agree). A SEMVER range in a PyPI record is read as SemVer.
    const semver: OsvAffected = { ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1.0.0" }] }] };
    expect(check(semver, "1.0.0-rc.1").hit).toBeDefined();
    const pep440: OsvAffected = { ranges: [eco([{ introduced: "0" }, { fixed: "1.0.0" }])] };
    expect(check(pep440, "1.0.0rc1").hit).toBeDefined();
    expect(check(pep440, "1.0.0.post1").hit).toBeUndefined();
  });

  it("skips a range with an unparseable event with a warning, never string-comparing it", () => {
    const affected: OsvAffected = {
      ranges: [eco([{ introduced: "0" }, { fixed: "not a version!" }]), eco([{ introduced: "3.0" }, { fixed: "3.2" }])],
    };
    const bad = check(affected, "1.0");
    expect(bad.hit).toBeUndefined();
    expect(bad.warnings).toEqual(['TEST-1: fixed version "not a version!" is not a valid PyPI version; range skipped']);
    expect(check(affected, "3.1").hit?.fixed).toBe("3.2");
  });

  it("matches the versions list exactly, and equal spellings of one version", () => {
    const affected: OsvAffected = { versions: ["1.0", "1.1"] };
    expect(check(affected, "1.1").hit).toEqual({ constraint: "versions: [1.1]" });
    expect(check(affected, "1.0.0").hit).toEqual({ constraint: "versions: [1.0]" });
    expect(check(affected, "1.2").hit).toBeUndefined();
  });

  it("does not call an empty range (introduced and fixed at one version) vulnerable", () => {
    expect(check({ ranges: [eco([{ introduced: "1.0" }, { fixed: "1.0" }])] }, "1.0").hit).toBeUndefined();
  });
});

describe("OSV pitfalls end to end (scalibr gaps, section 7)", () => {
  const record = {
    id: "PYSEC-TEST-1",
    modified: "2025-01-01T00:00:00Z",
    affected: [
      {
        package: { ecosystem: "PyPI", name: "requests" },
        ranges: [
          {
            type: "GIT" as const,
            repo: "https://github.com/psf/requests",
            events: [{ introduced: "0" }, { fixed: "b".repeat(40) }],
          },
          { type: "ECOSYSTEM" as const, events: [{ introduced: "2.3.0" }, { fixed: "2.31.0" }] },
        ],
      },
    ],
  };

  it("a missing version is not vulnerable", async () => {
    const store = new MemoryStore([record]);
    const noVersion = pkg({ name: "requests", version: "", type: "pypi" });
    const { findings, warnings } = await matchPackages([noVersion], store);
    expect(findings).toEqual([]);
    expect(warnings.some((w) => w.includes("no version"))).toBe(true);
  });

  it("an unparseable installed version is reported once and never string-compared", async () => {
    const store = new MemoryStore([record]);
    const odd = pkg({ name: "requests", version: "2.30.0-custom+build", type: "pypi" });
    const { findings, warnings } = await matchPackages([odd], store);
    expect(findings).toEqual([]);
    expect(warnings).toEqual([
      'match: requests: version "2.30.0-custom+build" is not a valid PyPI version; advisory ranges were not evaluated for it',
    ]);
  });
});
