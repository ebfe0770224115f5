/**
 * The report format names alone, with no renderer behind them: the CLI lists them in its option
 * parser at start-up, before (and often without) loading the renderers. Exported as
 * `@stowaway/core/formats`.
 */
/** Every format one scan can be rendered in; the SBOM formats carry findings too when there are any. */
export const REPORT_FORMATS = [
  "table",
  "json",
  "sarif",
  "junit",
  "gitlab",
  "markdown",
  "html",
  "cyclonedx",
  "spdx",
] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Conventional file names, for adapters that write every report beside each other. */
export const REPORT_FILE_EXTENSIONS: Record<ReportFormat, string> = {
  table: "txt",
  json: "json",
  sarif: "sarif",
  junit: "junit.xml",
  gitlab: "gitlab.json",
  markdown: "md",
  html: "html",
  cyclonedx: "cdx.json",
  spdx: "spdx.json",
};

export function isReportFormat(name: string): name is ReportFormat {
  return (REPORT_FORMATS as readonly string[]).includes(name);
}
