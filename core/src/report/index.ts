export { renderJson } from "./json.js";
export { renderInventoryTable, renderTable, alignColumns, type TableOptions } from "./table.js";
export { runBytes, writeFileAtomic, type ContentRun, type DeferredRun } from "./write.js";
export { loadReportEncoder, loadReportRenderer, type ReportEncoder, type ReportRenderer } from "./lazy-render.js";
export { jsonLogSafe, neutralizeLog, neutralizeLogLines } from "./escape.js";
export { renderSarif } from "./sarif.js";
export { renderJunit } from "./junit.js";
export { renderGitlab, gitlabTime, GITLAB_REPORT_VERSION } from "./gitlab.js";
export { renderMarkdown } from "./markdown.js";
export { renderHtml } from "./html.js";
export { renderReport, isReportFormat, REPORT_FORMATS, REPORT_FILE_EXTENSIONS, type ReportFormat } from "./formats.js";
export {
  GITHUB_SARIF_LIMITS,
  MARKDOWN_BUDGETS,
  type MarkdownBudgetPreset,
  type ReportOptions,
  type SarifLimits,
} from "./options.js";
export { buildView, type FindingRow, type ReportView } from "./view.js";
export { securitySeverity } from "./severity.js";
