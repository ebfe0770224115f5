import type { InventoryGap } from "./catalog/warnings.js";
import type { OsInfo, Package } from "./catalog/types.js";
import type { Platform } from "./image/types.js";
import type { AdvisoryStatus, Severity } from "./vulndb/osv.js";
import type { DatabaseMetadata } from "./vulndb/types.js";
import type { SignatureFacts } from "./trust/types.js";

export interface ArtifactLayer {
  index: number;
  digest: string;
  diffId: string;
  mediaType: string;
  size: number;
  createdBy?: string;
}

/** What was scanned. Environment variables are deliberately absent: they often hold secrets. */
export interface Artifact {
  reference: string;
  manifestDigest: string;
  configDigest: string;
  platform: Platform;
  os: OsInfo;
  layers: ArtifactLayer[];
  created?: string;
  user?: string;
  labels?: Record<string, string>;
}

export interface CvssScore {
  version: "2.0" | "3.0" | "3.1" | "4.0";
  vector: string;
  /** Base score computed from the vector, never copied from the feed. */
  score: number;
  /** Who published the vector: "nvd", "cna", "adp" (NVD / CVE List V5), "ghsa", "osv:PyPI", "debian" ... */
  source: string;
  /** For "cna" / "adp" vectors: the publisher as the feed names it ("security@apache.org", "CISA-ADP"). */
  publisher?: string;
}

export interface SeverityRating {
  source: string;
  severity: Severity;
}

/** Why a finding exists, so a disputed finding can be checked against its advisory. */
export interface MatchDetails {
  /** "direct": the package itself; "source": through its source/origin package (Debian, Alpine, rpm SRPM). */
  type: "direct" | "source";
  ecosystem: string;
  /** The name looked up in the advisory feed (the source name for "source" matches). */
  name: string;
  /** The version compared (the source version for "source" matches). */
  version: string;
  /** The affected range that matched, e.g. ">=0 <2.4.1" or "versions: [1.0, 1.1]". */
  constraint: string;
  /** The advisory record that matched (its own id, which may be an alias of `Finding.id`). */
  recordId: string;
  dataSource: string;
}

export interface Finding {
  /** Unique within a result: `<packageId>/<id>`; policies and suppressions refer to findings by it. */
  findingId: string;
  /** The vulnerability id shown to users: the CVE when one is among the aliases, else the record id. */
  id: string;
  aliases: string[];
  packageId: string;
  packageName: string;
  installedVersion: string;
  fixedVersion?: string;
  /**
   * Ubuntu: the vulnerability is fixed only in ESM (Ubuntu Pro) at this version, and the image has
   * no ESM access, so it stays unfixed (`fixedVersion` absent, status "affected").
   */
  esmFixedVersion?: string;
  /**
   * Rocky, Alma, CentOS and Oracle images: Red Hat fixed the vulnerability in RHEL at this build, and
   * the distro's own data names no fix, so it stays unfixed (`fixedVersion` absent, status
   * "affected"); docs/distro-matching.md "Rebuilds and derivatives".
   */
  redhatFixedVersion?: string;
  status: AdvisoryStatus;
  severity: Severity;
  severitySource: string;
  /** Every source's rating, the chosen one included. */
  severities: SeverityRating[];
  cvss: CvssScore[];
  kev: boolean;
  kevRansomware?: boolean;
  epss?: { score: number; percentile: number };
  layerIndex: number;
  summary?: string;
  match: MatchDetails;
  references?: string[];
}

export interface PolicyViolation {
  rule: string;
  message: string;
  findingIds: string[];
}

export interface Suppression {
  findingId: string;
  /** "policy-exception", "trivyignore", "openvex" ... */
  source: string;
  reason: string;
  expires?: string;
}

export interface PolicyVerdict {
  outcome: "pass" | "warn" | "fail";
  violations: PolicyViolation[];
  suppressed: Suppression[];
  warnings: string[];
}

/**
 * The one document every renderer, CI adapter and later service consumes (`schemaVersion` 1,
 * published as core/schemas/scan-result.schema.json). Later stages add their own top-level
 * sections (findings, policy) without changing these.
 */
export interface ScanResult {
  schemaVersion: 1;
  scanner: { name: "stowaway"; version: string };
  artifact: Artifact;
  packages: Package[];
  /** Present once a vulnerability database was used; absent means nothing was checked (not "no vulnerabilities"). */
  findings?: Finding[];
  database?: Pick<DatabaseMetadata, "schemaVersion" | "builtAt" | "sources">;
  policy?: PolicyVerdict;
  /**
   * The image's signatures as looked up on its registry (cosign, Notation) and verified against the
   * policy's `trust.signatures`. Absent when no signature check was asked for or possible.
   */
  signature?: SignatureFacts;
  warnings: string[];
  /**
   * Files the scan did not read in full (over a size bound, an archive bomb ...), so packages they
   * list may be missing; each is also among `warnings`. Absent when the inventory is complete.
   */
  incomplete?: InventoryGap[];
}
