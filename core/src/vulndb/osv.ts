/** OSV schema 1.x records (ossf/osv-schema docs/schema.md), as Stowaway stores and matches them. */

export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvRange {
  type: "SEMVER" | "ECOSYSTEM" | "GIT";
  repo?: string;
  events: OsvEvent[];
  database_specific?: Record<string, unknown>;
}

export interface OsvSeverity {
  type: "CVSS_V2" | "CVSS_V3" | "CVSS_V4" | "Ubuntu" | (string & {});
  score: string;
}

export interface OsvAffected {
  package?: { ecosystem: string; name: string; purl?: string };
  severity?: OsvSeverity[];
  ranges?: OsvRange[];
  versions?: string[];
  ecosystem_specific?: Record<string, unknown>;
  database_specific?: Record<string, unknown>;
}

export interface OsvRecord {
  schema_version?: string;
  id: string;
  modified: string;
  published?: string;
  withdrawn?: string;
  aliases?: string[];
  upstream?: string[];
  related?: string[];
  summary?: string;
  details?: string;
  severity?: OsvSeverity[];
  affected?: OsvAffected[];
  references?: { type: string; url: string }[];
  credits?: unknown[];
  database_specific?: Record<string, unknown>;
}

/**
 * Distro states OSV cannot express (Debian tracker, Red Hat, Ubuntu), carried by Stowaway's own
 * ingesters in `affected[].database_specific.stowaway`. Matching reads it; it never changes range evaluation.
 */
export type AdvisoryStatus = "fixed" | "affected" | "will_not_fix" | "fix_deferred" | "end_of_life";

/**
 * A vendor's state for one package: the reported ones, plus "not_affected" (a vendor's VEX statement
 * that the package in this product stream is not vulnerable), which is stored but never reported.
 */
export type VendorState = AdvisoryStatus | "not_affected";

export interface StowawayAffectedData {
  status?: VendorState;
  /** The vendor's own severity word (Debian urgency, Ubuntu priority, Red Hat impact), normalised. */
  vendorSeverity?: Severity;
  /** Which feed produced the record: "osv", "debian-security-tracker", "alpine-secdb" ... */
  source?: string;
  /** Red Hat: the not-affected statement is about the source component and every rpm built from it. */
  componentWide?: boolean;
}

export type Severity = "critical" | "high" | "medium" | "low" | "negligible" | "unknown";

export const SEVERITY_ORDER: readonly Severity[] = ["unknown", "negligible", "low", "medium", "high", "critical"];
