import type xml2jsModule from "xml2js";
import { lazyDependency } from "../lazy-dependency.js";
import type { ScanResult } from "../result.js";
import { xmlSafe } from "./escape.js";
import type { ReportOptions } from "./options.js";
import { SEVERITIES_DESCENDING, upper } from "./severity.js";
import { buildView, fixText, type FindingRow } from "./view.js";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see lazyDependency
const xml2js = lazyDependency<typeof xml2jsModule>("xml2js", () => require("xml2js"));

type Node = Record<string, unknown>;

/**
 * JUnit XML for CI test tabs (Azure DevOps, GitLab, Jenkins, Bamboo, CircleCI). One testsuite per
 * severity (or per package), one testcase per finding: a gate violation is a failure, a suppressed
 * finding is skipped, any other finding passes. Policy violations about the image itself go in a
 * "policy" suite, beside the verdict test case that fails exactly when the gate fails.
 */
export function renderJunit(result: ScanResult, options: ReportOptions = {}): string {
  const view = buildView(result, options);
  const rows = [...view.rows, ...view.suppressed];
  const groups = new Map<string, FindingRow[]>();
  const groupOf = (row: FindingRow): string =>
    options.junitGroupBy === "package"
      ? `${row.finding.packageName} ${row.finding.installedVersion}`
      : row.finding.severity;
  const order: string[] =
    options.junitGroupBy === "package"
      ? [...new Set(rows.map(groupOf))].sort()
      : SEVERITIES_DESCENDING.filter((severity) => rows.some((row) => row.finding.severity === severity));
  for (const name of order) groups.set(name, []);
  for (const row of rows) groups.get(groupOf(row))!.push(row);

  const suites: Node[] = [...groups].map(([name, members]) =>
    suite(
      `${result.artifact.reference} ${options.junitGroupBy === "package" ? name : name.toUpperCase()}`,
      members.map(testcase),
    ),
  );
  if (view.verdict) {
    // The verdict is a test case of its own: failed exactly when the gate fails, so a test tab
    // never shows green for a failed build (warn mode keeps it passing, with the count).
    const verdict: Node = { $: { classname: "policy", name: "verdict" } };
    const failed = view.verdict.violations.length;
    if (view.verdict.outcome === "fail") {
      const message = `policy gate failed: ${failed} violations`;
      verdict.failure = [{ $: { message, type: "gate" }, _: message }];
    } else {
      verdict["system-out"] = [`policy ${view.verdict.outcome.toUpperCase()}: ${failed} violations`];
    }
    suites.push(
      suite(`${result.artifact.reference} policy`, [
        ...view.otherViolations.map((violation) => ({
          $: { classname: "policy", name: violation.rule },
          failure: [
            { $: { message: xmlSafe(violation.message), type: violation.rule }, _: xmlSafe(violation.message) },
          ],
        })),
        verdict,
      ]),
    );
  }
  const totals = count(suites);
  const document = {
    testsuites: {
      $: { name: `stowaway ${xmlSafe(result.artifact.reference)}`, ...totals },
      testsuite: suites,
    },
  };
  const builder = new (xml2js().Builder)({
    xmldec: { version: "1.0", encoding: "UTF-8" },
    renderOpts: { pretty: true, indent: "  ", newline: "\n" },
  });
  return `${builder.buildObject(document)}\n`;
}

function testcase(row: FindingRow): Node {
  const { finding } = row;
  const details = xmlSafe(
    [
      `${finding.id} ${upper(finding.severity)} in ${finding.packageName} ${finding.installedVersion}`,
      `Fixed version: ${fixText(finding)}`,
      `Layer: ${finding.layerIndex}`,
      ...(finding.summary ? [finding.summary] : []),
    ].join("\n"),
  );
  const node: Node = {
    $: { classname: xmlSafe(`${finding.packageName}@${finding.installedVersion}`), name: xmlSafe(finding.id) },
  };
  if (row.state === "violation") {
    node.failure = [
      { $: { message: xmlSafe(`violates ${row.rules.join(", ")}`), type: row.rules[0] ?? "policy" }, _: details },
    ];
  } else if (row.state === "suppressed") {
    const reason = `suppressed by ${row.suppression!.source}: ${row.suppression!.reason}`;
    node.skipped = [{ $: { message: xmlSafe(reason) } }];
  } else {
    node["system-out"] = [details];
  }
  return node;
}

function suite(name: string, cases: Node[]): Node {
  const failures = cases.filter((item) => item.failure).length;
  const skipped = cases.filter((item) => item.skipped).length;
  return {
    $: { name: xmlSafe(name), tests: cases.length, failures, errors: 0, skipped },
    testcase: cases,
  };
}

function count(suites: Node[]): Record<string, number> {
  const totals = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  for (const item of suites) {
    const attributes = item.$ as Record<string, number>;
    totals.tests += attributes.tests!;
    totals.failures += attributes.failures!;
    totals.skipped += attributes.skipped!;
  }
  return totals;
}
