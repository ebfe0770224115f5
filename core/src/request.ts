import { readFile } from "node:fs/promises";
import path from "node:path";
import { StowawayError } from "./errors.js";
import { hasVulnerabilityRules } from "./policy/evaluate.js";
import type { LayerProgress } from "./image/layers.js";
import type { Platform, RegistryOptions } from "./image/types.js";
import type { MatchOptions } from "./match/types.js";
import { policyFromFlags } from "./policy/flags.js";
import type { InventoryOptions } from "./image-inventory.js";
import type { ImageConfigFacts } from "./policy/image-config.js";
import { loadSuppressions } from "./policy/imports/index.js";
import { loadPolicy } from "./policy/load.js";
import type { GateRules, GateSeverity, Policy } from "./policy/types.js";
import type { ReportFormat } from "./report/format-names.js";
import type { ReportOptions } from "./report/options.js";
import type { ScanResult } from "./result.js";
import type { ScanOptions } from "./scan.js";
import type { Severity } from "./vulndb/osv.js";
import { resolveGeneration } from "./vulndb/store/location.js";

/** How to reach an image: the platform to pick from an index and the registry access (credentials, TLS, timeouts). */
export interface ImageAccess {
  platform?: Platform;
  registry?: RegistryOptions;
}

/** The gate a run applies: a policy file or URL, or the flags that make one. */
export interface GateRequest {
  policy?: string;
  failOn?: GateSeverity;
  onlyFixed?: boolean;
  /** What an unrated finding counts as (policy gate.unknownAs), overriding the policy's. */
  unknownAs?: GateRules["unknownAs"];
  /** Any unrated finding fails (policy gate.failOnUnknown). */
  failOnUnknown?: boolean;
  mode?: "enforce" | "warn";
  /** Every image needs a verified signature (policy trust.requireSignature; docs/trust.md §1.2). */
  requireSignature?: boolean;
  /** cosign public key files (PEM) trusted for every image, as a required trust.signatures entry. */
  signatureKeys?: string[];
  /** Extra CAs for a policy URL (and, through `access`, for the registry). */
  caFile?: string;
  cacheDir?: string | false;
  env?: NodeJS.ProcessEnv;
}

export interface ReportTarget {
  format: ReportFormat;
  file: string;
}

/** An inventory of the target taken earlier in the same run (the CI database step), with its image config. */
export interface TakenInventory {
  result: ScanResult;
  imageConfig?: ImageConfigFacts;
  /** Registry images: the digest the reference resolved to (an index, else the manifest); what signers sign. */
  referenceDigest?: string;
}

/**
 * The one request shape every front end hands to core:
 * what to scan, how to reach it, which database, which gate, which reports. The CLI maps its argv
 * to it in one function, the CI contract maps its inputs to it in one function, and core applies
 * every default (cache dir, clock, database location) once, in resolveDefaults.
 */
export interface ScanRequest extends GateRequest {
  /** What to scan: `oci-archive:x.tar`, `docker-archive:x.tar`, `oci:DIR`, `sbom:bom.json`, a registry reference. */
  target: string;
  access?: ImageAccess;
  /** The layer cache (and temp files, fetched policies); `false` disables it. Default: defaultCacheDir(env). */
  cacheDir?: string | false;
  /** The clock for end-of-life, exception expiry, age rules and report times; tests pin it. Default: now. */
  now?: Date;
  /** Where defaults and credentials are read from (XDG_CACHE_HOME, STOWAWAY_DB_DIR, proxies). Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** The vulnerability database directory. Default: $STOWAWAY_DB_DIR, else the user cache's `db` folder. */
  db?: string;
  /** Inventory only, deliberately (the CI database step found none): no database, no gate. */
  withoutDatabase?: boolean;
  /**
   * The gate a front end applies when the request names neither `failOn` nor a policy (a policy
   * carries its own): the CI contract's DEFAULT_FAIL_ON; the CLI has none. Applied by resolveDefaults.
   */
  defaultFailOn?: GateSeverity;
  /** A previous JSON report: the gate applies only to findings new since. */
  baseline?: string;
  ignoreFiles?: string[];
  vex?: string[];
  match?: MatchOptions;
  /** Reports written (atomically) before anyone acts on the verdict. */
  reports?: ReportTarget[];
  /** The report filter (never the gate); default: the policy's `report.minSeverity`. */
  severity?: Severity;
  /** Further report options (GitLab's default-branch image, SARIF artifact ...). */
  reportOptions?: ReportOptions;
  /** The inventory of `target` already taken in this run: matched again, the image is not read twice. */
  inventory?: TakenInventory;
  onProgress?: (event: LayerProgress) => void;
  /** Things the user should know (inventory only, no database ...), one line each. */
  onNotice?: (message: string) => void;
}

import { resolveDefaults, type ScanDefaults } from "./defaults.js";
export { defaultCacheDir, resolveDefaults, type ScanDefaults } from "./defaults.js";

/**
 * The gate a run applies: a policy file or URL, with fail-on / only-fixed / mode overriding it
 * when both are given; flags alone make the equivalent policy; nothing at all means no verdict.
 */
export async function resolveGate(request: GateRequest): Promise<Policy | undefined> {
  let policy: Policy | undefined;
  if (request.policy) {
    policy = await loadPolicy(request.policy, {
      ...(request.cacheDir ? { cacheDir: path.join(request.cacheDir, "policies") } : {}),
      ...(request.caFile ? { caFile: request.caFile } : {}),
      ...(request.env ? { env: request.env } : {}),
    });
    if (request.failOn) policy.gate.failOn = request.failOn;
    if (request.onlyFixed) policy.gate.onlyFixed = true;
    if (request.unknownAs) policy.gate.unknownAs = request.unknownAs;
    if (request.failOnUnknown) policy.gate.failOnUnknown = true;
  } else if (request.failOn || request.onlyFixed || request.unknownAs || request.failOnUnknown) {
    policy = policyFromFlags({
      failOn: request.failOn,
      onlyFixed: request.onlyFixed,
      unknownAs: request.unknownAs,
      failOnUnknown: request.failOnUnknown,
    });
  }
  if (request.requireSignature || (request.signatureKeys?.length ?? 0) > 0) {
    policy ??= policyFromFlags({});
    policy.trust = { ...policy.trust };
    if (request.requireSignature) policy.trust.requireSignature = true;
    if (request.signatureKeys?.length) {
      const keys = await Promise.all(request.signatureKeys.map(readKeyFile));
      policy.trust.signatures = [...(policy.trust.signatures ?? []), { repository: "*", required: true, keys }];
    }
  }
  if (policy && request.mode) policy.mode = request.mode;
  return policy;
}

async function readKeyFile(file: string): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(file, "utf8");
  } catch (error) {
    throw new StowawayError(
      `--signature-key ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"}); pass a cosign.pub PEM file`,
    );
  }
  const { parsePublicKeys } = await import("./trust/cosign.js");
  try {
    parsePublicKeys([pem], "--signature-key");
  } catch {
    throw new StowawayError(
      `--signature-key ${file}: not a PEM public key; pass the cosign.pub of the signing key pair`,
    );
  }
  return pem;
}

/**
 * Whether the gate judges vulnerabilities (then a database is required) rather than only where the
 * image comes from and who signed it (docs/trust.md §5).
 */
function gatesOnVulnerabilities(policy: Policy | undefined): boolean {
  if (!policy) return false;
  const { gate } = policy;
  return (
    hasVulnerabilityRules(gate) ||
    gate.onlyFixed ||
    Boolean(gate.failOnUnknown || gate.unknownAs || gate.denyPackages?.length || gate.failOnIncompleteInventory) ||
    policy.database.maxAgeDays !== undefined ||
    policy.trust === undefined
  );
}

export interface DatabaseChoice {
  /** The directory to match against, or undefined for an inventory-only run. */
  dir?: string;
  /** Said to the user when running inventory-only. */
  notice?: string;
}

/**
 * Which database a run uses. An explicit directory, or a gate, must have one: a gate over an
 * unchecked image would pass everything, so that is refused rather than implying "no vulnerabilities".
 */
export function resolveDatabase(
  explicit: string | undefined,
  gated: boolean,
  env: NodeJS.ProcessEnv = process.env,
): DatabaseChoice {
  const dir = resolveDefaults({ env, db: explicit }).db;
  if (resolveGeneration(dir) !== undefined) return { dir };
  const howTo = `run \`stowaway db update --db ${dir}\` (online), \`stowaway db build --from OSV_DIR --db ${dir}\` or \`stowaway db import BUNDLE --db ${dir}\` (air-gapped)`;
  if (explicit || gated) throw new StowawayError(`no vulnerability database at ${dir}; ${howTo}`);
  return {
    notice: `no vulnerability database configured (${dir} does not exist); showing the inventory only, no vulnerabilities were checked. To check them, ${howTo}`,
  };
}

/** Reads a previous JSON report for baseline (new-only) gating. */
export async function readBaseline(file: string): Promise<ScanResult> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw new StowawayError(
      `baseline ${file}: not a readable JSON report (${(error as Error).message}); pass a previous \`stowaway scan --format json\` output`,
    );
  }
  const result = parsed as Partial<ScanResult>;
  if (result?.schemaVersion !== 1 || !Array.isArray(result.packages)) {
    throw new StowawayError(
      `baseline ${file}: not a Stowaway JSON report (schemaVersion 1); pass a previous \`stowaway scan --format json\` output`,
    );
  }
  return result as ScanResult;
}

/**
 * The part of a request that reading the image needs (how to reach it, the cache, the clock), with
 * the defaults applied: for an inventory taken before the database is known (the CI database step).
 */
export function inventoryOptions(request: Omit<ScanRequest, "target">): InventoryOptions {
  const { env, cacheDir, now } = resolveDefaults(request);
  return {
    ...request.access,
    cacheDir,
    now,
    env,
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
  };
}

export interface ResolvedScanRequest {
  /** What scan / scanImage / scanRegistry take: the database, the gate and the imports resolved, every default set. */
  options: ScanOptions;
  /** The gate that applies, if any; its `report.minSeverity` is the default report filter. */
  policy?: Policy;
  defaults: ScanDefaults;
}

/**
 * A request with its defaults applied and its files read: the gate loaded, the database chosen
 * (a gate without a database is refused), baseline and suppressions read. `target` is not needed
 * (a registry walk resolves one request for every image it finds).
 */
export async function resolveScanRequest(request: Omit<ScanRequest, "target">): Promise<ResolvedScanRequest> {
  const defaults = resolveDefaults(request);
  const { env, cacheDir, failOn } = defaults;
  const policy = request.withoutDatabase ? undefined : await resolveGate({ ...request, cacheDir, env, failOn });
  const database = request.withoutDatabase ? {} : resolveDatabase(request.db, gatesOnVulnerabilities(policy), env);
  if (database.notice) request.onNotice?.(database.notice);
  const suppressionFiles = [...(request.ignoreFiles ?? []), ...(request.vex ?? [])];
  const options: ScanOptions = {
    ...inventoryOptions({ ...request, now: defaults.now }),
    ...(request.match && Object.keys(request.match).length > 0 ? { match: request.match } : {}),
    ...(database.dir ? { database: database.dir } : {}),
    ...(policy ? { policy } : {}),
    ...(suppressionFiles.length > 0 ? { suppressions: await loadSuppressions(suppressionFiles) } : {}),
    ...(request.baseline ? { baseline: await readBaseline(request.baseline) } : {}),
  };
  return { options, ...(policy ? { policy } : {}), defaults };
}
