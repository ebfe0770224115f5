import type { ScanResult } from "../result.js";
import type { ReportFormat } from "./format-names.js";
import type { ReportOptions } from "./options.js";

export type ReportRenderer = (result: ScanResult, options?: ReportOptions) => string;

/**
 * renderReport for one format, importing only what that format needs: the JSON document (the
 * format CI and warm rescans write most) loads none of the other renderers (README "Caching and
 * speed"); every other format goes through renderReport itself, so its output is the same.
 */
export async function loadReportRenderer(format: ReportFormat): Promise<ReportRenderer> {
  if (format === "json") {
    const { renderJson } = await import("./json.js");
    return (result) => renderJson(result);
  }
  const { renderReport } = await import("./formats.js");
  return (result, options = {}) => renderReport(format, result, options);
}

/** A report as the UTF-8 bytes a file or stdout gets. */
export type ReportEncoder = (result: ScanResult, options?: ReportOptions) => Uint8Array;

/**
 * As loadReportRenderer, the report as UTF-8 bytes: the JSON document then copies a warm rescan's
 * cached package list into the output as it is, without decoding and encoding it again (renderJsonBytes).
 */
export async function loadReportEncoder(format: ReportFormat): Promise<ReportEncoder> {
  if (format === "json") {
    const { renderJsonBytes } = await import("./json.js");
    return (result) => renderJsonBytes(result);
  }
  const render = await loadReportRenderer(format);
  return (result, options) => Buffer.from(render(result, options));
}
