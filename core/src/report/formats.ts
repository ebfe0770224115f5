import type { ScanResult } from "../result.js";
import { SEVERITY_ORDER } from "../vulndb/osv.js";
import { renderCycloneDx } from "./cyclonedx.js";
import { renderGitlab } from "./gitlab.js";
import { renderHtml } from "./html.js";
import { renderJson } from "./json.js";
import { renderJunit } from "./junit.js";
import { renderMarkdown } from "./markdown.js";
import type { ReportOptions } from "./options.js";
import { renderSarif } from "./sarif.js";
import { renderSpdx } from "./spdx.js";
import { renderTable } from "./table.js";
import type { ReportFormat } from "./format-names.js";

export { REPORT_FORMATS, REPORT_FILE_EXTENSIONS, isReportFormat, type ReportFormat } from "./format-names.js";

const RENDERERS: Record<ReportFormat, (result: ScanResult, options: ReportOptions) => string> = {
  table: renderTable,
  json: (result) => renderJson(result),
  sarif: renderSarif,
  junit: renderJunit,
  gitlab: renderGitlab,
  markdown: renderMarkdown,
  html: renderHtml,
  cyclonedx: (result, options) =>
    renderCycloneDx(filtered(result, options), options.finishedAt ? { timestamp: options.finishedAt } : {}),
  spdx: (result, options) =>
    renderSpdx(filtered(result, options), options.finishedAt ? { timestamp: options.finishedAt } : {}),
};

/**
 * The SBOM renderers know nothing of the report filter, so they get the findings it lets through,
 * plus every finding that violates the gate (a report never hides what failed the build).
 */
function filtered(result: ScanResult, options: ReportOptions): ScanResult {
  if (!options.minSeverity || !result.findings) return result;
  const floor = SEVERITY_ORDER.indexOf(options.minSeverity);
  const violating = new Set(result.policy?.violations.flatMap((violation) => violation.findingIds) ?? []);
  return {
    ...result,
    findings: result.findings.filter(
      (finding) => SEVERITY_ORDER.indexOf(finding.severity) >= floor || violating.has(finding.findingId),
    ),
  };
}

/** Renders one result in one format; the verdict must already be in `result.policy`. */
export function renderReport(format: ReportFormat, result: ScanResult, options: ReportOptions = {}): string {
  return RENDERERS[format](result, options);
}
