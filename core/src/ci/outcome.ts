import { writeFileAtomic } from "../write-atomic.js";
import type { ReportFormat } from "../report/format-names.js";
import type { ScanResult } from "../result.js";
import type { DatabaseStep } from "./database.js";
import { resolveDefaults } from "../request.js";
import { DEFAULT_FAIL_ON, type CommonInputs } from "./inputs.js";
import type { SeverityCounts } from "./pipeline.js";

/** The verdict every adapter reports the same way (docs/ci-contract.md, "Outcome file"). */
export type CiOutcome = "pass" | "warn" | "fail" | "unchecked";

/** Written into the output directory beside the reports. */
export const OUTCOME_FILE = "stowaway-outcome.json";
export const OUTCOME_SCHEMA_VERSION = 1;

/** `stowaway ci` exit codes: 0 pass or warn, 1 the gate failed, 2 unchecked or an error. */
export function outcomeExitCode(outcome: CiOutcome): 0 | 1 | 2 {
  return outcome === "fail" ? 1 : outcome === "unchecked" ? 2 : 0;
}

export interface OutcomeDocument {
  schemaVersion: number;
  outcome: CiOutcome;
  image: string;
  /** The gate applied: a policy file's source, or fail-on (the default when neither is given). */
  gate: { failOn?: string; policy?: string; mode?: "enforce" | "warn" };
  counts: SeverityCounts;
  violations: number;
  suppressed: number;
  database: { state: DatabaseStep["state"]; reason?: string };
  reports: Partial<Record<ReportFormat, string>>;
  warnings: string[];
  verdict: string;
}

interface OutcomeRun {
  result: ScanResult;
  outcome: CiOutcome;
  counts: SeverityCounts;
  reports: Partial<Record<ReportFormat, string>>;
  database: DatabaseStep;
  warnings: string[];
}

/** The one line every adapter prints as its verdict. */
export function verdictLine(run: OutcomeRun): string {
  const { result, counts } = run;
  const image = result.artifact.reference;
  if (run.outcome === "unchecked") {
    return `stowaway: UNCHECKED ${image}: no vulnerabilities were checked (${run.database.reason ?? "no vulnerability database"})`;
  }
  const tally = `${counts.critical} critical, ${counts.high} high, ${counts.medium} medium, ${counts.low} low, ${counts.negligible} negligible, ${counts.unknown} unknown`;
  const verdict = result.policy;
  const violations = verdict
    ? `; ${verdict.violations.length} policy violations, ${verdict.suppressed.length} suppressed`
    : "";
  return `stowaway: ${run.outcome.toUpperCase()} ${image}: ${tally}${violations}`;
}

export function outcomeDocument(
  run: OutcomeRun,
  inputs: Pick<CommonInputs, "policy" | "failOn" | "mode">,
): OutcomeDocument {
  // The gate the run applied, defaulted as the scan's request was (resolveDefaults).
  const { failOn } = resolveDefaults({
    ...(inputs.failOn ? { failOn: inputs.failOn } : {}),
    ...(inputs.policy ? { policy: inputs.policy } : {}),
    defaultFailOn: DEFAULT_FAIL_ON,
  });
  return {
    schemaVersion: OUTCOME_SCHEMA_VERSION,
    outcome: run.outcome,
    image: run.result.artifact.reference,
    gate: {
      ...(failOn ? { failOn } : {}),
      ...(inputs.policy ? { policy: inputs.policy } : {}),
      // A policy file's own mode is in the JSON report's policy block.
      ...(inputs.mode || !inputs.policy ? { mode: inputs.mode ?? "enforce" } : {}),
    },
    counts: run.counts,
    violations: run.result.policy?.violations.length ?? 0,
    suppressed: run.result.policy?.suppressed.length ?? 0,
    database: { state: run.database.state, ...(run.database.reason ? { reason: run.database.reason } : {}) },
    reports: run.reports,
    warnings: run.warnings,
    verdict: verdictLine(run),
  };
}

/** stowaway-outcome.json, written atomically after the reports it names. */
export async function writeOutcomeFile(
  file: string,
  run: OutcomeRun,
  inputs: Pick<CommonInputs, "policy" | "failOn" | "mode">,
): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(outcomeDocument(run, inputs), null, 2)}\n`);
}
