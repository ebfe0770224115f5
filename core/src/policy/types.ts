import type { PolicyVerdict, ScanResult } from "../result.js";
import type { Severity } from "../vulndb/osv.js";
import type { SeveritySourceKind } from "../match/severity.js";
import type { ImageConfigFacts } from "./image-config.js";
import type { SignerTrust } from "../trust/types.js";

export type GateSeverity = "critical" | "high" | "medium" | "low" | "none";

export interface PackageDenial {
  name?: string;
  purl?: string;
  reason?: string;
}

export interface GateRules {
  failOn: GateSeverity;
  onlyFixed: boolean;
  /**
   * What an unrated finding (severity "unknown": no source rated it) counts as for `failOn` and
   * `maxCount` (docs/severity.md). Unset: unknown stays below every threshold.
   */
  unknownAs?: Exclude<Severity, "unknown">;
  /** Any unrated finding fails the gate. */
  failOnUnknown?: boolean;
  maxCount?: Partial<Record<Severity, number>>;
  cvssAtLeast?: number;
  epssAtLeast?: number;
  kev?: boolean;
  deny?: string[];
  denyPackages?: PackageDenial[];
  /** Fail when the scan could not read some file a cataloger wanted (`inventory-incomplete` warnings). */
  failOnIncompleteInventory?: boolean;
}

export interface ImageRules {
  allowedRegistries?: string[];
  disallowRoot?: boolean;
  disallowLatestTag?: boolean;
  requiredLabels?: string[];
  disallowSecrets?: boolean;
  maxAgeDays?: number;
}

/** An allowed registry or repository prefix (`registry.internal.example/`, `ghcr.io/acme/`). */
export interface TrustedRegistry {
  prefix: string;
  /** Images from this prefix must be referenced by digest (`@sha256:...`). */
  requireDigest?: boolean;
}

/** Who signs the images of a repository prefix, and whether a verified signature is required. */
export interface SignatureRule extends SignerTrust {
  /** Registry/repository prefix; "" or "*" covers every image. */
  repository: string;
  required: boolean;
}

/** `trust:` in the policy (docs/trust.md). */
export interface TrustRules {
  registries?: TrustedRegistry[];
  signatures?: SignatureRule[];
  /** Every image needs a verified signature (`--require-signature`, CI input `require-signature`). */
  requireSignature?: boolean;
}

export interface PolicyException {
  id: string;
  reason: string;
  /** YYYY-MM-DD; the exception applies through that whole day (UTC). */
  expires?: string;
  package?: string;
  purl?: string;
  image?: string;
  /** Where it was written, for messages: "policy.yaml:12". */
  origin?: string;
}

/** A policy after validation, with defaults filled in. */
export interface Policy {
  version: 1;
  mode: "enforce" | "warn";
  requireExpiry: boolean;
  expiryWarningDays: number;
  gate: GateRules;
  image: ImageRules;
  database: { maxAgeDays?: number };
  /** Trusted registries and signatures; checked before (registries) and beside the scan. */
  trust?: TrustRules;
  /** How findings are rated: the severity source precedence (docs/severity.md); applied before matching. */
  severity?: { sourceOrder?: SeveritySourceKind[] };
  /** The report filter; evaluation never reads it. */
  report: { minSeverity?: Severity };
  exceptions: PolicyException[];
  /** File path or URL the policy came from. */
  source?: string;
  /** Things said while loading (offline cache used ...); evaluation copies them into the verdict. */
  notices?: string[];
}

/** A suppression read from an ignore file: it applies to a vulnerability id, optionally narrowed. */
export interface IgnoreEntry {
  kind: "ignore";
  id: string;
  /** "trivyignore", "trivyignore.yaml" */
  source: string;
  /** File and line, for messages. */
  origin: string;
  reason: string;
  expires?: string;
  /** Package locations (globs) the entry is limited to. */
  paths?: string[];
  /** Package URLs the entry is limited to. */
  purls?: string[];
}

export interface VexProduct {
  purl: string;
  subcomponents: string[];
}

/** One OpenVEX statement; among the statements matching a finding, the most recent decides. */
export interface VexStatement {
  kind: "vex";
  source: "openvex";
  origin: string;
  /** The vulnerability's id and aliases as the document names them. */
  ids: string[];
  status: "not_affected" | "affected" | "fixed" | "under_investigation";
  justification?: string;
  impactStatement?: string;
  timestamp?: string;
  products: VexProduct[];
}

export type ImportedSuppression = IgnoreEntry | VexStatement;

export interface EvaluationContext {
  /** The clock, so evaluation is deterministic. */
  now: Date;
  /** The image config (env, history) that the scan result deliberately does not carry. */
  imageConfig?: ImageConfigFacts;
  /** A previous result: the gate then counts only findings that are new since it. */
  baseline?: ScanResult;
  suppressions?: ImportedSuppression[];
}

export type { PolicyVerdict };
