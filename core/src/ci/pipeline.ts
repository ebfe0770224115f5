import { readFile } from "node:fs/promises";
import path from "node:path";
import { StowawayError } from "../errors.js";
import { hasVulnerabilityRules } from "../policy/evaluate.js";
import { policyFromFlags } from "../policy/flags.js";
import { parsePublicKeys } from "../trust/cosign.js";
import { loadSuppressions } from "../policy/imports/index.js";
import { loadPolicy } from "../policy/load.js";
import type { GateRules, GateSeverity, Policy } from "../policy/types.js";
import { renderReport, type ReportFormat } from "../report/formats.js";
import type { ReportOptions } from "../report/options.js";
import { writeFileAtomic } from "../report/write.js";
import type { ScanResult } from "../result.js";
import { scan, type ScanOptions } from "../scan.js";
import { defaultDatabaseDir } from "../vulndb/paths.js";
import { hasDatabase } from "./database.js";

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
  caFile?: string;
  cacheDir?: string | false;
  env?: NodeJS.ProcessEnv;
}

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
  const dir = explicit ?? env.STOWAWAY_DB_DIR ?? defaultDatabaseDir(env);
  if (hasDatabase(dir)) return { dir };
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

export interface PipelineRequest extends GateRequest {
  target: string;
  db?: string;
  baseline?: string;
  ignoreFiles?: string[];
  vex?: string[];
  /** Inventory only, deliberately (the CI database step found none): no database, no gate. */
  withoutDatabase?: boolean;
  /** Extra scan options (registry credentials, platform, progress ...). */
  scanOptions?: ScanOptions;
  onNotice?: (message: string) => void;
}

export interface PipelineRun {
  result: ScanResult;
  /** The gate that was applied, if any; its `report.minSeverity` is the default report filter. */
  policy?: Policy;
}

/** Inventory, findings, verdict: the run every front end (CLI, CI adapters, services) performs. */
export async function runPipeline(request: PipelineRequest): Promise<PipelineRun> {
  const env = request.env ?? process.env;
  const policy = request.withoutDatabase ? undefined : await resolveGate(request);
  const database = request.withoutDatabase ? {} : resolveDatabase(request.db, gatesOnVulnerabilities(policy), env);
  if (database.notice) request.onNotice?.(database.notice);
  const suppressionFiles = [...(request.ignoreFiles ?? []), ...(request.vex ?? [])];
  const result = await scan(request.target, {
    ...request.scanOptions,
    ...(request.cacheDir !== undefined ? { cacheDir: request.cacheDir } : {}),
    ...(database.dir ? { database: database.dir } : {}),
    ...(policy ? { policy } : {}),
    ...(suppressionFiles.length > 0 ? { suppressions: await loadSuppressions(suppressionFiles) } : {}),
    ...(request.baseline ? { baseline: await readBaseline(request.baseline) } : {}),
    now: request.scanOptions?.now ?? new Date(),
  });
  return { result, ...(policy ? { policy } : {}) };
}

/** Writes each report (atomically) before anyone acts on the verdict, so a failed gate keeps its evidence. */
export async function writeReports(
  result: ScanResult,
  targets: { format: ReportFormat; file: string }[],
  options: ReportOptions = {},
): Promise<void> {
  for (const target of targets) await writeFileAtomic(target.file, renderReport(target.format, result, options));
}

export type SeverityCounts = Record<"critical" | "high" | "medium" | "low" | "negligible" | "unknown", number>;

/** Findings per severity, not counting suppressed ones: what CI badges and statistics show. */
export function severityCounts(result: ScanResult): SeverityCounts {
  const counts: SeverityCounts = { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
  const suppressed = new Set(result.policy?.suppressed.map((entry) => entry.findingId));
  for (const finding of result.findings ?? []) if (!suppressed.has(finding.findingId)) counts[finding.severity] += 1;
  return counts;
}
