import path from "node:path";
import type { Command } from "commander";
import { neutralizeLog } from "@stowaway/core/log-safety";
import { describeError } from "../errors.js";
import { EXIT_ERROR } from "../exit-codes.js";
import type { Io } from "../io.js";

/** Where reports go when STOWAWAY_OUTPUT_DIR is not set: a folder in the job's working directory. */
const DEFAULT_OUTPUT_DIR = "stowaway-reports";

/**
 * Even a run that could not scan leaves an outcome file, so an adapter publishing "what it wrote"
 * finds `unchecked` with the reason rather than nothing.
 */
async function writeErrorOutcome(outputDir: string, image: string | undefined, reason: string): Promise<void> {
  // Core may be what failed to load: then no outcome file can be written, and the error line says why.
  const { OUTCOME_FILE, OUTCOME_SCHEMA_VERSION, writeFileAtomic } = await import("@stowaway/core/pipeline");
  const document = {
    schemaVersion: OUTCOME_SCHEMA_VERSION,
    outcome: "unchecked",
    image: image ?? "",
    counts: { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 },
    violations: 0,
    suppressed: 0,
    error: reason,
    reports: {},
    warnings: [],
    verdict: `stowaway: UNCHECKED ${image ?? "(no image)"}: the scan could not run (${reason})`,
  };
  await writeFileAtomic(path.join(outputDir, OUTCOME_FILE), `${JSON.stringify(document, null, 2)}\n`);
}

/**
 * `stowaway ci`: the CI contract for shell, Groovy and YAML adapters. Inputs come from `STOWAWAY_*`
 * variables (docs/ci-contract.md); the reports and stowaway-outcome.json land in the output
 * directory; the last line of stdout is the verdict; exit 0 pass/warn, 1 fail, 2 unchecked/error.
 */
export function registerCiCommand(program: Command, io: Io, setExitCode: (code: number) => void): void {
  program
    .command("ci")
    .description(
      "scan as CI runs it, configured by STOWAWAY_* variables: provision the database, apply the default gate (critical), write reports and stowaway-outcome.json (exit 0 pass/warn, 1 fail, 2 unchecked)",
    )
    .argument("[image]", "the image to scan (default: $STOWAWAY_IMAGE)")
    .option(
      "--server <url>",
      "delegate the scan to a Stowaway service (default: $STOWAWAY_SERVER; token in STOWAWAY_SERVER_TOKEN)",
    )
    .action(async (image: string | undefined, flags: { server?: string }) => {
      // Core is loaded when the command runs (CLI start-up stays light); a failure to load it is
      // reported as any other error, through the one-line error path below.
      const core = await import("@stowaway/core/pipeline").catch((error: unknown) => error as Error);
      if (core instanceof Error) {
        io.stderr.write(`stowaway: error: ${await describeError(core)}\n`);
        setExitCode(EXIT_ERROR);
        return;
      }
      const {
        DEFAULT_CI_REPORTS,
        envInputs,
        loadReportRenderer,
        maskSecrets,
        outcomeExitCode,
        parseCommonInputs,
        runCi,
      } = core;
      const { verdictLine } = core;
      // Text from the image and its advisories reaches these lines: masked, then neutralised.
      const line = (text: string) => neutralizeLog(maskSecrets(text, secrets));
      const get = envInputs(io.env);
      const secrets = [io.env.STOWAWAY_PASSWORD, io.env.STOWAWAY_REGISTRY_TOKEN, io.env.STOWAWAY_SERVER_TOKEN].filter(
        (value): value is string => Boolean(value),
      );
      const outputDir = get("output-dir")?.trim() || DEFAULT_OUTPUT_DIR;
      try {
        const fromFlags: Record<string, string | undefined> = { image, server: flags.server };
        const inputs = parseCommonInputs((name) => fromFlags[name] ?? get(name), {
          outputDir,
          reports: DEFAULT_CI_REPORTS,
        });
        const defaultBranchImage = io.env.STOWAWAY_DEFAULT_BRANCH_IMAGE?.trim();
        const run = await runCi(inputs, {
          env: io.env,
          // GitLab's report only: see docs/ci-contract.md ("Report options").
          ...(defaultBranchImage ? { reportOptions: { gitlabDefaultBranchImage: defaultBranchImage } } : {}),
          log: (text) => io.stderr.write(`${line(text)}\n`),
        });
        // The findings table for the job log, then the verdict as the last line.
        const renderTable = await loadReportRenderer("table");
        io.stdout.write(maskSecrets(renderTable(run.result, run.reportOptions), secrets));
        for (const notice of run.notices) io.stderr.write(`notice: ${line(notice)}\n`);
        for (const warning of run.warnings) io.stderr.write(`warning: ${line(warning)}\n`);
        for (const [format, file] of Object.entries(run.reports)) io.stderr.write(`${format} report: ${line(file)}\n`);
        io.stderr.write(`outcome: ${line(run.outcomeFile)}\n`);
        io.stdout.write(`${line(verdictLine(run))}\n`);
        setExitCode(outcomeExitCode(run.outcome));
      } catch (error) {
        const reason = maskSecrets(await describeError(error), secrets);
        await writeErrorOutcome(outputDir, image ?? get("image")?.trim(), reason).catch(() => undefined);
        io.stderr.write(`stowaway: error: ${reason}\n`);
        setExitCode(EXIT_ERROR);
      }
    });
}
