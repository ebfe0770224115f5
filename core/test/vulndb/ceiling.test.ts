import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { matchPackages } from "../../src/match/index.js";
import type { Package } from "../../src/catalog/types.js";
import type { OsvAffected, OsvRecord } from "../../src/vulndb/osv.js";
import { recordCeiling } from "../../src/vulndb/store/ceiling.js";
import { openDatabase } from "../../src/vulndb/store/reader.js";
import { DatabaseWriter } from "../../src/vulndb/store/writer.js";
import type { AdvisoryQuery, VulnerabilityStore } from "../../src/vulndb/types.js";
import { osvFilesUnder, readOsvFile } from "../helpers/memory-store.js";
import { describeWithShared, HAS_SHARED, sharedPath } from "../helpers/shared.js";
import { casesFromRecord, packageFor } from "../match/osv-cases.js";
import { tempDir } from "./helpers.js";

function record(affected: OsvAffected[]): OsvRecord {
  return { id: "GHSA-test-test-test", modified: "2024-01-01T00:00:00Z", affected } as OsvRecord;
}
const npm = (extra: Partial<OsvAffected>): OsvAffected => ({
  package: { ecosystem: "npm", name: "left-pad" },
  ...extra,
});

describe("a record's ceiling for a package", () => {
  it("is the highest fixed or last_affected event, or listed version, over the package's entries", () => {
    const r = record([
      npm({ ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1.2.0" }] }] }),
      npm({
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "2.0.0" }, { last_affected: "2.10.0" }] }],
        versions: ["2.0.0", "2.9.0"],
      }),
      // Another package's entries do not count.
      { package: { ecosystem: "npm", name: "other" }, ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }] }] },
    ]);
    expect(recordCeiling(r, "npm", "left-pad")).toBe("2.10.0");
    expect(
      recordCeiling(record([npm({ ranges: [], versions: ["1.0.0", "3.0.0", "not a version"] })]), "npm", "left-pad"),
    ).toBe("3.0.0");
    // introduced and fixed at the same version: an empty range, closed.
    expect(
      recordCeiling(
        record([npm({ ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "1.0.0" }, { fixed: "1.0.0" }] }] })]),
        "npm",
        "left-pad",
      ),
    ).toBe("1.0.0");
  });

  it("is absent whenever a version above the highest event could still match or warn", () => {
    const none = (affected: OsvAffected[]) => recordCeiling(record(affected), "npm", "left-pad");
    // Open: nothing fixed, or reintroduced after the last fix.
    expect(none([npm({ ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }] }] })])).toBeUndefined();
    expect(
      none([
        npm({
          ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1.0.0" }, { introduced: "2.0.0" }] }],
        }),
      ]),
    ).toBeUndefined();
    // Orderings the ceiling does not cover, limits, and ranges evaluation would skip with a warning.
    expect(
      none([npm({ ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1.0.0" }] }] })]),
    ).toBeUndefined();
    expect(
      none([npm({ ranges: [{ type: "GIT", repo: "x", events: [{ introduced: "0" }, { fixed: "abc" }] }] })]),
    ).toBeUndefined();
    expect(
      none([
        npm({ ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1.0.0" }, { limit: "2.0.0" }] }] }),
      ]),
    ).toBeUndefined();
    expect(
      none([npm({ ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1.x.y" }] }] })]),
    ).toBeUndefined();
    expect(none([npm({ ranges: [{ type: "ECOSYSTEM", events: [{ fixed: "1.0.0" }] }] })])).toBeUndefined();
    // A vendor's not-affected statement holds whatever the version.
    expect(
      none([
        npm({
          ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1.0.0" }] }],
          database_specific: { stowaway: { status: "not_affected" } },
        }),
      ]),
    ).toBeUndefined();
    // No entry for the package, or an ecosystem without an ordering.
    expect(recordCeiling(record([npm({ ranges: [] })]), "npm", "other")).toBeUndefined();
    expect(
      recordCeiling(
        record([
          {
            package: { ecosystem: "SwiftURL", name: "x" },
            ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1" }] }],
          },
        ]),
        "SwiftURL",
        "x",
      ),
    ).toBeUndefined();
  });
});

const FOLDERS = ["osv-pypi", "osv-go", "osv-rustsec", "osv-ghsa", "osv-ubuntu", "osv-misc"];

/** The same store, asked without `above`: every record of the package is read and evaluated. */
function unskipped(store: VulnerabilityStore, counter: { records: number }): VulnerabilityStore {
  return {
    metadata: () => store.metadata(),
    advisoriesFor: async (ecosystem, name) => {
      const records = await store.advisoriesFor(ecosystem, name);
      counter.records += records.length;
      return records;
    },
    kev: (cve) => store.kev(cve),
    epss: (cve) => store.epss(cve),
    cveMetrics: (cve) => store.cveMetrics?.(cve) ?? Promise.resolve([]),
    close: () => store.close(),
  };
}

function counted(store: VulnerabilityStore, counter: { records: number }): VulnerabilityStore {
  return {
    ...unskipped(store, counter),
    advisoriesFor: async (ecosystem: string, name: string, options?: AdvisoryQuery) => {
      const records = await store.advisoriesFor(ecosystem, name, options);
      counter.records += records.length;
      return records;
    },
  };
}

describeWithShared("ceilings over every real OSV record in /work/shared/vulns", () => {
  const dir = tempDir("stowaway-ceiling-");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("matching the generated cases (and versions above every fix) skips records and changes no finding or warning", async () => {
    const files = HAS_SHARED ? FOLDERS.flatMap((f) => osvFilesUnder(sharedPath("vulns", f))) : [];
    const writer = new DatabaseWriter(dir);
    const packages: Package[] = [];
    let cases = 0;
    for (const file of files) {
      const osv = readOsvFile(file);
      writer.addRecord(osv, { name: "osv", origin: "test", fetchedAt: "2026-01-01T00:00:00Z" });
      for (const c of casesFromRecord(osv).cases) {
        // Every 40th case (every 8th passed too, in 4 minutes): a popular name is looked up once per
        // case, each time reading all its records.
        if (cases++ % 40 !== 0) continue;
        const affected = osv.affected?.find((a) => a.package?.name === c.name);
        packages.push(packageFor(c, `p${packages.length}`, affected));
        // A much newer release of the same package, which ceilings are for.
        packages.push(packageFor({ ...c, version: `99${c.version}` }, `p${packages.length}`, affected));
      }
    }
    writer.finish();
    expect(packages.length).toBeGreaterThan(1000);
    const store = await openDatabase(dir);
    const all = { records: 0 };
    const read = { records: 0 };
    const expected = await matchPackages(packages, unskipped(store, all));
    const actual = await matchPackages(packages, counted(store, read));
    await store.close();
    expect(actual.findings.length).toBe(expected.findings.length);
    expect(actual).toEqual(expected);
    expect(expected.findings.length).toBeGreaterThan(100);
    // Ceilings leave a good share of the records unread.
    expect(read.records).toBeLessThan(all.records * 0.8);
  }, 300_000);
});
