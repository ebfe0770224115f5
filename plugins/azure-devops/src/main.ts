import path from "node:path";
import * as tl from "azure-pipelines-task-lib/task.js";
import { StowawayError, neutralizeLog, parseCommonInputs, runCiScan, type CommonInputs } from "@stowaway/core";
import { commonInputGetter, parseMaxIssues, withSurfaceReports } from "./inputs.js";
import { gateIssues } from "./issues.js";
import { loginForImage } from "@stowaway/core";
import { readRegistryLogin } from "./service-connection.js";
import { attachReports, completeTask, logIssues, publishJunit, setOutputVariables, uploadSummary } from "./signals.js";

function defaultOutputDir(): string {
  const base =
    tl.getVariable("Build.ArtifactStagingDirectory") || tl.getVariable("Agent.TempDirectory") || process.cwd();
  return path.join(base, "stowaway");
}

/** Where the summary's "full report" link points: the run's page, which lists attachments and artifacts. */
function buildResultsUrl(): string | undefined {
  const collection = tl.getVariable("System.CollectionUri");
  const project = tl.getVariable("System.TeamProject");
  const buildId = tl.getVariable("Build.BuildId");
  if (!collection || !project || !buildId) return undefined;
  const base = collection.endsWith("/") ? collection : `${collection}/`;
  return `${base}${encodeURIComponent(project)}/_build/results?buildId=${encodeURIComponent(buildId)}`;
}

function readInputs(): { inputs: CommonInputs; maxIssues: number } {
  // The secret is registered before any input is read, since reading inputs writes debug lines.
  const connection = tl.getInput("dockerRegistryServiceConnection", false);
  const login = connection ? readRegistryLogin(connection) : undefined;
  const publishTestResults = (tl.getInput("publishTestResults") ?? "true").trim().toLowerCase() !== "false";
  const getTaskInput = (name: string): string | undefined =>
    name === "reports" ? withSurfaceReports(tl.getInput(name), publishTestResults) : tl.getInput(name);
  const inputs = parseCommonInputs(commonInputGetter(getTaskInput), { outputDir: defaultOutputDir() });
  if (login) {
    const scoped = loginForImage(inputs.image, login);
    if ("skipped" in scoped) {
      tl.warning(neutralizeLog(`service connection ${connection} is not used: ${scoped.skipped}`));
    } else {
      inputs.username = scoped.username;
      inputs.password = scoped.password;
    }
  }
  return { inputs, maxIssues: parseMaxIssues(tl.getInput("maxIssues")) };
}

async function main(): Promise<void> {
  try {
    const { inputs, maxIssues } = readInputs();
    const fullReportUrl = buildResultsUrl();
    const run = await runCiScan(inputs, {
      env: process.env,
      reportOptions: { markdownBudget: "ado", ...(fullReportUrl ? { fullReportUrl } : {}) },
    });
    for (const notice of run.notices) tl.warning(neutralizeLog(notice));
    const { critical, high, medium, low } = run.counts;
    console.log(
      `Stowaway: ${neutralizeLog(run.result.artifact.reference)}: ${run.result.packages.length} packages; ${critical} critical, ${high} high, ${medium} medium, ${low} low; outcome ${run.outcome}`,
    );
    // Everything a failed gate leaves behind is published before the verdict.
    setOutputVariables(run);
    attachReports(run);
    uploadSummary(run);
    publishJunit(run);
    logIssues(gateIssues(run, maxIssues));
    completeTask(run);
  } catch (error) {
    // Error messages may quote image bytes: the one error line is neutralised (docs/log-safety.md).
    if (error instanceof StowawayError) {
      tl.setResult(tl.TaskResult.Failed, neutralizeLog(error.message));
    } else {
      tl.debug(neutralizeLog((error as Error).stack ?? String(error)));
      tl.setResult(tl.TaskResult.Failed, neutralizeLog(`Stowaway failed unexpectedly: ${(error as Error).message}`));
    }
  }
}

void main();
