import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { evaluatePolicy } from "../../src/policy/evaluate.js";
import { policyFromFlags } from "../../src/policy/flags.js";
import { parsePolicy } from "../../src/policy/parse.js";
import type { Policy } from "../../src/policy/types.js";
import type { ScanResult } from "../../src/result.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { findingOf, fixtureResult, kevVariant, NOW } from "./fixtures/scan-result.js";

/** The brief's minimal policy, byte for byte. */
const MINIMAL = `version: 1
mode: enforce            # or warn
gate:
  failOn: high           # critical|high|medium|low|none
  onlyFixed: false
  deny: [CVE-2021-23337]
exceptions:
  - id: CVE-2021-23337
    reason: "not reachable"
    expires: 2027-06-30
`;

function policy(yaml: string): Policy {
  return parsePolicy(yaml, "policy.yaml");
}

function gate(yaml: string): Policy {
  return policy(`version: 1\nrequireExpiry: false\n${yaml}`);
}

function ids(result: ScanResult, pairs: [string, string][]): string[] {
  return pairs.map(([id, name]) => findingOf(result, id, name).findingId);
}

describeWithShared("evaluatePolicy", () => {
  const result = fixtureResult();
  const crypto = ["CVE-2024-45337", "golang.org/x/crypto"] as [string, string];
  const lodash = ["CVE-2021-23337", "lodash"] as [string, string];
  const stdlib = ["CVE-2023-45288", "stdlib"] as [string, string];
  const formidable = ["CVE-2025-46653", "formidable"] as [string, string];
  const libc6 = ["CVE-2016-20013", "libc6"] as [string, string];
  const libcBin = ["CVE-2016-20013", "libc-bin"] as [string, string];

  it("applies the minimal policy as written: lodash is excepted, x/crypto (high) fails the gate", () => {
    const verdict = evaluatePolicy(result, policy(MINIMAL), { now: NOW });
    expect(verdict).toEqual({
      outcome: "fail",
      violations: [
        {
          rule: "gate.failOn",
          message: "1 finding at or above high: CVE-2024-45337 in golang.org/x/crypto v0.30.0 (high)",
          findingIds: ids(result, [crypto]),
        },
      ],
      suppressed: [
        {
          findingId: findingOf(result, ...lodash).findingId,
          source: "policy-exception",
          reason: "not reachable",
          expires: "2027-06-30",
        },
      ],
      warnings: [],
    });
  });

  it("warns ahead of expiry, keeps the exception through its last day, and drops it the day after", () => {
    const minimal = policy(MINIMAL);
    const soon = evaluatePolicy(result, minimal, { now: new Date("2027-06-20T08:00:00Z") });
    expect(soon.warnings).toEqual([
      "exception CVE-2021-23337 (policy.yaml:8) expires in 10 days (2027-06-30); renew or fix it",
    ]);
    expect(soon.suppressed).toHaveLength(1);

    const lastDay = evaluatePolicy(result, minimal, { now: new Date("2027-06-30T23:59:59Z") });
    expect(lastDay.suppressed).toHaveLength(1);
    expect(lastDay.warnings).toEqual([
      "exception CVE-2021-23337 (policy.yaml:8) expires today (2027-06-30); renew or fix it",
    ]);

    const expired = evaluatePolicy(result, minimal, { now: new Date("2027-07-01T00:00:00Z") });
    expect(expired.suppressed).toEqual([]);
    expect(expired.warnings).toEqual([
      "exception CVE-2021-23337 (policy.yaml:8) expired on 2027-06-30 and no longer applies",
    ]);
    expect(expired.outcome).toBe("fail");
    expect(expired.violations.map((violation) => [violation.rule, violation.findingIds])).toEqual([
      ["gate.failOn", ids(result, [crypto, lodash])],
      ["gate.deny", ids(result, [lodash])],
    ]);
  });

  it("honours expiryWarningDays", () => {
    const quiet = policy(MINIMAL.replace("mode: enforce", "mode: enforce\nexpiryWarningDays: 5"));
    expect(evaluatePolicy(result, quiet, { now: new Date("2027-06-20T08:00:00Z") }).warnings).toEqual([]);
  });

  it("mode warn reports the same violations with outcome warn", () => {
    const verdict = evaluatePolicy(result, policy(MINIMAL.replace("mode: enforce", "mode: warn")), { now: NOW });
    expect(verdict.outcome).toBe("warn");
    expect(verdict.violations.map((violation) => violation.rule)).toEqual(["gate.failOn"]);
  });

  it("passes when nothing reaches the threshold", () => {
    const verdict = evaluatePolicy(result, gate("gate:\n  failOn: critical\n"), { now: NOW });
    expect(verdict).toEqual({ outcome: "pass", violations: [], suppressed: [], warnings: [] });
  });

  it("failOn counts every severity at or above the threshold", () => {
    const verdict = evaluatePolicy(result, gate("gate:\n  failOn: low\n"), { now: NOW });
    expect(verdict.violations).toHaveLength(1);
    expect(verdict.violations[0]!.findingIds).toEqual(ids(result, [crypto, lodash, stdlib, formidable]));
    expect(verdict.violations[0]!.message).toBe(
      "4 findings at or above low: CVE-2024-45337 in golang.org/x/crypto v0.30.0 (high), CVE-2021-23337 in lodash 4.17.20 (high), CVE-2023-45288 in stdlib 1.21.5 (medium), CVE-2025-46653 in formidable 3.5.2 (low)",
    );
  });

  it("onlyFixed limits CVSS rules to findings with a fix; policyFromFlags gives the same gate as a policy file", () => {
    const all = evaluatePolicy(result, gate("gate:\n  cvssAtLeast: 7.0\n"), { now: NOW });
    expect(all.violations[0]!.findingIds).toEqual(ids(result, [crypto, lodash, libcBin, libc6]));
    const fixed = evaluatePolicy(result, gate("gate:\n  cvssAtLeast: 7.0\n  onlyFixed: true\n"), { now: NOW });
    expect(fixed.violations[0]!.rule).toBe("gate.cvssAtLeast");
    expect(fixed.violations[0]!.findingIds).toEqual(ids(result, [crypto, lodash]));
    expect(fixed.violations[0]!.message).toContain("with a fix available");

    const fromFlags = evaluatePolicy(result, policyFromFlags({ failOn: "medium", onlyFixed: true }), { now: NOW });
    const fromFile = evaluatePolicy(result, gate("gate:\n  failOn: medium\n  onlyFixed: true\n"), { now: NOW });
    expect(fromFlags).toEqual(fromFile);
    expect(fromFlags.violations[0]!.findingIds).toEqual(ids(result, [crypto, lodash, stdlib]));
  });

  it("maxCount fails only above the allowed count per severity", () => {
    const verdict = evaluatePolicy(result, gate("gate:\n  maxCount: {critical: 0, high: 1, negligible: 2, low: 0}\n"), {
      now: NOW,
    });
    expect(verdict.violations.map((violation) => [violation.rule, violation.findingIds])).toEqual([
      ["gate.maxCount.high", ids(result, [crypto, lodash])],
      ["gate.maxCount.low", ids(result, [formidable])],
    ]);
    expect(verdict.violations[0]!.message).toMatch(/^2 high findings, more than the 1 allowed: /);
  });

  it("gate.unknownAs counts unrated findings at that severity; failOnUnknown fails on any (flags give the same)", () => {
    // The fixture rates x/net's CVE-2023-39325 and opa's CVE-2022-23628 "unknown" (no source rated them).
    const xnet = ["CVE-2023-39325", "golang.org/x/net"] as [string, string];
    const opa = ["CVE-2022-23628", "github.com/open-policy-agent/opa"] as [string, string];
    const plain = evaluatePolicy(result, gate("gate:\n  failOn: high\n"), { now: NOW });
    expect(plain.violations[0]!.findingIds).toEqual(ids(result, [crypto, lodash]));

    const asHigh = evaluatePolicy(result, gate("gate:\n  failOn: high\n  unknownAs: high\n"), { now: NOW });
    expect(asHigh.violations.map((v) => [v.rule, [...v.findingIds].sort()])).toEqual([
      ["gate.failOn", ids(result, [crypto, lodash, xnet, opa]).sort()],
    ]);
    // Counting as high is the gate's view only: the finding itself still says unknown.
    expect(findingOf(result, ...xnet).severity).toBe("unknown");

    const counted = evaluatePolicy(result, gate("gate:\n  unknownAs: critical\n  maxCount: {critical: 1}\n"), {
      now: NOW,
    });
    expect(counted.violations.map((v) => [v.rule, [...v.findingIds].sort()])).toEqual([
      ["gate.maxCount.critical", ids(result, [xnet, opa]).sort()],
    ]);

    const failOnUnknown = evaluatePolicy(result, gate("gate:\n  failOnUnknown: true\n"), { now: NOW });
    expect(failOnUnknown.outcome).toBe("fail");
    expect(failOnUnknown.violations.map((v) => [v.rule, [...v.findingIds].sort()])).toEqual([
      ["gate.failOnUnknown", ids(result, [xnet, opa]).sort()],
    ]);
    expect(failOnUnknown.violations[0]!.message).toMatch(/^2 findings that no source rated \(severity unknown\): /);

    expect(evaluatePolicy(result, policyFromFlags({ failOn: "high", unknownAs: "high" }), { now: NOW })).toEqual(
      evaluatePolicy(
        result,
        { ...gate("gate:\n  failOn: high\n  unknownAs: high\n"), source: "command-line flags" },
        {
          now: NOW,
        },
      ),
    );
  });

  it("severity.sourceOrder is read as written and refused with its line when it names no known source", () => {
    expect(policy("version: 1\nseverity:\n  sourceOrder: [nvd, vendor]\n").severity).toEqual({
      sourceOrder: ["nvd", "vendor"],
    });
    expect(policy("version: 1\n").severity).toBeUndefined();
    expect(() => policy("version: 1\nseverity:\n  sourceOrder: [nvd, mitre]\n")).toThrow(
      /policy\.yaml:3: .*sourceOrder/,
    );
  });

  it("a policy with an unknownAs that is not a severity is refused with its line", () => {
    expect(() => gate("gate:\n  unknownAs: severe\n")).toThrow(/policy\.yaml:4: .*unknownAs/);
  });

  it("EPSS and KEV rules", () => {
    const epss = evaluatePolicy(result, gate("gate:\n  epssAtLeast: 0.01\n"), { now: NOW });
    expect(epss.violations.map((violation) => [violation.rule, violation.findingIds])).toEqual([
      ["gate.epssAtLeast", ids(result, [crypto])],
    ]);
    expect(evaluatePolicy(result, gate("gate:\n  kev: true\n"), { now: NOW }).outcome).toBe("pass");

    const kev = kevVariant();
    const kevRows = JSON.parse(
      readFileSync(sharedPath("vulns/cisa-kev/known_exploited_vulnerabilities.json"), "utf8"),
    ) as {
      vulnerabilities: { cveID: string }[];
    };
    expect(kevRows.vulnerabilities.some((row) => row.cveID === "CVE-2023-4911")).toBe(true);
    const verdict = evaluatePolicy(kev, gate("gate:\n  kev: true\n"), { now: NOW });
    expect(verdict.violations).toEqual([
      {
        rule: "gate.kev",
        message: "1 finding listed in CISA KEV (known exploited): CVE-2023-4911 in libc6 2.36-9+deb12u1 (high)",
        findingIds: [findingOf(kev, "CVE-2023-4911", "libc6").findingId],
      },
    ]);
  });

  it("deny matches ids and aliases, and applies even when onlyFixed would not count the finding", () => {
    const verdict = evaluatePolicy(
      result,
      gate("gate:\n  onlyFixed: true\n  deny: [ghsa-v778-237x-gjrc, CVE-2016-20013]\n"),
      { now: NOW },
    );
    expect(verdict.violations).toEqual([
      {
        rule: "gate.deny",
        message:
          "3 findings on the deny list: CVE-2024-45337 in golang.org/x/crypto v0.30.0 (high), CVE-2016-20013 in libc-bin 2.36-9+deb12u14 (negligible), CVE-2016-20013 in libc6 2.36-9+deb12u14 (negligible)",
        findingIds: ids(result, [crypto, libcBin, libc6]),
      },
    ]);
  });

  it("denyPackages by name glob and purl glob fail on presence", () => {
    const verdict = evaluatePolicy(
      result,
      gate(`gate:
  denyPackages:
    - name: formidable
      reason: replace with busboy
    - purl: "pkg:golang/golang.org/x/*"
    - name: "lib*"
`),
      { now: NOW },
    );
    const libs = result.packages.filter((pkg) => pkg.name.startsWith("lib"));
    expect(verdict.violations.map((violation) => violation.message)).toEqual([
      "denied package present (name formidable) — replace with busboy: formidable 3.5.2",
      "denied package present (purl pkg:golang/golang.org/x/*): golang.org/x/crypto v0.30.0, golang.org/x/net v0.15.0",
      `denied package present (name lib*): ${libs
        .slice(0, 5)
        .map((pkg) => `${pkg.name} ${pkg.version}`)
        .join(", ")} and ${libs.length - 5} more`,
    ]);
    expect(verdict.violations[0]!.findingIds).toEqual(ids(result, [formidable]));
    expect(verdict.violations[2]!.findingIds).toEqual(ids(result, [libcBin, libc6]));
  });

  it("exceptions scoped by package, purl and image", () => {
    const scoped = (scope: string) =>
      evaluatePolicy(result, gate(`exceptions:\n  - id: CVE-2016-20013\n    reason: crypt() is not used\n${scope}`), {
        now: NOW,
      }).suppressed.map((entry) => entry.findingId);
    expect(scoped("")).toEqual(ids(result, [libc6, libcBin]));
    expect(scoped("    package: libc6\n")).toEqual(ids(result, [libc6]));
    expect(scoped('    purl: "pkg:deb/debian/libc-bin@*"\n')).toEqual(ids(result, [libcBin]));
    expect(scoped('    image: "ghcr.io/acme/*"\n')).toEqual(ids(result, [libc6, libcBin]));
    expect(scoped('    image: "docker.io/*"\n')).toEqual([]);
  });

  it("warns about exceptions that match nothing", () => {
    const verdict = evaluatePolicy(result, gate("exceptions:\n  - id: CVE-1999-0001\n    reason: old\n"), { now: NOW });
    expect(verdict.warnings).toEqual([
      "exception CVE-1999-0001 (policy.yaml:4) matched no finding; remove it if it is no longer needed",
    ]);
  });

  it("baseline: gates only on findings that are new, matched by id + package + version, not findingId", () => {
    const base = fixtureResult();
    const baseline: ScanResult = {
      ...base,
      findings: base
        .findings!.filter((item) => item.id === "CVE-2024-45337" || item.id === "CVE-2016-20013")
        .map((item) => ({ ...item, findingId: `rebuilt/${item.findingId}`, packageId: "rebuilt" })),
    };
    const verdict = evaluatePolicy(result, gate("gate:\n  failOn: medium\n"), { now: NOW, baseline });
    expect(verdict.violations.map((violation) => violation.findingIds)).toEqual([ids(result, [lodash, stdlib])]);
    expect(verdict.warnings).toEqual(["3 findings were already in the baseline and did not count toward the gate"]);

    const upgraded: ScanResult = {
      ...baseline,
      findings: baseline.findings!.map((item) => ({ ...item, installedVersion: "v0.29.0" })),
    };
    const changed = evaluatePolicy(result, gate("gate:\n  failOn: medium\n"), { now: NOW, baseline: upgraded });
    expect(changed.violations[0]!.findingIds).toEqual(ids(result, [crypto, lodash, stdlib]));
  });

  it("without a vulnerability database, vulnerability rules are reported as unchecked", () => {
    const inventoryOnly = fixtureResult({ findings: undefined, database: undefined });
    const verdict = evaluatePolicy(inventoryOnly, gate("gate:\n  failOn: low\ndatabase:\n  maxAgeDays: 3\n"), {
      now: NOW,
    });
    expect(verdict).toEqual({
      outcome: "pass",
      violations: [],
      suppressed: [],
      warnings: [
        "vulnerability rules not checked: no vulnerability database was used for this scan",
        "database.maxAgeDays not checked: no vulnerability database was used",
      ],
    });
  });

  it("database age", () => {
    expect(evaluatePolicy(result, gate("database:\n  maxAgeDays: 2\n"), { now: NOW }).outcome).toBe("pass");
    expect(evaluatePolicy(result, gate("database:\n  maxAgeDays: 1\n"), { now: NOW }).violations).toEqual([
      {
        rule: "database.maxAgeDays",
        message:
          "the vulnerability database was built 1 days ago (2026-06-30T00:00:00Z), more than the 1 allowed; update it",
        findingIds: [],
      },
    ]);
  });

  it("is deterministic: the same inputs give the same verdict", () => {
    const strict = policy(MINIMAL);
    expect(evaluatePolicy(result, strict, { now: NOW })).toEqual(evaluatePolicy(fixtureResult(), strict, { now: NOW }));
  });
});
