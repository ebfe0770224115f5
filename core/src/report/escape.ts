import type { Artifact, ScanResult } from "../result.js";
import { redactSecrets } from "../policy/secrets.js";
import { neutralizeLog, neutralizeLogLines } from "./neutralize.js";

export { jsonLogSafe, neutralizeLog, neutralizeLogLines } from "./neutralize.js";

/** Characters XML 1.0 cannot carry at all, not even escaped; an advisory text with one would break the file. */
const XML_INVALID =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text for an XML report (JUnit): log-safe first (CI test views print it), then XML-valid. */
export function xmlSafe(text: string): string {
  return neutralizeLogLines(text).replace(XML_INVALID, "\uFFFD");
}

/** Text for HTML: log-safe first (the file may be printed), then markup-escaped. */
export function escapeHtml(text: string): string {
  return neutralizeLogLines(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * Text inside markdown (GitHub-flavoured): HTML is neutralised, markdown syntax is escaped so an
 * advisory cannot inject links, images or formatting, line breaks become spaces and other controls
 * are shown escaped as the log neutraliser shows them. Safe inside table cells too, since pipes are
 * escaped.
 */
export function escapeMarkdown(text: string): string {
  return neutralizeLog(text.replace(/\r\n?|\n/g, " "))
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([\\`*_{}[\]()#+!|~])/g, "\\$1");
}

/** Only plain web links are rendered as links; anything else (javascript:, data:) stays text. */
export function isWebUrl(text: string): boolean {
  return /^https?:\/\/[^\s"'<>]+$/i.test(text);
}

/**
 * Layer `created_by` lines can hold credentials passed as build args; reports show them redacted.
 * Everything else in the result is copied as is.
 */
export function redactResult(result: ScanResult): ScanResult {
  const artifact = redactArtifact(result.artifact);
  return artifact === result.artifact ? result : { ...result, artifact };
}

/** The artifact as reports show it: `created_by` lines redacted (redactResult). */
export function redactArtifact(artifact: Artifact): Artifact {
  if (!artifact.layers.some((layer) => layer.createdBy)) return artifact;
  return {
    ...artifact,
    layers: artifact.layers.map((layer) =>
      layer.createdBy ? { ...layer, createdBy: redactSecrets(layer.createdBy) } : layer,
    ),
  };
}
