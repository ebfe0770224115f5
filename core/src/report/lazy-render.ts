import type { ScanResult } from "../result.js";
import type { ReportFormat } from "./format-names.js";
import { renderJson, renderJsonParts } from "./json.js";
import type { ReportOptions } from "./options.js";
import type { ContentRun } from "../write-atomic.js";

export type ReportRenderer = (result: ScanResult, options?: ReportOptions) => string;

/**
 * Each format's own module, imported when a scan asks for that format: a `scan` that prints the table
 * and writes JSON loads neither the SBOM libraries nor the other renderers (README "Caching and speed").
 * The JSON document, the contract most runs write, is the exception: a few kilobytes of code, kept in
 * the modules the scan entry loads anyway rather than in files of their own to find and read.
 * The SBOM formats go through renderReport, which filters their findings first, so every output is
 * exactly renderReport's.
 */
const LOADERS: Record<ReportFormat, () => Promise<ReportRenderer>> = {
  table: async () => (await import("./table.js")).renderTable,
  json: async () => (result) => renderJson(result),
  sarif: async () => (await import("./sarif.js")).renderSarif,
  junit: async () => (await import("./junit.js")).renderJunit,
  gitlab: async () => (await import("./gitlab.js")).renderGitlab,
  markdown: async () => (await import("./markdown.js")).renderMarkdown,
  html: async () => (await import("./html.js")).renderHtml,
  cyclonedx: () => viaRenderReport("cyclonedx"),
  spdx: () => viaRenderReport("spdx"),
};

async function viaRenderReport(format: ReportFormat): Promise<ReportRenderer> {
  const { renderReport } = await import("./formats.js");
  return (result, options = {}) => renderReport(format, result, options);
}

/** renderReport for one format, importing only what that format needs. */
export function loadReportRenderer(format: ReportFormat): Promise<ReportRenderer> {
  return LOADERS[format]();
}

/**
 * A report as the UTF-8 bytes a file or stdout gets: runs written one after the other (writeFileAtomic
 * takes them; runBytes gives a deferred one's bytes, for a stream).
 */
export type ReportEncoder = (result: ScanResult, options?: ReportOptions) => readonly ContentRun[];

/**
 * As loadReportRenderer, the report as UTF-8 bytes: the JSON document then writes a warm rescan's
 * cached package list as it was read, without decoding, encoding or copying it (renderJsonParts).
 */
export async function loadReportEncoder(format: ReportFormat): Promise<ReportEncoder> {
  if (format === "json") return (result) => renderJsonParts(result);
  const render = await loadReportRenderer(format);
  return (result, options) => [Buffer.from(render(result, options))];
}
