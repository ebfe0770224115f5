import xml2js from "xml2js";
import { expect, it } from "vitest";
import { renderReport, REPORT_FORMATS } from "../../src/report/formats.js";
import { renderJson } from "../../src/report/json.js";
import { renderJunit } from "../../src/report/junit.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { renderInventoryTable, renderTable } from "../../src/report/table.js";
import { escapeMarkdown } from "../../src/report/escape.js";
import type { ScanResult } from "../../src/result.js";
import { describeWithShared } from "../helpers/shared.js";
import { PLANTED_SECRET } from "../policy/fixtures/scan-result.js";
import { judgedResult } from "./fixture.js";

const HOSTILE = 'Crafted <script>alert("x")</script> & | pipes\nnewline \u0007bell ]]> [link](javascript:alert(1))';

function hostileResult(): ScanResult {
  const result = judgedResult();
  result.findings!.find((item) => item.packageName === "formidable")!.summary = HOSTILE;
  return result;
}

describeWithShared("text reports", () => {
  const result = judgedResult();

  it("JUnit: a suite per severity, failures are gate violations, suppressed are skipped, text escaped", async () => {
    const xml = renderJunit(hostileResult());
    const parsed = await xml2js.parseStringPromise(xml);
    const suites = parsed.testsuites.testsuite as { $: Record<string, string>; testcase: Record<string, unknown>[] }[];
    expect(suites.map((suite) => suite.$.name)).toEqual([
      "ghcr.io/acme/shop:1.4.2 HIGH",
      "ghcr.io/acme/shop:1.4.2 MEDIUM",
      "ghcr.io/acme/shop:1.4.2 LOW",
      "ghcr.io/acme/shop:1.4.2 NEGLIGIBLE",
      "ghcr.io/acme/shop:1.4.2 UNKNOWN",
      "ghcr.io/acme/shop:1.4.2 policy",
    ]);
    expect(parsed.testsuites.$).toEqual({
      name: "stowaway ghcr.io/acme/shop:1.4.2",
      // 8 findings, the image rule's violation, and the verdict (failed, since the gate fails).
      tests: "10",
      failures: "3",
      errors: "0",
      skipped: "2",
    });
    const high = suites[0]!.testcase;
    expect(high.map((testcase) => (testcase.$ as Record<string, string>).name)).toEqual([
      "CVE-2024-45337",
      "CVE-2021-23337",
    ]);
    expect(high[0]!.failure).toBeDefined();
    expect(high[1]!.skipped).toBeDefined();
    expect(suites[5]!.testcase[0]!.$).toEqual({ classname: "policy", name: "image.disallowRoot" });
    expect(suites[5]!.testcase[1]!.$).toEqual({ classname: "policy", name: "verdict" });
    expect(suites[5]!.testcase[1]!.failure).toBeDefined();
    const low = JSON.stringify(suites[2]);
    expect(low).toContain('Crafted <script>alert(\\"x\\")</script> & | pipes\\nnewline \\\\x07bell ]]>');
    expect(xml).not.toContain("<script>");
    expect(xml).not.toContain("\u0007");
  });

  it("JUnit: the verdict test case passes when the gate passes, and fails whenever it fails", async () => {
    const passing = judgedResult();
    passing.policy = { ...passing.policy!, outcome: "pass", violations: [] };
    const parsed = await xml2js.parseStringPromise(renderJunit(passing));
    const policySuite = (
      parsed.testsuites.testsuite as { $: { name: string }; testcase: Record<string, unknown>[] }[]
    ).at(-1)!;
    expect(policySuite.$.name).toBe("ghcr.io/acme/shop:1.4.2 policy");
    expect(policySuite.testcase).toHaveLength(1);
    expect(policySuite.testcase[0]!.failure).toBeUndefined();
    expect(parsed.testsuites.$.failures).toBe("0");
  });

  it("the report filter never hides a finding that violates the gate, in any format", async () => {
    // The HIGH golang.org/x/crypto finding violates the gate; a filter at critical would drop it.
    const violating = result.findings!.find((item) => item.id === "CVE-2024-45337")!;
    expect(result.policy!.violations.some((v) => v.findingIds.includes(violating.findingId))).toBe(true);
    const options = { minSeverity: "critical" as const };
    // SPDX 2.3 carries no vulnerabilities at all, so it is not among them.
    for (const format of ["table", "junit", "markdown", "html", "sarif", "gitlab", "cyclonedx"] as const) {
      expect(renderReport(format, result, options), format).toContain("CVE-2024-45337");
    }
    // An open finding below the filter stays hidden (the filter still works).
    const open = result.findings!.find(
      (item) =>
        item.severity === "medium" && !result.policy!.violations.some((v) => v.findingIds.includes(item.findingId)),
    );
    if (open) expect(renderReport("markdown", result, options)).not.toContain(`| ${open.id} |`);
  });

  it("JUnit grouped by package", async () => {
    const parsed = await xml2js.parseStringPromise(renderJunit(result, { junitGroupBy: "package" }));
    const names = (parsed.testsuites.testsuite as { $: { name: string } }[]).map((suite) => suite.$.name);
    expect(names).toContain("ghcr.io/acme/shop:1.4.2 libc6 2.36-9+deb12u14");
  });

  it("markdown: counts, violations, top findings, suppressed, escaped cells", () => {
    const markdown = renderMarkdown(hostileResult());
    expect(markdown).toContain("**Policy: ❌ FAIL** — 2 violations");
    expect(markdown).toContain(
      "| CRITICAL | HIGH | MEDIUM | LOW | NEGLIGIBLE | UNKNOWN | Suppressed | Total |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n| 0 | 1 | 1 | 1 | 2 | 1 | 2 | 6 |",
    );
    expect(markdown).toContain(
      "| HIGH | CVE-2024-45337 | golang.org/x/crypto | v0.30.0 | 0.31.0 | 1 | ghsa | ✗ violates |",
    );
    expect(markdown).toContain("### Suppressed (2)");
    expect(markdown).toContain("| CVE-2021-23337 | lodash 4.17.20 | policy-exception | not reachable | 2027-06-30 |");
    expect(escapeMarkdown(HOSTILE)).toBe(
      'Crafted &lt;script&gt;alert\\("x"\\)&lt;/script&gt; &amp; \\| pipes newline \\\\x07bell \\]\\]&gt; \\[link\\]\\(javascript:alert\\(1\\)\\)',
    );
  });

  it("markdown stays within the byte budget and says what it left out", () => {
    const big = judgedResult();
    const template = big.findings!.find((item) => item.packageName === "formidable")!;
    big.findings = [
      ...big.findings!,
      ...Array.from({ length: 3000 }, (_, index) => ({
        ...template,
        findingId: `${template.findingId}-${index}`,
        id: `CVE-2099-${String(10000 + index)}`,
      })),
    ];
    for (const [budget, bytes] of [
      ["comment", 65_536],
      ["ado", 150_000],
      [4000, 4000],
    ] as const) {
      const markdown = renderMarkdown(big, {
        markdownBudget: budget,
        markdownTopFindings: 5000,
        fullReportUrl: "https://ci.example/artifacts/report.html",
      });
      expect(Buffer.byteLength(markdown)).toBeLessThanOrEqual(bytes);
      expect(markdown).toContain("| CVE-2021-23337 | lodash 4.17.20 | policy-exception | not reachable | 2027-06-30 |");
      expect(markdown).toMatch(
        /> \*\*Truncated\*\* to fit \d+ bytes: \d+ findings not shown\. See them in the \[full report\]\(https:\/\/ci\.example\/artifacts\/report\.html\)\./,
      );
    }
    const summary = renderMarkdown(big, { markdownBudget: "summary", markdownTopFindings: 5000 });
    expect(Buffer.byteLength(summary)).toBeLessThanOrEqual(1_048_576);
    expect(summary).not.toContain("Truncated");
  });

  it("table: grouped by severity, fix and layer, suppressed section, policy line; inventory kept without findings", () => {
    const table = renderTable(result);
    expect(table).toContain("Vulnerabilities: 6 (HIGH 1, MEDIUM 1, LOW 1, NEGLIGIBLE 2, UNKNOWN 1), 2 suppressed");
    // The fixture has exactly one active finding rated "unknown" (CVE-2023-39325).
    expect(table).toContain("\n1 unrated (no source gave a severity");
    expect(table).toMatch(
      /HIGH \(1\)\n\s+ID\s+PACKAGE\s+INSTALLED\s+FIXED\s+LAYER\s+RATED BY\s+TITLE\n✗\s+CVE-2024-45337\s+golang\.org\/x\/crypto\s+v0\.30\.0\s+0\.31\.0\s+1\s+ghsa\s+Misuse/,
    );
    expect(table).toContain("SUPPRESSED (2)");
    expect(table).toContain("Policy: FAIL (2 violations)");
    expect(table).toContain("  ✗ image.disallowRoot: the image runs as root (no USER is set)");
    expect(table).not.toContain("\u001b[");
    expect(renderTable(result, { color: true })).toContain("\u001b[");
    const inventory = { ...result, findings: undefined, policy: undefined };
    expect(renderTable(inventory)).toBe(renderInventoryTable(inventory));
  });

  it("the report filter hides rows, says so, and never changes the verdict", () => {
    const filtered = renderTable(result, { minSeverity: "high" });
    expect(filtered).toContain("5 below high not shown (report filter only; the gate still counts them)");
    expect(filtered).not.toContain("CVE-2023-45288");
    expect(filtered).toContain("CVE-2021-23337");
    for (const format of REPORT_FORMATS) {
      if (format === "json") continue;
      const text = renderReport(format, result, { minSeverity: "critical" });
      expect(text, format).not.toContain("CVE-2023-45288");
    }
    expect(JSON.parse(renderReport("json", result, { minSeverity: "critical" })).policy).toEqual(result.policy);
  });

  it("JSON is the whole contract document, with history secrets redacted", () => {
    const parsed = JSON.parse(renderJson(result)) as ScanResult;
    expect(parsed.findings).toEqual(result.findings);
    expect(parsed.policy).toEqual(result.policy);
    expect(parsed.artifact.layers[2]!.createdBy).toBe("|1 NPM_TOKEN=[REDACTED] /bin/sh -c npm ci --omit=dev");
  });

  it("no format leaks the planted secret", () => {
    for (const format of REPORT_FORMATS) {
      expect(renderReport(format, result), format).not.toContain(PLANTED_SECRET);
    }
  });
});
