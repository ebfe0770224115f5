import { readFile } from "node:fs/promises";
import * as core from "@actions/core";
import {
  finalFromLine,
  runCi,
  StowawayError,
  neutralizeLog,
  verdictLine,
  type CiRun,
  type ReportOptions,
} from "@stowaway/core";
import { ANNOTATIONS_PER_LEVEL, planAnnotations, type AnnotationAnchor } from "./annotations.js";
import { commentBody, pullRequestNumber, upsertComment } from "./comment.js";
import { prepareDatabase } from "./database.js";
import { maskSecrets, readInputs, type ActionInputs } from "./inputs.js";
import { setOutputs } from "./outputs.js";
import { runUrl, writeJobSummary } from "./summary.js";

/** Counts warning annotations, so the findings get what is left of the step's 10. */
class Warnings {
  issued = 0;
  add(message: string): void {
    this.issued += 1;
    core.warning(neutralizeLog(message));
  }
}

async function dockerfileAnchor(file: string | undefined): Promise<AnnotationAnchor | undefined> {
  if (!file) return undefined;
  const text = await readFile(file, "utf8").catch((error: Error) => {
    throw new StowawayError(`input dockerfile: cannot read ${file} (${error.message})`);
  });
  const line = finalFromLine(text);
  return line === undefined ? undefined : { file, line };
}

function verdictMessage(run: CiRun): string {
  const violations = run.result.policy?.violations ?? [];
  const listed = violations.slice(0, 3).map((violation) => violation.message);
  if (violations.length > listed.length) listed.push(`and ${violations.length - listed.length} more`);
  return `${run.result.artifact.reference}: ${listed.join("; ")}`;
}

interface Surfacing {
  action: ActionInputs;
  reportOptions: ReportOptions;
  anchor?: AnnotationAnchor;
  warnings: Warnings;
}

async function surface(run: CiRun, { action, reportOptions, anchor, warnings }: Surfacing): Promise<void> {
  if (action.summary) {
    await writeJobSummary(run.result, reportOptions).catch((error: Error) =>
      warnings.add(`could not write the job summary: ${error.message}`),
    );
  }
  const pr = pullRequestNumber();
  if (action.githubToken && pr !== undefined) {
    try {
      const comment = await upsertComment(action.githubToken, pr, commentBody(run.result, reportOptions));
      core.info(`PR comment ${comment.action} (id ${comment.id})`);
    } catch (error) {
      warnings.add(`could not comment on pull request #${pr}: ${(error as Error).message}`);
    }
  } else if (action.githubToken) {
    core.info("not a pull_request event; no PR comment");
  }
  for (const notice of run.notices) warnings.add(notice);
  for (const warning of run.warnings) warnings.add(warning);

  if (run.outcome === "fail") {
    if (action.annotations) {
      // The verdict from setFailed is an error annotation too, hence one slot less.
      for (const { message, properties } of planAnnotations(run.result, ANNOTATIONS_PER_LEVEL - 1, anchor)) {
        core.error(message, properties);
      }
    }
    core.setFailed(neutralizeLog(`Stowaway policy gate failed for ${verdictMessage(run)}`));
  } else if (run.outcome === "warn") {
    if (action.annotations) {
      const slots = ANNOTATIONS_PER_LEVEL - 1 - warnings.issued;
      for (const { message, properties } of planAnnotations(run.result, slots, anchor)) {
        core.warning(message, properties);
      }
    }
    core.warning(neutralizeLog(`Stowaway policy violations (mode: warn, the step passes) for ${verdictMessage(run)}`));
  } else if (run.outcome === "unchecked") {
    // Never a pass: nothing was checked. No SARIF was written, so no upload can close open alerts.
    core.setFailed(
      neutralizeLog(
        `Stowaway checked no vulnerabilities for ${run.result.artifact.reference}: ${run.database.reason ?? "no vulnerability database"}`,
      ),
    );
  } else {
    core.info("Stowaway policy gate passed");
  }
}

/** The whole step: inputs, database, scan and reports, then what the user sees, verdict last. */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  maskSecrets(env);
  const warnings = new Warnings();
  const action = readInputs(env);
  const inputs = action.common;
  const now = new Date();
  // With `server` the service's database matches: no database step runs here (docs/ci-contract.md).
  const prepared = inputs.server ? undefined : await prepareDatabase(inputs, { cacheDb: action.cacheDb, env, now });
  for (const warning of prepared?.warnings ?? []) warnings.add(warning);

  const anchor = await dockerfileAnchor(action.dockerfile);
  const fullReportUrl = runUrl(env);
  const reportOptions: ReportOptions = {
    ...(anchor ? { artifactUri: anchor.file, artifactLine: anchor.line } : {}),
    ...(fullReportUrl ? { fullReportUrl } : {}),
    ...(inputs.severity ? { minSeverity: inputs.severity } : {}),
  };
  const ciRun = await runCi(inputs, { env, reportOptions, ...(prepared ? { database: prepared.step } : {}), now });
  await prepared?.save();

  core.info(neutralizeLog(verdictLine(ciRun)));
  for (const [format, file] of Object.entries(ciRun.reports)) core.info(neutralizeLog(`${format} report: ${file}`));
  setOutputs(ciRun);
  await surface(ciRun, { action, reportOptions, warnings, ...(anchor ? { anchor } : {}) });
}
