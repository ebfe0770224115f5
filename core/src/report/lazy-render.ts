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
