import type { KevEntry } from "../types.js";
import type { WarningSink } from "../errors.js";

export const KEV_SOURCE = "cisa-kev";

interface KevCatalog {
  catalogVersion?: unknown;
  dateReleased?: unknown;
  vulnerabilities: unknown[];
}

export function looksLikeKevCatalog(value: unknown): value is KevCatalog {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  const doc = value as Record<string, unknown>;
  return Array.isArray(doc.vulnerabilities) && ("catalogVersion" in doc || "dateReleased" in doc);
}

const CVE = /^CVE-\d{4}-\d{4,}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The catalog's valid entries and its release time (newer catalogs win when several are merged). */
export function parseKevCatalog(
  doc: KevCatalog,
  where: string,
  warn: WarningSink,
): { released: string; entries: KevEntry[] } {
  const released = typeof doc.dateReleased === "string" ? doc.dateReleased : "";
  const entries: KevEntry[] = [];
  let rejected = 0;
  for (const raw of doc.vulnerabilities) {
    const item = (raw ?? {}) as Record<string, unknown>;
    const cveId = typeof item.cveID === "string" ? item.cveID.trim() : "";
    const dateAdded = typeof item.dateAdded === "string" ? item.dateAdded.trim() : "";
    if (!CVE.test(cveId) || !DATE.test(dateAdded)) {
      rejected++;
      continue;
    }
    const entry: KevEntry = { cveId, dateAdded };
    if (typeof item.dueDate === "string" && DATE.test(item.dueDate)) entry.dueDate = item.dueDate;
    if (typeof item.knownRansomwareCampaignUse === "string") {
      entry.knownRansomwareCampaignUse = item.knownRansomwareCampaignUse;
    }
    entries.push(entry);
  }
  if (rejected > 0) warn(`${where}: ${rejected} KEV entries without a valid cveID/dateAdded were skipped`);
  return { released, entries };
}
