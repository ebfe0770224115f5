import type { ScanResult } from "../result.js";
import { escapeMarkdown, isWebUrl } from "./escape.js";
import { MARKDOWN_BUDGETS, type ReportOptions } from "./options.js";
import { SEVERITIES_DESCENDING, upper } from "./severity.js";
import { plural } from "../plural.js";
import { buildView, fixText, signatureSummary, totalActive, type ReportView } from "./view.js";

const OUTCOME: Record<string, string> = { pass: "✅ PASS", warn: "⚠️ WARN", fail: "❌ FAIL" };

/** Room kept for the truncation note, so adding it never breaks the budget. */
const NOTE_RESERVE = 600;

/**
 * A summary for job summaries and PR comments: counts, violations, the top findings with fix
 * versions, suppressed findings. It is built line by line against a byte budget (a PR comment is
 * 65,536 characters, a job summary 1 MiB, an Azure DevOps comment 150,000) and says what it left out
 * instead of being cut off mid-table.
 */
export function renderMarkdown(result: ScanResult, options: ReportOptions = {}): string {
  const budget = budgetOf(options);
  const view = buildView(result, options);
  // Suppressed findings must stay visible, so their table gets its room before the findings list.
  const suppressedBytes = view.suppressed.reduce(
    (sum, { finding, suppression }) =>
      sum + Buffer.byteLength(finding.id + finding.packageName + suppression!.reason) + 40,
    200,
  );
  const suppressedReserve = Math.min(suppressedBytes, Math.floor(budget / 4));
  const out = new BudgetedText(budget - NOTE_RESERVE - suppressedReserve);
  const omitted: string[] = [];

  out.addAll(header(view));
  if (view.verdict && view.verdict.violations.length > 0) {
    const lines = view.verdict.violations.map((v) => `- **${escapeMarkdown(v.rule)}**: ${escapeMarkdown(v.message)}`);
    const left = out.addAll(["", `### Policy violations (${lines.length})`, ""]) ? out.addEach(lines) : lines.length;
    if (left > 0) omitted.push(`${left} violations`);
  }

  if (view.rows.length > 0) {
    const top = view.rows.slice(0, options.markdownTopFindings ?? 100);
    const lines = top.map(({ finding, state }) =>
      row([
        upper(finding.severity),
        finding.id,
        finding.packageName,
        finding.installedVersion,
        fixText(finding),
        String(finding.layerIndex),
        finding.severitySource,
        state === "violation" ? "✗ violates" : "",
      ]),
    );
    const heading = [
      "",
      `### Top findings (${top.length} of ${view.rows.length})`,
      "",
      "| Severity | ID | Package | Installed | Fixed | Layer | Rated by | Gate |",
      "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ];
    const left = out.addAll(heading) ? out.addEach(lines) : lines.length;
    const notListed = left + (view.rows.length - top.length);
    if (notListed > 0) omitted.push(plural(notListed, "finding"));
  }

  out.grow(suppressedReserve);
  if (view.suppressed.length > 0) {
    const lines = view.suppressed.map(({ finding, suppression }) =>
      row([
        finding.id,
        `${finding.packageName} ${finding.installedVersion}`,
        suppression!.source,
        suppression!.reason,
        suppression!.expires ?? "",
      ]),
    );
    const heading = [
      "",
      `### Suppressed (${view.suppressed.length})`,
      "",
      "| ID | Package | Source | Reason | Expires |",
      "| --- | --- | --- | --- | --- |",
    ];
    const left = out.addAll(heading) ? out.addEach(lines) : lines.length;
    if (left > 0) omitted.push(`${left} suppressed findings`);
  }

  const warnings = [...(view.verdict?.warnings ?? []), ...result.warnings];
  if (warnings.length > 0) {
    const lines = warnings.map((warning) => `- ${escapeMarkdown(warning)}`);
    const left = out.addAll(["", "### Warnings", ""]) ? out.addEach(lines) : lines.length;
    if (left > 0) omitted.push(`${left} warnings`);
  }

  let text = out.text();
  if (omitted.length > 0 || out.truncated) {
    const link =
      options.fullReportUrl && isWebUrl(options.fullReportUrl)
        ? ` in the [full report](${options.fullReportUrl})`
        : " in the full report artifact";
    const what = omitted.length > 0 ? omitted.join(", ") : "some content";
    text += `\n\n> **Truncated** to fit ${budget} bytes: ${what} not shown. See them${link}.\n`;
  }
  return text.endsWith("\n") ? text : `${text}\n`;
}

function header(view: ReportView): string[] {
  const { result, verdict } = view;
  const lines = [`## Stowaway: ${escapeMarkdown(result.artifact.reference)}`, ""];
  if (verdict) {
    const count = verdict.violations.length;
    lines.push(
      `**Policy: ${OUTCOME[verdict.outcome]}**${count ? ` — ${count} violation${count === 1 ? "" : "s"}` : ""}`,
      "",
    );
  } else {
    lines.push("**Policy: not evaluated**", "");
  }
  const signature = signatureSummary(result);
  if (signature) lines.push(`**Signature:** ${escapeMarkdown(signature)}`, "");
  if (result.findings === undefined) {
    lines.push(
      `No vulnerability database was used: ${plural(result.packages.length, "package")} inventoried, none checked.`,
    );
    return lines;
  }
  lines.push(
    `| ${SEVERITIES_DESCENDING.map((severity) => upper(severity)).join(" | ")} | Suppressed | Total |`,
    `| ${SEVERITIES_DESCENDING.map(() => "---:").join(" | ")} | ---: | ---: |`,
    `| ${SEVERITIES_DESCENDING.map((severity) => view.counts[severity]).join(" | ")} | ${view.suppressed.length} | ${totalActive(view)} |`,
  );
  if (view.hidden > 0) {
    lines.push(
      "",
      `_${plural(view.hidden, "finding")} below ${view.minSeverity} ${view.hidden === 1 ? "is" : "are"} not listed (report filter; the gate still counts them)._`,
    );
  }
  return lines;
}

function row(cells: string[]): string {
  return `| ${cells.map(escapeMarkdown).join(" | ")} |`;
}

function budgetOf(options: ReportOptions): number {
  const budget = options.markdownBudget ?? "summary";
  const bytes = typeof budget === "number" ? budget : MARKDOWN_BUDGETS[budget];
  return Math.max(bytes, NOTE_RESERVE * 2);
}

/** Accumulates lines while they fit; sizes are UTF-8 bytes, which never undercount characters. */
class BudgetedText {
  private readonly lines: string[] = [];
  private size = 0;
  truncated = false;

  constructor(private budget: number) {}

  grow(bytes: number): void {
    this.budget += bytes;
  }

  /** Adds a block whole or not at all (a heading without its table would mislead). */
  addAll(block: string[]): boolean {
    const bytes = block.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
    if (this.size + bytes > this.budget) {
      this.truncated = true;
      return false;
    }
    this.lines.push(...block);
    this.size += bytes;
    return true;
  }

  /** Adds lines in order until one does not fit; returns how many were left out. */
  addEach(lines: string[]): number {
    for (let index = 0; index < lines.length; index++) {
      if (!this.addAll([lines[index]!])) return lines.length - index;
    }
    return 0;
  }

  text(): string {
    return this.lines.join("\n");
  }
}
