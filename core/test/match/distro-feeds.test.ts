import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { matchPackages } from "../../src/match/index.js";
import type { OsvRecord, Severity } from "../../src/vulndb/osv.js";
import { MemoryStore } from "../helpers/memory-store.js";
import { describeWithShared, HAS_SHARED, sharedPath } from "../helpers/shared.js";
import { distroRecord, pkg } from "./fixtures.js";

// The real Debian tracker and Alpine secdb samples, turned into the records Stowaway's ingesters
// write (docs/matching-rules.md R3, R5) by a deliberately small converter. The oracle is each feed's own verdict: the
// tracker's per-release "status" and secdb's "fixed in" versions.

const DEBIAN_MAJOR: Record<string, string> = {
  jessie: "8",
  stretch: "9",
  buster: "10",
  bullseye: "11",
  bookworm: "12",
  trixie: "13",
};

interface TrackerRelease {
  status: string;
  repositories: Record<string, string>;
  fixed_version?: string;
  urgency?: string;
}

function urgency(u: string | undefined): Severity {
  const w = (u ?? "").replace(/\*+$/, "");
  if (w === "unimportant" || w.startsWith("low")) return "low";
  if (w.startsWith("medium")) return "medium";
  if (w.startsWith("high")) return "high";
  return "unknown";
}

function trackerCases() {
  const data = JSON.parse(
    readFileSync(sharedPath("vulns", "debian-security-tracker", "debian.json.sample"), "utf8"),
  ) as Record<string, Record<string, { releases: Record<string, TrackerRelease> }>>;
  const records: OsvRecord[] = [];
  const cases: { ecosystem: string; source: string; version: string; cve: string; vulnerable: boolean; why: string }[] =
    [];
  for (const [source, cves] of Object.entries(data)) {
    for (const [cve, entry] of Object.entries(cves)) {
      for (const [release, r] of Object.entries(entry.releases)) {
        const ecosystem = release === "sid" ? "Debian:sid" : `Debian:${DEBIAN_MAJOR[release]}`;
        const eol = r.urgency === "end-of-life";
        records.push(
          distroRecord(`${cve}/${release}`, {
            ecosystem,
            name: source,
            aliases: [cve],
            events: r.fixed_version ? [{ introduced: "0" }, { fixed: r.fixed_version }] : [{ introduced: "0" }],
            status: r.status === "resolved" ? "fixed" : eol ? "end_of_life" : "affected",
            vendorSeverity: urgency(r.urgency),
          }),
        );
        const repos = Object.entries(r.repositories);
        if (r.status === "open") {
          for (const [repo, v] of repos)
            cases.push({ ecosystem, source, version: v, cve, vulnerable: true, why: `open in ${repo}` });
        } else {
          // "resolved" is the tracker's verdict on the release's newest upload (the -security one when present).
          const newest = repos.find(([repo]) => repo.endsWith("-security")) ?? repos[0]!;
          cases.push({
            ecosystem,
            source,
            version: newest[1],
            cve,
            vulnerable: false,
            why: `resolved in ${newest[0]}`,
          });
          if (r.fixed_version && r.fixed_version !== "0") {
            cases.push({
              ecosystem,
              source,
              version: r.fixed_version,
              cve,
              vulnerable: false,
              why: "the fixed version",
            });
          }
        }
      }
    }
  }
  return { records, cases };
}

describeWithShared("Debian security tracker sample (real data)", () => {
  it("agrees with the tracker's own per-release status", async () => {
    const { records, cases } = trackerCases();
    expect(cases.length).toBeGreaterThan(20);
    const store = new MemoryStore(records);
    const packages = cases.map((c, i) =>
      pkg({
        name: c.source,
        version: c.version,
        type: "deb",
        ecosystem: c.ecosystem,
        id: `p${i}`,
        source: { name: c.source, version: c.version },
      }),
    );
    const { findings } = await matchPackages(packages, store);
    const found = new Set(findings.map((f) => `${f.packageId}/${f.id}`));
    const wrong = cases
      .filter((c, i) => found.has(`p${i}/${c.cve}`) !== c.vulnerable)
      .map((c) => `${c.ecosystem} ${c.source} ${c.version} ${c.cve} (${c.why})`);
    expect(wrong).toEqual([]);
    // chromium CVE-2022-0456 is open in buster and stretch with urgency "end-of-life".
    const eol = findings.filter((f) => f.id === "CVE-2022-0456");
    expect(eol.length).toBeGreaterThan(0);
    for (const f of eol) expect([f.status, f.severity]).toEqual(["end_of_life", "unknown"]);
  });
});

describeWithShared("Alpine secdb samples (real data)", () => {
  const files = HAS_SHARED
    ? ["311-main", "311-community", "312-main", "312-community", "edge-main", "edge-community"].map((n) =>
        sharedPath("vulns", "alpine-secdb", `vuln-list-update-${n}.json`),
      )
    : [];
  for (const file of files) {
    it(`${file.split("/").pop()}: fixed versions are not vulnerable, fixes at 0 never`, async () => {
      const db = JSON.parse(readFileSync(file, "utf8")) as {
        distroversion: string;
        // Empty repositories are written as {} rather than [].
        packages: { pkg: { name: string; secfixes: Record<string, string[] | Record<string, never>> } }[] | object;
      };
      const ecosystem = db.distroversion === "edge" ? "Alpine:edge" : `Alpine:${db.distroversion}`;
      const records: OsvRecord[] = [];
      const cases: { name: string; version: string; cve: string }[] = [];
      for (const { pkg: p } of Array.isArray(db.packages) ? db.packages : []) {
        for (const [fixed, ids] of Object.entries(p.secfixes)) {
          for (const id of Array.isArray(ids) ? ids : []) {
            const cve = id.split(/\s+/)[0]!;
            records.push(
              distroRecord(cve, {
                ecosystem,
                name: p.name,
                events: [{ introduced: "0" }, { fixed }],
                source: "alpine-secdb",
              }),
            );
            // The package at its fix version, and at version "0" when the fix is "0" (never affected).
            cases.push({ name: p.name, version: fixed === "0" ? "1.0-r0" : fixed, cve });
          }
        }
      }
      const store = new MemoryStore(records);
      const packages = cases.map((c, i) =>
        pkg({ id: `p${i}`, name: c.name, version: c.version, type: "apk", ecosystem }),
      );
      // Only the fixed CVE is checked: a version can fix one CVE and still carry a later one.
      const fixedHits = (await matchPackages(packages, store)).findings.filter(
        (f) => f.id === cases[Number(f.packageId.slice(1))]!.cve,
      );
      expect(fixedHits).toEqual([]);
      // One below each non-zero fix is vulnerable: "-r0" of an earlier upstream patch level is lower by apk order.
      const below = cases
        .filter((c) => c.version !== "1.0-r0")
        .map((c, i) => pkg({ id: `b${i}`, name: c.name, version: "0.0.1-r0", type: "apk", ecosystem }));
      const hits = (await matchPackages(below, store)).findings;
      expect(new Set(hits.map((f) => f.packageId)).size).toBe(below.length);
      if (cases.length === 0) expect(db.packages).toEqual({});
    });
  }
});
