import type { ScanResult } from "../result.js";
import type { Severity } from "../vulndb/osv.js";
import type { ReportOptions } from "./options.js";
import { neutralizeLog } from "./escape.js";
import { SEVERITIES_DESCENDING, upper } from "./severity.js";
import { plural } from "../plural.js";
import { buildView, fixText, signatureSummary, totalActive, type ReportView } from "./view.js";

export interface TableOptions {
  /** Colour only when writing to a terminal; CI logs and files stay plain. */
  color?: boolean;
}

const BOLD = "\u001b[1m";
const DIM = "\u001b[2m";
const RESET = "\u001b[0m";
const RED = "\u001b[31m";
const YELLOW = "\u001b[33m";
const GREEN = "\u001b[32m";
const SEVERITY_STYLE: Record<Severity, string> = {
  critical: `${BOLD}${RED}`,
  high: RED,
  medium: YELLOW,
  low: "",
  negligible: DIM,
  unknown: DIM,
};

function formatPlatform({ os, architecture, variant }: ScanResult["artifact"]["platform"]): string {
  return neutralizeLog([os, architecture, variant].filter(Boolean).join("/"));
}

/** Lays rows out in aligned columns; the last column is not padded so long values do not leave trailing blanks. */
export function alignColumns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd(),
  );
}

function styler(options: TableOptions): (code: string, text: string) => string {
  return (code, text) => (options.color && code ? `${code}${text}${RESET}` : text);
}

function headerLines(result: ScanResult, options: TableOptions): string[] {
  const style = styler(options);
  const { artifact } = result;
  const osName = artifact.os.prettyName ?? [artifact.os.family, artifact.os.version].filter(Boolean).join(" ");
  const signature = signatureSummary(result);
  return [
    `${style(BOLD, neutralizeLog(artifact.reference))} ${style(DIM, `(${formatPlatform(artifact.platform)}, ${plural(artifact.layers.length, "layer")}, ${neutralizeLog(artifact.manifestDigest)})`)}`,
    `OS: ${neutralizeLog(osName) || "unknown"}${artifact.os.ecosystem ? ` [${neutralizeLog(artifact.os.ecosystem)}]` : ""}`,
    `Packages: ${result.packages.length}`,
    ...(signature ? [`Signature: ${neutralizeLog(signature)}`] : []),
    "",
  ];
}

export function renderInventoryTable(result: ScanResult, options: TableOptions = {}): string {
  const style = styler(options);
  const lines = headerLines(result, options);
  if (result.packages.length > 0) {
    const rows = [["NAME", "VERSION", "TYPE", "LAYER", "SOURCE"]];
    for (const pkg of result.packages) {
      const source =
        pkg.source && (pkg.source.name !== pkg.name || pkg.source.version !== pkg.version)
          ? `${pkg.source.name} ${pkg.source.version}`
          : "";
      rows.push([pkg.name, pkg.version, pkg.type, String(pkg.layerIndex), source].map(neutralizeLog));
    }
    const [header, ...body] = alignColumns(rows);
    lines.push(style(BOLD, header!), ...body);
  }
  for (const warning of result.warnings) lines.push(`warning: ${neutralizeLog(warning)}`);
  return `${lines.join("\n")}\n`;
}

/**
 * The terminal report: findings grouped by severity with fix versions and layers, then the
 * suppressed findings, then the policy outcome. A result without findings (no database) keeps the
 * inventory table, so "nothing checked" never looks like "nothing found".
 */
export function renderTable(result: ScanResult, options: TableOptions & ReportOptions = {}): string {
  if (result.findings === undefined) {
    // A trust-only gate (docs/trust.md §5) judges an image no database checked: show its verdict too.
    const inventory = renderInventoryTable(result, options);
    if (!result.policy) return inventory;
    return `${inventory}\n${policyLines(buildView(result, options), styler(options)).join("\n")}\n`;
  }
  const style = styler(options);
  const view = buildView(result, options);
  const lines = headerLines(result, options);
  const counts = SEVERITIES_DESCENDING.filter((severity) => view.counts[severity] > 0)
    .map((severity) => style(SEVERITY_STYLE[severity], `${upper(severity)} ${view.counts[severity]}`))
    .join(", ");
  lines.push(
    `Vulnerabilities: ${totalActive(view)}${counts ? ` (${counts})` : ""}${view.suppressed.length ? `, ${view.suppressed.length} suppressed` : ""}`,
  );
  if (view.counts.unknown > 0) {
    lines.push(
      style(
        DIM,
        `${view.counts.unknown} unrated (no source gave a severity; policies decide what unknown means: docs/severity.md)`,
      ),
    );
  }
  if (view.hidden > 0) {
    lines.push(
      style(DIM, `${view.hidden} below ${view.minSeverity} not shown (report filter only; the gate still counts them)`),
    );
  }
  for (const severity of SEVERITIES_DESCENDING) {
    const group = view.rows.filter((row) => row.finding.severity === severity);
    if (group.length === 0) continue;
    lines.push("", style(SEVERITY_STYLE[severity] || BOLD, `${upper(severity)} (${group.length})`));
    const table = [["", "ID", "PACKAGE", "INSTALLED", "FIXED", "LAYER", "RATED BY", "TITLE"]];
    for (const { finding, state } of group) {
      table.push([
        state === "violation" ? "✗" : "",
        neutralizeLog(finding.id),
        neutralizeLog(finding.packageName),
        neutralizeLog(finding.installedVersion),
        neutralizeLog(fixText(finding)),
        String(finding.layerIndex),
        oneLine(finding.severitySource),
        oneLine(finding.summary ?? ""),
      ]);
    }
    const [header, ...body] = alignColumns(table);
    lines.push(style(BOLD, header!), ...body);
  }
  if (view.suppressed.length > 0) {
    lines.push("", style(BOLD, `SUPPRESSED (${view.suppressed.length})`));
    const table = [["ID", "PACKAGE", "INSTALLED", "SOURCE", "EXPIRES", "REASON"]];
    for (const { finding, suppression } of view.suppressed) {
      table.push([
        neutralizeLog(finding.id),
        neutralizeLog(finding.packageName),
        neutralizeLog(finding.installedVersion),
        neutralizeLog(suppression!.source),
        neutralizeLog(suppression!.expires ?? ""),
        oneLine(suppression!.reason),
      ]);
    }
    const [header, ...body] = alignColumns(table);
    lines.push(style(BOLD, header!), ...body);
  }
  lines.push("", ...policyLines(view, style));
  for (const warning of result.warnings) lines.push(`warning: ${neutralizeLog(warning)}`);
  return `${lines.join("\n")}\n`;
}

function policyLines(view: ReportView, style: (code: string, text: string) => string): string[] {
  const verdict = view.verdict;
  if (!verdict) return [style(DIM, "Policy: not evaluated")];
  const colour = verdict.outcome === "pass" ? GREEN : verdict.outcome === "warn" ? YELLOW : `${BOLD}${RED}`;
  const count = verdict.violations.length;
  const lines = [
    `Policy: ${style(colour, verdict.outcome.toUpperCase())}${count ? ` (${count} violation${count === 1 ? "" : "s"})` : ""}`,
  ];
  // Violations are the evidence for the verdict, so they are never cut; the Jenkins step quotes these lines.
  for (const violation of verdict.violations)
    lines.push(`  ✗ ${neutralizeLog(violation.rule)}: ${neutralizeLog(flatten(violation.message))}`);
  for (const warning of verdict.warnings) lines.push(`  ! ${oneLine(warning)}`);
  return lines;
}

/** Line breaks and tabs read as spaces in prose. */
function flatten(text: string): string {
  return text.replace(/[\t\n]+/g, " ").trim();
}

/**
 * Advisory text may hold newlines and terminal escapes; a table row must stay one inert line. Line
 * breaks and tabs read as spaces in prose; every other control is shown by the neutraliser.
 */
function oneLine(text: string): string {
  const plain = neutralizeLog(flatten(text));
  return plain.length > 80 ? `${plain.slice(0, 77)}...` : plain;
}
