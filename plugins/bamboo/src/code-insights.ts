import axios, { AxiosError, type AxiosInstance } from "axios";
import { buildView, severityCounts, type FindingRow, type ScanResult, type Severity } from "@stowaway/core";

/** Bitbucket Server's caps: 6 data fields per report, 1,000 annotations per report (docs/ci-platforms.md §1.4). */
export const MAX_DATA_FIELDS = 6;
export const MAX_ANNOTATIONS = 1_000;
/** Server-side length limits on report details and annotation messages (check upstream docs). */
const MAX_DETAILS = 2_000;
const MAX_MESSAGE = 2_000;

export type InsightSeverity = "HIGH" | "MEDIUM" | "LOW";

export interface InsightDataField {
  title: string;
  type: "TEXT" | "NUMBER" | "LINK" | "BOOLEAN";
  value: string | number | boolean | { text: string; href: string };
}

export interface InsightReport {
  title: string;
  details: string;
  result: "PASS" | "FAIL";
  reporter: string;
  link?: string;
  data: InsightDataField[];
}

export interface InsightAnnotation {
  externalId: string;
  message: string;
  severity: InsightSeverity;
  type: "VULNERABILITY";
  path?: string;
  line?: number;
  link?: string;
}

export interface InsightOptions {
  /** Where the full report lives (the Bamboo result page or the shared artifact). */
  link?: string;
  /** The Dockerfile the image was built from: annotations go on its FROM line so they show in the diff. */
  dockerfile?: { path: string; line: number };
}

const SEVERITY_MAP: Record<Severity, InsightSeverity> = {
  critical: "HIGH",
  high: "HIGH",
  medium: "MEDIUM",
  low: "LOW",
  negligible: "LOW",
  unknown: "LOW",
};

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The report card. A warn-mode violation passes: the gate chose not to block, and a FAIL card can
 * block the merge through a required-report merge check. A scan that checked no vulnerabilities
 * (no database: the JSON has no findings) is UNCHECKED and FAILs, never a pass (docs/ci-contract.md).
 */
export function buildInsightReport(result: ScanResult, options: InsightOptions = {}): InsightReport {
  const counts = severityCounts(result);
  const outcome = result.findings === undefined ? "unchecked" : result.policy?.outcome;
  const violations = result.policy?.violations ?? [];
  const details = [
    `${result.artifact.reference}: ${result.packages.length} packages scanned.`,
    ...violations.map((violation) => `${violation.rule}: ${violation.message}`),
  ].join("\n");
  const data: InsightDataField[] = [
    { title: "Policy", type: "TEXT", value: outcome ? outcome.toUpperCase() : "no gate" },
    { title: "Critical", type: "NUMBER", value: counts.critical },
    { title: "High", type: "NUMBER", value: counts.high },
    { title: "Medium", type: "NUMBER", value: counts.medium },
    { title: "Low and other", type: "NUMBER", value: counts.low + counts.negligible + counts.unknown },
    { title: "Suppressed", type: "NUMBER", value: result.policy?.suppressed.length ?? 0 },
  ];
  return {
    title: "Stowaway image scan",
    details: clip(details, MAX_DETAILS),
    result: outcome === "fail" || outcome === "unchecked" ? "FAIL" : "PASS",
    reporter: `Stowaway ${result.scanner.version}`,
    ...(options.link ? { link: options.link } : {}),
    data: data.slice(0, MAX_DATA_FIELDS),
  };
}

/** Gate violations first, then the rest worst first, so the cap drops the least important ones. */
export function buildAnnotations(result: ScanResult, options: InsightOptions = {}): InsightAnnotation[] {
  const view = buildView(result);
  const ordered: FindingRow[] = [
    ...view.rows.filter((row) => row.state === "violation"),
    ...view.rows.filter((row) => row.state !== "violation"),
  ];
  return ordered.slice(0, MAX_ANNOTATIONS).map((row) => {
    const { finding } = row;
    const fix = finding.fixedVersion ? `fixed in ${finding.fixedVersion}` : "no fix yet";
    const gate = row.state === "violation" ? ` Violates ${row.rules.join(", ")}.` : "";
    const summary = finding.summary ? ` ${finding.summary}` : "";
    const reference = finding.references?.find((url) => /^https?:\/\//.test(url));
    return {
      externalId: finding.findingId,
      message: clip(
        `${finding.id} (${finding.severity}) in ${finding.packageName} ${finding.installedVersion}, ${fix}.${gate}${summary}`,
        MAX_MESSAGE,
      ),
      severity: SEVERITY_MAP[finding.severity],
      type: "VULNERABILITY",
      ...(options.dockerfile ? { path: options.dockerfile.path, line: options.dockerfile.line } : {}),
      ...(reference ? { link: reference } : {}),
    };
  });
}

export interface UploadTarget {
  /** Bitbucket Server base URL, e.g. https://bitbucket.example.com (a context path is kept). */
  baseUrl: string;
  /** An HTTP access token with repository read; sent as a bearer token, never logged. */
  token: string;
  projectKey: string;
  repositorySlug: string;
  commit: string;
  reportKey?: string;
}

function reportPath(target: UploadTarget): string {
  const segments = [target.projectKey, target.repositorySlug, target.commit, target.reportKey ?? "stowaway"].map(
    encodeURIComponent,
  );
  return `/rest/insights/1.0/projects/${segments[0]}/repos/${segments[1]}/commits/${segments[2]}/reports/${segments[3]}`;
}

/**
 * Creates or replaces the report, then replaces its annotations (DELETE first: POST appends, and a
 * re-run must not double them).
 */
export async function uploadCodeInsights(
  result: ScanResult,
  target: UploadTarget,
  options: InsightOptions = {},
  client?: AxiosInstance,
): Promise<{ annotations: number }> {
  const http =
    client ??
    axios.create({
      baseURL: target.baseUrl.replace(/\/+$/, ""),
      headers: {
        Authorization: `Bearer ${target.token}`,
        "X-Atlassian-Token": "no-check",
        "Content-Type": "application/json",
      },
      timeout: 30_000,
    });
  const path = reportPath(target);
  const annotations = buildAnnotations(result, options);
  try {
    await http.put(path, buildInsightReport(result, options));
    await http.delete(`${path}/annotations`);
    if (annotations.length > 0) await http.post(`${path}/annotations`, { annotations });
  } catch (error) {
    throw new Error(describeError(error));
  }
  return { annotations: annotations.length };
}

/**
 * A one-line reason without request config: axios errors carry the headers, so the bearer token
 * would end up in any log that printed the error object.
 */
function describeError(error: unknown): string {
  if (error instanceof AxiosError) {
    const request = `${error.config?.method?.toUpperCase() ?? "request"} ${error.config?.url ?? ""}`.trim();
    if (error.response) {
      const body = error.response.data as { errors?: { message?: string }[] } | undefined;
      const reason = body?.errors
        ?.map((item) => item.message)
        .filter(Boolean)
        .join("; ");
      return `Bitbucket Code Insights: ${request} returned HTTP ${error.response.status}${reason ? `: ${reason}` : ""}`;
    }
    return `Bitbucket Code Insights: ${request} failed: ${error.code ?? error.message}`;
  }
  return `Bitbucket Code Insights: ${error instanceof Error ? error.message : String(error)}`;
}
