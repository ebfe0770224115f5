import { describe, expect, it } from "vitest";
import { scoreVector, severityFromScore, severityFromWord } from "../../src/match/severity.js";
import { osvFilesUnder, readOsvFile } from "../helpers/memory-store.js";
import { describeWithShared, HAS_SHARED, sharedPath } from "../helpers/shared.js";

// An independent CVSS v3.1 base-score oracle written from docs/matching-rules.md §9 (weights,
// formula, integer Roundup), so the library's scores are checked against the specification.
const W = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  CIA: { H: 0.56, L: 0.22, N: 0 },
} as const;

function roundup31(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

function oracle31(vector: string): number {
  const m = Object.fromEntries(
    vector
      .split("/")
      .slice(1)
      .map((p) => p.split(":") as [string, string]),
  );
  const changed = m.S === "C";
  const pr = m.PR === "N" ? 0.85 : m.PR === "L" ? (changed ? 0.68 : 0.62) : changed ? 0.5 : 0.27;
  const c = W.CIA[m.C as "H"];
  const i = W.CIA[m.I as "H"];
  const a = W.CIA[m.A as "H"];
  const iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
  const exploitability = 8.22 * W.AV[m.AV as "N"] * W.AC[m.AC as "L"] * pr * W.UI[m.UI as "N"];
  if (impact <= 0) return 0;
  return roundup31(Math.min((changed ? 1.08 : 1) * (impact + exploitability), 10));
}

describe("CVSS scoring", () => {
  it("scores v3.1 vectors as the specification's formula does", () => {
    for (const v of [
      "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
      "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:H",
      "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:L/A:H",
      "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:C/C:L/I:N/A:N",
      "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N",
    ]) {
      expect(scoreVector(v)?.score, v).toBe(oracle31(v));
    }
  });

  it("rejects incomplete, duplicated or unknown vectors instead of scoring them 0", () => {
    expect(scoreVector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H")).toBeUndefined();
    expect(scoreVector("CVSS:3.1/AV:N/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")).toBeUndefined();
    expect(scoreVector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q")).toBeUndefined();
    expect(scoreVector("CVSS:9.9/AV:N")).toBeUndefined();
    expect(scoreVector("garbage")).toBeUndefined();
  });

  it("tolerates GHSA's trailing slash and scores the base metrics only", () => {
    // GHSA-f5pg-7wfw-84q9 publishes ".../A:H/E:P/RL:O/RC:C/": base 9.8 (temporal metrics do not count).
    expect(scoreVector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C/")).toMatchObject({
      version: "3.1",
      score: 9.8,
    });
  });

  it("scores v2 and v4 vectors", () => {
    expect(scoreVector("AV:N/AC:L/Au:N/C:P/I:P/A:P")).toMatchObject({ version: "2.0", score: 7.5 });
    expect(scoreVector("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")).toMatchObject({
      version: "4.0",
      score: 9.3,
    });
  });

  it("bands scores per section 9, with v2's own thresholds", () => {
    expect(severityFromScore("3.1", 9.0)).toBe("critical");
    expect(severityFromScore("3.1", 8.9)).toBe("high");
    expect(severityFromScore("3.1", 7.0)).toBe("high");
    expect(severityFromScore("3.1", 6.9)).toBe("medium");
    expect(severityFromScore("3.1", 4.0)).toBe("medium");
    expect(severityFromScore("3.1", 3.9)).toBe("low");
    expect(severityFromScore("3.1", 0.1)).toBe("low");
    expect(severityFromScore("2.0", 10)).toBe("high");
  });

  it("maps vendor words: GHSA MODERATE, Red Hat Important, Debian unimportant", () => {
    expect(severityFromWord("MODERATE")).toBe("medium");
    expect(severityFromWord("Important")).toBe("high");
    expect(severityFromWord("unimportant")).toBe("low");
    expect(severityFromWord("untriaged")).toBe("unknown");
  });
});

describeWithShared("every CVSS vector in the real OSV records", () => {
  it("parses and scores within 0..10", () => {
    const files = HAS_SHARED
      ? ["osv-ghsa", "osv-ubuntu", "osv-misc", "osv-rustsec"].flatMap((f) => osvFilesUnder(sharedPath("vulns", f)))
      : [];
    const vectors = files.flatMap((f) => {
      const r = readOsvFile(f);
      return [...(r.severity ?? []), ...(r.affected ?? []).flatMap((a) => a.severity ?? [])].filter((s) =>
        s.type.startsWith("CVSS_"),
      );
    });
    expect(vectors.length).toBeGreaterThan(100);
    for (const v of vectors) {
      const scored = scoreVector(v.score);
      expect(scored, v.score).toBeDefined();
      expect(scored!.score).toBeGreaterThanOrEqual(0);
      expect(scored!.score).toBeLessThanOrEqual(10);
      if (scored!.version === "3.1")
        expect(scored!.score, v.score).toBe(oracle31(scored!.vector.split("/").slice(0, 9).join("/")));
    }
  });
});
