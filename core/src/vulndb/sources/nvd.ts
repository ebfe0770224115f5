import type { WarningSink } from "../errors.js";
import { addVector, CVE_ID, describeValue, type CveMetrics, type CveVector } from "./cve-metrics.js";

/** The source name NVD data is stored under. */
export const NVD_SOURCE = "nvd";

/** NVD's own analysis is published under this source; every other publisher is a CNA (type "Secondary"). */
const NVD_PUBLISHER = "nvd@nist.gov";

const METRIC_KEYS = ["cvssMetricV40", "cvssMetricV31", "cvssMetricV30", "cvssMetricV2"] as const;

/** One page of the NVD CVE API 2.0 (`/rest/json/cves/2.0`): `format: "NVD_CVE"`, `vulnerabilities: [{cve}]`. */
export interface NvdPage {
  resultsPerPage?: unknown;
  startIndex?: unknown;
  totalResults?: unknown;
  format?: unknown;
  timestamp?: unknown;
  vulnerabilities: unknown[];
}

export function looksLikeNvdPage(value: unknown): value is NvdPage {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  const doc = value as Record<string, unknown>;
  return doc.format === "NVD_CVE" && Array.isArray(doc.vulnerabilities);
}

/** A single CVE object as the API nests it (`vulnerabilities[].cve`), saved on its own. */
export function looksLikeNvdCve(value: unknown): boolean {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  const doc = value as Record<string, unknown>;
  return (
    typeof doc.id === "string" &&
    CVE_ID.test(doc.id) &&
    typeof doc.lastModified === "string" &&
    ("metrics" in doc || "vulnStatus" in doc || "sourceIdentifier" in doc) &&
    !("modified" in doc)
  );
}

/**
 * The CVSS vectors of one NVD CVE object: type Primary from nvd@nist.gov is NVD's own, every other
 * entry is the CNA's (NVD files the CNA's vector as Secondary). Undefined, after one warning, when the
 * object has no usable CVE id.
 */
export function parseNvdCve(value: unknown, where: string, warn: WarningSink): CveMetrics | undefined {
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    warn(`${where}: not an NVD CVE object; skipped`);
    return undefined;
  }
  const cve = value as Record<string, unknown>;
  if (typeof cve.id !== "string" || !CVE_ID.test(cve.id)) {
    warn(`${where}: field id ${describeValue(cve.id)} is not a CVE id; skipped`);
    return undefined;
  }
  const label = `${where}: ${cve.id}`;
  const modified = typeof cve.lastModified === "string" ? cve.lastModified : "";
  const vectors: CveVector[] = [];
  const metrics = cve.metrics;
  if (metrics && typeof metrics === "object" && !Array.isArray(metrics)) {
    for (const key of METRIC_KEYS) {
      const list = (metrics as Record<string, unknown>)[key];
      if (!Array.isArray(list)) continue;
      for (const item of list) {
        if (!item || typeof item !== "object") continue;
        const entry = item as { source?: unknown; type?: unknown; cvssData?: { vectorString?: unknown } };
        const own = entry.type === "Primary" && entry.source === NVD_PUBLISHER;
        addVector(
          vectors,
          own ? "nvd" : "cna",
          own ? undefined : entry.source,
          entry.cvssData?.vectorString,
          label,
          warn,
        );
      }
    }
  }
  return { cveId: cve.id, modified, vectors };
}

/** Every CVE of an API page (the page's own `vulnerabilities[].cve`). */
export function parseNvdPage(page: NvdPage, where: string, warn: WarningSink): CveMetrics[] {
  const out: CveMetrics[] = [];
  page.vulnerabilities.forEach((item, index) => {
    const cve = item && typeof item === "object" ? (item as { cve?: unknown }).cve : undefined;
    const parsed = parseNvdCve(cve, `${where}: vulnerabilities[${index}].cve`, warn);
    if (parsed) out.push(parsed);
  });
  return out;
}
