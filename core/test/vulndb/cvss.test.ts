import { describe, expect, it } from "vitest";
import { cvssBandSeverity, scoreCvssVector, scoreOsvSeverities } from "../../src/index.js";

// Expected scores: FIRST's published examples (CVSS v2 guide §3.3, v3.0/v3.1 "Examples" documents) and,
// for the rest, the spec formulas evaluated by an independent Python implementation of
// docs/matching-rules.md §9 (v2/v3). python3-cvss was not installable here (no apt index / PyPI access).
const CASES: Array<[string, number, string]> = [
  ["AV:N/AC:L/Au:N/C:N/I:N/A:C", 7.8, "high"], // v2 guide: CVE-2002-0392
  ["AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0, "high"], // v2 guide: CVE-2003-0818 (v2 has no Critical band)
  ["AV:L/AC:H/Au:N/C:C/I:C/A:C", 6.2, "medium"], // v2 guide: CVE-2003-0062
  ["(AV:N/AC:M/Au:N/C:N/I:P/A:N)", 4.3, "medium"],
  ["CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "medium"], // CVE-2013-1937
  ["CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4, "medium"], // CVE-2013-0375
  ["CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9, "critical"], // CVE-2012-1516
  ["CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L", 4.2, "medium"], // CVE-2009-0783
  ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "critical"], // CVE-2014-6271
  ["CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N", 6.8, "medium"], // CVE-2008-1447
  ["CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8, "medium"], // CVE-2014-2005
  ["CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:H", 8.2, "high"],
  ["CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0, "negligible"],
  ["CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, "critical"],
  ["CVSS:3.0/AV:A/AC:L/PR:N/UI:N/S:C/C:N/I:H/A:N", 7.4, "high"],
  ["CVSS:3.0/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.8, "low"],
  // Temporal metrics do not change the base score.
  ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C", 9.8, "critical"],
  // GHSA-f5pg-7wfw-84q9 ships this vector with a trailing slash.
  ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C/", 9.8, "critical"],
  // v4.0: values FIRST's calculator (and NVD/GHSA listings) give for these base vectors.
  ["CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, "critical"],
  ["CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10.0, "critical"],
  ["CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N", 8.7, "high"],
  ["CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.5, "high"],
  ["CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", 6.9, "medium"],
  ["CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0, "negligible"],
  // Threat metrics are not part of the base score (CVSS-B).
  ["CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U", 9.3, "critical"],
];

describe("CVSS scoring", () => {
  it.each(CASES)("%s scores %d (%s)", (vector, score, severity) => {
    const warnings: string[] = [];
    const result = scoreCvssVector(vector, (w) => warnings.push(w));
    expect(warnings).toEqual([]);
    expect(result).toMatchObject({ score, severity });
  });

  it("reports the version from the vector", () => {
    expect(scoreCvssVector("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")!.version).toBe("3.0");
    expect(scoreCvssVector("AV:N/AC:L/Au:N/C:C/I:C/A:C")!.version).toBe("2.0");
    expect(scoreCvssVector("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")!.version).toBe("4.0");
  });

  it.each([
    ["CVSS:3.1/AV:N", /missing base metric\(s\) AC, PR, UI, S, C, I, A/],
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q", /invalid value "Q" for A/],
    ["CVSS:3.1/AV:N/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", /metric AV appears twice/],
    ["CVSS:3.1/AV:X/garbage", /invalid value "X" for AV/],
    ["CVSS:5.0/AV:N", /unsupported CVSS version 5.0/],
    ["high", /no CVSS version prefix/],
    ["CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H", /missing base metric\(s\) SC, SI, SA/],
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/Foo:1", /unknown metric "Foo"/],
  ])("skips invalid vector %s with a warning, never throwing", (vector, reason) => {
    const warnings: string[] = [];
    expect(scoreCvssVector(vector, (w) => warnings.push(w), "GHSA-x")).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^GHSA-x: vector /);
    expect(warnings[0]).toMatch(reason);
  });

  it("scores an OSV severity list, ignoring non-CVSS types and bad vectors", () => {
    const warnings: string[] = [];
    const scores = scoreOsvSeverities(
      [
        { type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" },
        { type: "Ubuntu", score: "medium" },
        { type: "CVSS_V4", score: "CVSS:4.0/nonsense" },
      ],
      (w) => warnings.push(w),
    );
    expect(scores.map((s) => s.score)).toEqual([9.8]);
    expect(warnings).toHaveLength(1);
  });

  it("maps scores to FIRST's bands", () => {
    expect([0.1, 3.9, 4.0, 6.9, 7.0, 8.9, 9.0, 10].map((s) => cvssBandSeverity(s, "3.1"))).toEqual([
      "low",
      "low",
      "medium",
      "medium",
      "high",
      "high",
      "critical",
      "critical",
    ]);
    expect(cvssBandSeverity(9.5, "2.0")).toBe("high");
    expect(cvssBandSeverity(11, "3.1")).toBe("unknown");
  });
});
