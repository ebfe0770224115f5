import type { Severity } from "../vulndb/osv.js";

export type MarkdownBudgetPreset = "comment" | "summary" | "ado";

/** Byte budgets of the surfaces markdown goes to (docs/ci-platforms.md §1.4). */
export const MARKDOWN_BUDGETS: Record<MarkdownBudgetPreset, number> = {
  /** GitHub PR/issue comment: 65,536 characters. */
  comment: 65_536,
  /** GitHub job summary: 1 MiB per step. */
  summary: 1_048_576,
  /** Azure DevOps PR comment: 150,000 characters. */
  ado: 150_000,
};

export interface SarifLimits {
  maxResultsPerRun: number;
  maxLocationsPerResult: number;
  maxGzipBytes: number;
}

/** GitHub code scanning upload limits. */
export const GITHUB_SARIF_LIMITS: SarifLimits = {
  maxResultsPerRun: 25_000,
  maxLocationsPerResult: 1_000,
  maxGzipBytes: 10 * 1024 * 1024,
};

export interface ReportOptions {
  /**
   * The report filter: findings below this severity are left out of the report (and counted as
   * hidden). It never changes the verdict, which is computed before rendering.
   */
  minSeverity?: Severity;
  /** ANSI colour for the table; only for terminals. */
  color?: boolean;
  /** A file to attach results to in SARIF (the Dockerfile), since an image has no source file. */
  artifactUri?: string;
  /** The line in `artifactUri` to point at (the FROM line). */
  artifactLine?: number;
  sarifLimits?: Partial<SarifLimits>;
  junitGroupBy?: "severity" | "package";
  /** Byte budget for markdown, or a preset: comment 65,536 / summary 1 MiB / ado 150,000. */
  markdownBudget?: number | MarkdownBudgetPreset;
  /** Where the full report lives, linked from truncated markdown. */
  fullReportUrl?: string;
  /** How many findings the markdown lists (before the byte budget applies). */
  markdownTopFindings?: number;
  /** Scan start and end for the GitLab report; the scan result does not carry them. */
  /**
   * GitLab report: the image the default branch builds (GitLab's CS_DEFAULT_BRANCH_IMAGE). Set, it is
   * each finding's `location.default_branch_image` and its identity, so a branch image's findings
   * match the default branch's in the MR widget instead of showing up as new.
   */
  gitlabDefaultBranchImage?: string;
  startedAt?: Date;
  finishedAt?: Date;
}
