import { expect, it } from "vitest";
import { matchPackages } from "../../src/match/index.js";
import { MemoryStore, osvFilesUnder, readOsvFile } from "../helpers/memory-store.js";
import { describeWithShared, HAS_SHARED, sharedPath } from "../helpers/shared.js";
import { casesFromRecord, packageFor, type Exclusion } from "./osv-cases.js";

const FOLDERS = ["osv-pypi", "osv-go", "osv-rustsec", "osv-ghsa", "osv-ubuntu", "osv-misc"];

// Cases are generated from the records (see osv-cases.ts), so every expected verdict is the advisory's own.
describeWithShared("every real OSV record in /work/shared/vulns", () => {
  const files = HAS_SHARED ? FOLDERS.flatMap((f) => osvFilesUnder(sharedPath("vulns", f))) : [];
  const exclusions: Exclusion[] = [];
  let total = 0;

  for (const file of files) {
    const record = readOsvFile(file);
    const { cases, exclusions: excluded } = casesFromRecord(record);
    exclusions.push(...excluded);
    total += cases.length;
    if (cases.length === 0) continue;

    it(`${file.slice(sharedPath("vulns").length + 1)}: ${cases.length} cases`, async () => {
      const store = new MemoryStore([record]);
      const packages = cases.map((c, i) =>
        packageFor(
          c,
          `p${i}`,
          record.affected?.find((a) => a.package?.name === c.name),
        ),
      );
      const { findings } = await matchPackages(packages, store);
      const hit = new Set(findings.map((f) => f.packageId));
      const wrong = cases
        .map((c, i) => ({ ...c, got: hit.has(`p${i}`) }))
        .filter((c) => c.got !== c.vulnerable)
        .map(
          (c) =>
            `${c.ecosystem}/${c.name}@${c.version} (${c.why}): expected ${c.vulnerable ? "vulnerable" : "not vulnerable"}`,
        );
      expect(wrong).toEqual([]);
      for (const f of findings) expect(f.match.recordId).toBe(record.id);
    });
  }

  it("generates a large corpus and records why anything was left out", () => {
    expect(files.length).toBeGreaterThan(1100);
    expect(total).toBeGreaterThan(20000);
    const reasons = new Set(
      exclusions.map((e) =>
        e.reason.replace(/ecosystem .*$/, "ecosystem X").replace(/valid .* version/, "valid version"),
      ),
    );
    // Exclusions must be one of the documented kinds, never a silent skip.
    for (const r of reasons) {
      expect([
        "no affected entries",
        "no package (only GIT repository data)",
        "no package type or version ordering for ecosystem X",
        "GIT ranges only (needs the commit graph)",
        "not a valid version",
        "fixed version also listed as affected by the record",
        "fixed version re-introduced by another range",
        "fixed version inside another range that has no end",
        "introduced version is also a fixed version",
        "SEMVER range without an introduced event (invalid per the schema)",
        "ECOSYSTEM range without an introduced event (invalid per the schema)",
      ]).toContain(r);
    }
  });
});
