import { createHash } from "node:crypto";
import type { Finding, ScanResult } from "../result.js";
import { jsonLogSafe } from "./escape.js";
import type { ReportOptions } from "./options.js";
import { buildView, type FindingRow } from "./view.js";

/** The schema version the report is validated against (security-report-schemas dist/). */
export const GITLAB_REPORT_VERSION = "15.2.1";

const SEVERITY: Record<Finding["severity"], string> = {
  critical: "Critical",
  high: "High",
  medium: "Medium",
  low: "Low",
  negligible: "Info",
  unknown: "Unknown",
};

// GitLab rejects CVSS v4 vectors and anything not v2 or v3.x (the v15 schema patterns).
const CVSS_V3 = /^CVSS:3[.][01]\//;
const CVSS_V2 = /^(?:AV:[NAL]|AC:[LMH]|Au:[MSN]|[CIA]:[NPC])(?:\/|$)/;

type Json = Record<string, unknown>;

/**
 * GitLab container-scanning report (schema 15.x). Times carry no zone (`YYYY-MM-DDTHH:MM:SS`, UTC),
 * lengths are held to the schema's limits, and suppressed findings stay in the report flagged as
 * likely false positives with the reason, so the security dashboard shows them as such.
 */
export function renderGitlab(result: ScanResult, options: ReportOptions = {}): string {
  const view = buildView(result, options);
  const finished = options.finishedAt ?? options.startedAt ?? new Date();
  const started = options.startedAt ?? finished;
  const analyzer = {
    id: "stowaway",
    name: "Stowaway",
    version: result.scanner.version,
    vendor: { name: "Stowaway" },
  };
  const os = result.artifact.os;
  const operatingSystem =
    [os.family !== "unknown" ? os.family : "", os.version ?? ""].filter(Boolean).join(" ") || "unknown";
  const messages = [...(view.verdict?.warnings ?? []), ...result.warnings].map((value) => ({
    level: "warn",
    value: clip(value, 10_000) || "warning",
  }));
  const report = {
    version: GITLAB_REPORT_VERSION,
    scan: {
      analyzer,
      scanner: analyzer,
      start_time: gitlabTime(started),
      end_time: gitlabTime(finished),
      status: "success",
      type: "container_scanning",
      ...(messages.length ? { messages } : {}),
    },
    vulnerabilities: [...view.rows, ...view.suppressed].map((row) =>
      vulnerability(row, result.artifact.reference, operatingSystem, options.gitlabDefaultBranchImage),
    ),
  };
  return `${jsonLogSafe(JSON.stringify(report, null, 2))}\n`;
}

/** `YYYY-MM-DDTHH:MM:SS` in UTC, which the schema requires without a zone designator. */
export function gitlabTime(date: Date): string {
  return date.toISOString().slice(0, 19);
}

function vulnerability(row: FindingRow, image: string, operatingSystem: string, defaultBranchImage?: string): Json {
  const { finding } = row;
  const vectors = finding.cvss
    .filter((score) => CVSS_V3.test(score.vector) || (score.version === "2.0" && CVSS_V2.test(score.vector)))
    .filter((score) => score.vector.length >= 16 && score.vector.length <= 128)
    .slice(0, 10)
    .map((score) => ({ vendor: score.source || "unknown", vector: score.vector }));
  const links = (finding.references ?? []).filter((url) => /^https?:\/\/\S+$/.test(url)).map((url) => ({ url }));
  const description =
    finding.summary?.trim() || `${finding.id} affects ${finding.packageName} ${finding.installedVersion}`;
  return {
    // Stable across runs so GitLab tracks the same finding from pipeline to pipeline.
    id: uuidFrom(`${defaultBranchImage ?? image}\u0000${finding.findingId}`),
    name: clip(`${finding.id} in ${finding.packageName}`, 255),
    description: clip(description, 1_048_576),
    severity: SEVERITY[finding.severity],
    solution: clip(
      finding.fixedVersion
        ? `Upgrade ${finding.packageName} to ${finding.fixedVersion}`
        : finding.esmFixedVersion
          ? `Fixed in ESM only (${finding.esmFixedVersion}): attach Ubuntu Pro to receive it`
          : `No fixed version of ${finding.packageName} is available yet`,
      7000,
    ),
    identifiers: identifiers(finding),
    ...(vectors.length ? { cvss_vectors: vectors } : {}),
    ...(links.length ? { links } : {}),
    ...(row.suppression
      ? {
          flags: [
            {
              type: "flagged-as-likely-false-positive",
              origin: row.suppression.source,
              description: clip(row.suppression.reason, 10_000),
            },
          ],
        }
      : {}),
    location: {
      dependency: { package: { name: finding.packageName }, version: finding.installedVersion },
      operating_system: operatingSystem,
      image,
      ...(defaultBranchImage ? { default_branch_image: defaultBranchImage } : {}),
    },
  };
}

function identifiers(finding: Finding): Json[] {
  return [...new Set([finding.id, ...finding.aliases])].map((id) => {
    const type = /^CVE-/i.test(id)
      ? "cve"
      : /^GHSA-/i.test(id)
        ? "ghsa"
        : (id.split("-")[0] ?? "id").toLowerCase() || "id";
    const url = /^CVE-/i.test(id)
      ? `https://nvd.nist.gov/vuln/detail/${id}`
      : /^GHSA-/i.test(id)
        ? `https://github.com/advisories/${id}`
        : /^(?:GO|PYSEC|RUSTSEC|OSV)-/i.test(id)
          ? `https://osv.dev/vulnerability/${id}`
          : undefined;
    return { type, name: id, value: id, ...(url ? { url } : {}) };
  });
}

function uuidFrom(text: string): string {
  const hex = createHash("sha256").update(text).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
