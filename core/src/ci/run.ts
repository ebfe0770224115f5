import path from "node:path";
import { evaluatePolicy } from "../policy/evaluate.js";
import type { Policy } from "../policy/types.js";
import { REPORT_FILE_EXTENSIONS, type ReportFormat } from "../report/format-names.js";
import type { ReportOptions } from "../report/options.js";
import { resolveDefaults, resolveGate, type ScanRequest } from "../request.js";
import type { ScanResult } from "../result.js";
import type { DatabaseStep } from "./database.js";
import { imageAccessFrom, scanRequestFromInputs, type CommonInputs } from "./inputs.js";
import { writeOutcomeFile, OUTCOME_FILE, type CiOutcome } from "./outcome.js";
import { runPipeline, severityCounts, writeReports, type SeverityCounts } from "./pipeline.js";

export interface CiRun {
  result: ScanResult;
  /**
   * pass / warn / fail: the gate's verdict (`fail-on: none` always passes); unchecked: no
   * vulnerability was checked (no database), which never counts as a pass.
   */
  outcome: CiOutcome;
  counts: SeverityCounts;
  /** Written report files by format (always includes json; no SARIF for an unchecked run). */
  reports: Partial<Record<ReportFormat, string>>;
  /** stowaway-outcome.json in the output directory. */
  outcomeFile: string;
  database: DatabaseStep;
  /** For the log: what the user should know (a stale database, inventory only ...). */
  notices: string[];
  /** For the log as warnings (a failed download, no database ...). */
  warnings: string[];
  /** The options the reports were rendered with (report filter, times), for any further rendering. */
  reportOptions: ReportOptions;
}

export interface CiContext {
  env?: NodeJS.ProcessEnv;
  reportOptions?: ReportOptions;
  /** Progress lines (database download). */
  log?: (line: string) => void;
  /** A database step the adapter already ran (e.g. around its own cache restore). */
  database?: DatabaseStep;
  now?: Date;
}

/**
 * The CI contract's one entry, for `stowaway ci` and every TypeScript adapter: the database step,
 * the scan under the default gate, every report written into outputDir under conventional names,
 * then stowaway-outcome.json; the adapter only turns the outcome into its platform's signal. With
 * the `server` input the service scans instead (docs/service.md) and the same reports and outcome follow.
 */
export async function runCi(inputs: CommonInputs, context: CiContext = {}): Promise<CiRun> {
  const env = context.env ?? process.env;
  const startedAt = context.now ?? new Date();
  // The inputs mapped once to the request core takes; core applies the cache dir and database defaults.
  const request = scanRequestFromInputs(inputs, env, startedAt);
  const scanned = inputs.server
    ? await delegated(inputs, request, context, startedAt)
    : await locally(inputs, request, context, env, startedAt);
  const { result, reportOptions, reports, database, notices } = scanned;
  const outcome: CiOutcome = result.findings === undefined ? "unchecked" : (result.policy?.outcome ?? "pass");
  const run: Omit<CiRun, "outcomeFile"> = {
    reportOptions,
    result,
    outcome,
    counts: severityCounts(result),
    reports,
    database,
    notices,
    warnings: [...database.warnings, ...result.warnings, ...(result.policy?.warnings ?? [])],
  };
  const outcomeFile = path.join(inputs.outputDir, OUTCOME_FILE);
  await writeOutcomeFile(outcomeFile, run, inputs);
  return { ...run, outcomeFile };
}

interface Scanned {
  result: ScanResult;
  reportOptions: ReportOptions;
  reports: Partial<Record<ReportFormat, string>>;
  database: DatabaseStep;
  notices: string[];
}

/**
 * Report files under conventional names. An unchecked run (no database) writes no SARIF: an empty
 * SARIF uploaded to code scanning closes every open alert.
 */
function reportTargets(
  inputs: CommonInputs,
  unchecked: boolean,
): { targets: { format: ReportFormat; file: string }[]; reports: Partial<Record<ReportFormat, string>> } {
  const reports: Partial<Record<ReportFormat, string>> = {};
  const targets = inputs.reports
    .filter((format) => !(unchecked && format === "sarif"))
    .map((format) => {
      const file = path.join(inputs.outputDir, `stowaway.${REPORT_FILE_EXTENSIONS[format]}`);
      reports[format] = file;
      return { format, file };
    });
  return { targets, reports };
}

async function locally(
  inputs: CommonInputs,
  request: ScanRequest,
  context: CiContext,
  env: NodeJS.ProcessEnv,
  startedAt: Date,
): Promise<Scanned> {
  // The database step (and its updater) loads only when this run provisions one.
  const database =
    context.database ??
    (await (
      await import("./database.js")
    ).provisionDatabase(inputs, { env, now: startedAt, ...(context.log ? { log: context.log } : {}) }));
  const { inventory, ...step } = database;
  const notices = [...step.notices];
  const { targets, reports } = reportTargets(inputs, database.dir === undefined);
  const { result, reportOptions } = await runPipeline({
    ...request,
    ...(database.dir ? { db: database.dir } : { withoutDatabase: true }),
    ...(inventory ? { inventory } : {}),
    reports: targets,
    ...(context.reportOptions ? { reportOptions: context.reportOptions } : {}),
    onNotice: (message) => notices.push(message),
  });
  return { result, reportOptions, reports, database: step, notices };
}

/**
 * The `server` input: the service scans with its database. Its verdict (its central policy) is the
 * verdict; a service without a policy returns findings only, and the run's own gate (policy input,
 * fail-on, or the default) is applied to them here.
 */
async function delegated(
  inputs: CommonInputs,
  request: ScanRequest,
  context: CiContext,
  startedAt: Date,
): Promise<Scanned> {
  const defaults = resolveDefaults(request);
  const { scanOnServer } = await import("./server.js");
  const { result, jobId } = await scanOnServer({
    server: inputs.server!,
    ...(inputs.serverToken ? { token: inputs.serverToken } : {}),
    image: inputs.image,
    ...(inputs.insecure ? { insecure: true } : {}),
    scanOptions: { ...imageAccessFrom(inputs, defaults.env), cacheDir: defaults.cacheDir, now: startedAt },
    ...(context.log ? { log: context.log } : {}),
  });
  const notices = [`scanned by the Stowaway service (job ${jobId}, database built ${result.database?.builtAt ?? "?"})`];
  let policy: Policy | undefined;
  if (result.policy) {
    notices.push("the service's central policy decided the verdict");
  } else if (result.findings !== undefined) {
    policy = await resolveGate({
      ...request,
      cacheDir: defaults.cacheDir,
      env: defaults.env,
      ...(defaults.failOn ? { failOn: defaults.failOn } : {}),
    });
    if (policy) result.policy = evaluatePolicy(result, policy, { now: startedAt });
  }
  const { targets, reports } = reportTargets(inputs, result.findings === undefined);
  const minSeverity = inputs.severity ?? policy?.report.minSeverity;
  const reportOptions: ReportOptions = {
    ...context.reportOptions,
    ...(minSeverity ? { minSeverity } : {}),
    startedAt,
    finishedAt: new Date(),
  };
  await writeReports(result, targets, reportOptions);
  const database: DatabaseStep = { state: "given", warnings: [], notices: [] };
  return { result, reportOptions, reports, database, notices };
}
