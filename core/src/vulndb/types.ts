import type { OsvRecord } from "./osv.js";
import type { CveMetrics } from "./sources/cve-metrics.js";

export type { CveMetrics, CveVector, CveVectorSource } from "./sources/cve-metrics.js";

export interface KevEntry {
  cveId: string;
  dateAdded: string;
  dueDate?: string;
  knownRansomwareCampaignUse?: string;
}

export interface EpssScore {
  cveId: string;
  /** Probability of exploitation in the next 30 days, 0..1. */
  score: number;
  percentile: number;
  date?: string;
}

export interface DatabaseSource {
  /** "osv:PyPI", "debian-security-tracker", "alpine-secdb", "cisa-kev", "epss" ... */
  name: string;
  /** Where it came from (URL or file), without credentials. */
  origin: string;
  records: number;
  fetchedAt: string;
  /** Download URL of the last successful fetch (`db update`), without credentials. */
  url?: string;
  /** Validators for the next conditional GET (`db update`). */
  etag?: string;
  lastModified?: string;
  /** Per-URL validators of a source fetched as several files (Alpine secdb: one per release and repository). */
  validators?: Record<string, { etag?: string; lastModified?: string }>;
}

export interface DatabaseMetadata {
  schemaVersion: number;
  builtAt: string;
  sources: DatabaseSource[];
  /** Ecosystems present, as OSV names with release suffixes ("Debian:12", "PyPI"). */
  ecosystems: string[];
  records: number;
  /** Distinct records with at least one affected package in each ecosystem (keys as in `ecosystems`). */
  recordsByEcosystem?: Record<string, number>;
  kevEntries?: number;
  epssScores?: number;
  /** CVEs with CVSS vectors from NVD / CVE List V5, counted once per source. */
  cveMetrics?: number;
}

/**
 * Read access to a compiled vulnerability database. Matching asks only for the packages an image
 * has, so an implementation loads lazily and its memory does not grow with the whole database.
 */
export interface AdvisoryQuery {
  /** True when the installed version is strictly above `ceiling` in the ecosystem's ordering. */
  above?: (ceiling: string) => boolean;
}

export interface VulnerabilityStore {
  metadata(): DatabaseMetadata;
  /**
   * Records whose `affected[].package` is (ecosystem, name); names are compared in the ecosystem's
   * normal form. With `above`, a store may leave out records whose ceiling for the package
   * (store/ceiling.ts) `above` accepts: they cannot match an installed version above it.
   */
  advisoriesFor(ecosystem: string, packageName: string, options?: AdvisoryQuery): Promise<OsvRecord[]>;
  kev(cveId: string): Promise<KevEntry | undefined>;
  epss(cveId: string): Promise<EpssScore | undefined>;
  /**
   * Every source's CVSS vectors for a CVE (NVD, CVE List V5), one entry per source that has the CVE.
   * Optional so stores without such data (older databases, test stores) still satisfy the interface.
   */
  cveMetrics?(cveId: string): Promise<CveMetrics[]>;
  close(): Promise<void>;
}
