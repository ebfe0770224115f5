import type { WarningSink } from "../errors.js";
import {
  addVector,
  CVE_ID,
  describeValue,
  type CveMetrics,
  type CveVector,
  type CveVectorSource,
} from "./cve-metrics.js";

/** The source name CVE List V5 (github.com/CVEProject/cvelistV5) metrics are stored under. */
export const CVE5_SOURCE = "cve5";

// CVE JSON 5.x record format: a metrics entry carries one of these CVSS objects (each with vectorString).
const CVSS_KEYS = ["cvssV4_0", "cvssV3_1", "cvssV3_0", "cvssV2_0"] as const;

/** A CVE List V5 record: `dataType: "CVE_RECORD"`, `cveMetadata.cveId`, `containers.cna` / `containers.adp[]`. */
export function looksLikeCve5Record(value: unknown): boolean {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  const doc = value as Record<string, unknown>;
  return doc.dataType === "CVE_RECORD" && !!doc.cveMetadata && typeof doc.containers === "object";
}

function shortName(container: Record<string, unknown>): unknown {
  const meta = container.providerMetadata as { shortName?: unknown } | undefined;
  return meta?.shortName;
}

function addContainer(
  out: CveVector[],
  source: CveVectorSource,
  container: unknown,
  where: string,
  warn: WarningSink,
): void {
  if (!container || typeof container !== "object") return;
  const record = container as Record<string, unknown>;
  if (!Array.isArray(record.metrics)) return;
  for (const metric of record.metrics) {
    if (!metric || typeof metric !== "object") continue;
    for (const key of CVSS_KEYS) {
      const cvss = (metric as Record<string, unknown>)[key] as { vectorString?: unknown } | undefined;
      if (cvss && typeof cvss === "object") addVector(out, source, shortName(record), cvss.vectorString, where, warn);
    }
  }
}

/**
 * The CNA's and every ADP's CVSS vectors of one CVE List V5 record. Rejected records (state
 * REJECTED) carry no metrics worth keeping and yield undefined, as do records without a CVE id.
 */
export function parseCve5Record(value: unknown, where: string, warn: WarningSink): CveMetrics | undefined {
  const doc = value as { cveMetadata?: Record<string, unknown>; containers?: Record<string, unknown> };
  const meta = doc.cveMetadata ?? {};
  if (typeof meta.cveId !== "string" || !CVE_ID.test(meta.cveId)) {
    warn(`${where}: field cveMetadata.cveId ${describeValue(meta.cveId)} is not a CVE id; skipped`);
    return undefined;
  }
  if (meta.state === "REJECTED") return undefined;
  const label = `${where}: ${meta.cveId}`;
  const vectors: CveVector[] = [];
  addContainer(vectors, "cna", doc.containers?.cna, label, warn);
  const adp = doc.containers?.adp;
  if (Array.isArray(adp)) for (const container of adp) addContainer(vectors, "adp", container, label, warn);
  const modified =
    typeof meta.dateUpdated === "string"
      ? meta.dateUpdated
      : typeof meta.datePublished === "string"
        ? meta.datePublished
        : "";
  return { cveId: meta.cveId, modified, vectors };
}
