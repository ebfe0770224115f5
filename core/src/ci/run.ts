import path from "node:path";
import { defaultCacheDir } from "../image-inventory.js";
import { REPORT_FILE_EXTENSIONS, type ReportFormat } from "../report/formats.js";
import type { ReportOptions } from "../report/options.js";
import type { ScanResult } from "../result.js";
import type { Severity } from "../vulndb/osv.js";
import { provisionDatabase, type DatabaseStep } from "./database.js";
import { DEFAULT_FAIL_ON, imageAccessFrom, type CommonInputs } from "./inputs.js";
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
 * then stowaway-outcome.json; the adapter only turns the outcome into its platform's signal.
 */
export async function runCi(inputs: CommonInputs, context: CiContext = {}): Promise<CiRun> {
  const env = context.env ?? process.env;
  const startedAt = context.now ?? new Date();
  const cacheDir = inputs.cacheDir ?? defaultCacheDir(env);
  const withCache = { ...inputs, cacheDir };
  const database =
    context.database ??
    (await provisionDatabase(withCache, { env, now: startedAt, ...(context.log ? { log: context.log } : {}) }));
  const notices = [...database.notices];
  const { result, policy } = await runPipeline({
    target: inputs.image,
    ...(inputs.policy ? { policy: inputs.policy } : {}),
    // The default gate applies only without a policy file, which carries its own failOn.
    ...(inputs.failOn || !inputs.policy ? { failOn: inputs.failOn ?? DEFAULT_FAIL_ON } : {}),
    ...(inputs.onlyFixed ? { onlyFixed: true } : {}),
    ...(inputs.mode ? { mode: inputs.mode } : {}),
    ...(inputs.requireSignature ? { requireSignature: true } : {}),
    ...(inputs.caFile ? { caFile: inputs.caFile } : {}),
    ...(database.dir ? { db: database.dir } : { withoutDatabase: true }),
    ...(inputs.baseline ? { baseline: inputs.baseline } : {}),
    ignoreFiles: inputs.ignoreFiles,
    vex: inputs.vex,
    cacheDir,
    env,
    onNotice: (message) => notices.push(message),
    scanOptions: { ...imageAccessFrom(inputs, env), now: startedAt },
  });
  const outcome: CiOutcome = result.findings === undefined ? "unchecked" : (result.policy?.outcome ?? "pass");
  // An empty SARIF uploaded to code scanning closes every open alert: an unchecked run writes none.
  const formats = inputs.reports.filter((format) => !(outcome === "unchecked" && format === "sarif"));
  const reports: Partial<Record<ReportFormat, string>> = {};
  const targets = formats.map((format) => {
    const file = path.join(inputs.outputDir, `stowaway.${REPORT_FILE_EXTENSIONS[format]}`);
    reports[format] = file;
    return { format, file };
  });
  const minSeverity: Severity | undefined = inputs.severity ?? policy?.report.minSeverity;
  const reportOptions: ReportOptions = {
    ...context.reportOptions,
    ...(minSeverity ? { minSeverity } : {}),
    startedAt,
    finishedAt: new Date(),
  };
  await writeReports(result, targets, reportOptions);
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
