import type { Package } from "../catalog/types.js";
import type { Finding, MatchDetails } from "../result.js";
import type { AdvisoryStatus, OsvAffected, OsvRecord } from "../vulndb/osv.js";
import type { VulnerabilityStore } from "../vulndb/types.js";
import type { MatchMemo } from "./memo.js";
import type { SeveritySourceKind } from "./severity.js";

export interface MatchOptions {
  /**
   * Report kernel CVEs on linux-libc-dev, linux-headers-*, linux-kbuild-* and kernel-headers (docs/matching-rules.md R13).
   * Off by default: these packages ship headers, not the running kernel.
   */
  includeKernelHeaders?: boolean;
  /**
   * Opt-in breadth over precision (docs/matching-rules.md R1, R15): packages whose version is a range are matched at the
   * range's minimum, and OS packages without a detected release are matched against every release
   * of their distro in the database. Both add false positives, which is why they are off by default.
   */
  comprehensive?: boolean;
  /**
   * Which rating decides a finding's severity (docs/severity.md). Default vendor, ghsa, nvd, cna,
   * adp, osv; kinds left out are still listed in `severities` but never decide.
   */
  severitySourceOrder?: readonly SeveritySourceKind[];
  /**
   * Findings of packages met before in this run (a registry rescan matching thousands of images
   * against one database); results are the same with or without it.
   */
  memo?: MatchMemo;
}

export interface MatchResult {
  findings: Finding[];
  /** One line each, "match: ...", de-duplicated. */
  warnings: string[];
}

/** One advisory record that holds for one package, before alias merging. */
export interface RecordMatch {
  record: OsvRecord;
  affected: OsvAffected;
  details: MatchDetails;
  /** The fixed event ending the matching range. */
  fixedVersion?: string;
  /** The distro's own state for the package (database_specific.stowaway.status), when it has one. */
  vendorStatus?: AdvisoryStatus;
  /** Ubuntu: a fix published only to ESM (Ubuntu Pro), for an image without ESM access; never `fixedVersion`. */
  esmFixedVersion?: string;
  /** A Red Hat fix matched for a Red Hat derivative's package: Red Hat's build, never `fixedVersion`. */
  redhatFixedVersion?: string;
}

export interface MatchContext {
  store: VulnerabilityStore;
  options: MatchOptions;
  /** Ubuntu: the image receives ESM (Ubuntu Pro) updates (docs/distro-matching.md "Ubuntu ESM"). */
  ubuntuEsm?: boolean;
  warn(message: string): void;
}

/** One matcher per package family (Grype's matcher layout): it decides which names and versions are looked up. */
export interface PackageMatcher {
  readonly name: string;
  handles(pkg: Package): boolean;
  /** `ecosystem` is the feed to look in; the caller has already applied the feed selection of docs/matching-rules.md R1. */
  match(pkg: Package, ecosystem: string, ctx: MatchContext): Promise<RecordMatch[]>;
}
