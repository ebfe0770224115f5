import type { AnnotationProperties } from "@actions/core";
import { SEVERITY_ORDER, neutralizeLog, type Finding, type ScanResult } from "@stowaway/core";

/** The runner keeps 10 annotations of each level per step and silently drops the rest. */
export const ANNOTATIONS_PER_LEVEL = 10;

export interface Annotation {
  message: string;
  properties: AnnotationProperties;
}

export interface AnnotationAnchor {
  file: string;
  line: number;
}

function describeFinding(finding: Finding): string {
  const fix = finding.fixedVersion ? `fixed in ${finding.fixedVersion}` : "no fix available";
  const summary = finding.summary ? `: ${finding.summary}` : "";
  return `${finding.severity.toUpperCase()} ${finding.id} in ${finding.packageName} ${finding.installedVersion} (${fix}, layer ${finding.layerIndex})${summary}`;
}

/**
 * One annotation per gate violation that is not about a finding (image rules), then one per
 * violating finding, most severe first, within `slots`. An image has no source line, so they anchor
 * on the Dockerfile's FROM line when one is known; otherwise they stand on the run. When not all fit,
 * the last slot says how many were left out and where to find them.
 */
export function planAnnotations(result: ScanResult, slots: number, anchor?: AnnotationAnchor): Annotation[] {
  const verdict = result.policy;
  if (!verdict || slots <= 0) return [];
  const properties: AnnotationProperties = {
    title: neutralizeLog(`stowaway: ${result.artifact.reference}`),
    ...(anchor ? { file: anchor.file, startLine: anchor.line } : {}),
  };
  const ruleMessages = verdict.violations
    .filter((violation) => violation.findingIds.length === 0)
    .map((violation) => `${violation.rule}: ${violation.message}`);
  const violating = new Set(verdict.violations.flatMap((violation) => violation.findingIds));
  const findings = (result.findings ?? [])
    .filter((finding) => violating.has(finding.findingId))
    .sort((a, b) => SEVERITY_ORDER.indexOf(b.severity) - SEVERITY_ORDER.indexOf(a.severity));
  // The toolkit escapes only %, CR and LF: everything else from the image goes through core's neutraliser.
  const messages = [...ruleMessages, ...findings.map(describeFinding)].map(neutralizeLog);
  if (messages.length <= slots) return messages.map((message) => ({ message, properties }));
  const shown = messages.slice(0, slots - 1);
  const more = messages.length - shown.length;
  return [
    ...shown.map((message) => ({ message, properties })),
    { message: `and ${more} more policy violations; see the job summary and the JSON report`, properties },
  ];
}
