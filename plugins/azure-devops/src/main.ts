import path from "node:path";
import * as tl from "azure-pipelines-task-lib/task.js";
import * as taskInternal from "azure-pipelines-task-lib/internal.js";
import {
  StowawayError,
  neutralizeLog,
  parseCommonInputs,
  runCi,
  withEnvFallback,
  type CommonInputs,
} from "@stowaway/core";
import {
  SECRET_TASK_INPUTS,
  commonInputGetter,
  inputVariableFor,
  parseMaxIssues,
  withSurfaceReports,
} from "./inputs.js";
import { gateIssues } from "./issues.js";
import { loginForImage, verdictLine } from "@stowaway/core";
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

/**
 * A secret task input, read from the task library's vault directly: tl.getInput writes
 * `name=value` to the debug log before the value could be masked. The value (and the agent's
 * STOWAWAY_* variable that stands in for an empty input) is registered as a secret at once.
 * Under task-lib's mock runner the real task library never loaded its vault: tl.getInput is the mock's.
 */
function readSecretInput(name: string): string | undefined {
  const vault = (taskInternal as { _vault?: typeof taskInternal._vault })._vault;
  const raw = vault ? vault.retrieveSecret(`INPUT_${taskInternal._getVariableKey(name)}`) : tl.getInput(name);
  const value = raw?.trim();
  for (const secret of [value, process.env[inputVariableFor(name)]?.trim()]) if (secret) tl.setSecret(secret);
  return value || undefined;
}

function readInputs(): { inputs: CommonInputs; maxIssues: number } {
  const secrets = new Map(SECRET_TASK_INPUTS.map((name) => [name as string, readSecretInput(name)]));
  // The secret is registered before any input is read, since reading inputs writes debug lines.
  const connection = tl.getInput("dockerRegistryServiceConnection", false);
  const login = connection ? readRegistryLogin(connection) : undefined;
  const publishTestResults = (tl.getInput("publishTestResults") ?? "true").trim().toLowerCase() !== "false";
  const getTaskInput = (name: string): string | undefined =>
    secrets.has(name)
      ? secrets.get(name)
      : name === "reports"
        ? withSurfaceReports(tl.getInput(name), publishTestResults)
        : tl.getInput(name);
  // Task inputs first, then the agent's STOWAWAY_* variables (a mirror for every pipeline, say).
  const inputs = parseCommonInputs(withEnvFallback(commonInputGetter(getTaskInput), process.env), {
    outputDir: defaultOutputDir(),
  });
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
    // The CI contract's one entry: database step, default gate (critical), reports, outcome file.
    const run = await runCi(inputs, {
      env: process.env,
      log: (line) => console.log(neutralizeLog(line)),
      reportOptions: { markdownBudget: "ado", ...(fullReportUrl ? { fullReportUrl } : {}) },
    });
    for (const notice of [...run.notices, ...run.warnings]) tl.warning(neutralizeLog(notice));
    console.log(neutralizeLog(verdictLine(run)));
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
