import { Option, type Command } from "commander";
import type { ScanRequest, ScanResult, Severity } from "@stowaway/core";
import { REPORT_FORMATS, type ReportFormat } from "@stowaway/core/formats";
import { neutralizeLog } from "@stowaway/core/log-safety";
import { EXIT_OK, EXIT_POLICY_FAILED } from "../exit-codes.js";
import {
  addImageOptions,
  cacheDirFlag,
  colorWanted,
  imageAccessFrom,
  progressFrom,
  type ImageFlags,
} from "../image-options.js";
import { addGateOptions, gateRequestFrom, type GateFlags } from "../gate-options.js";
import type { Io } from "../io.js";

interface ScanFlags extends ImageFlags, GateFlags {
  format: ReportFormat;
  report: string[];
  offline?: boolean;
  severity?: Severity;
  baseline?: string;
}

const REPORT_SEVERITIES = ["critical", "high", "medium", "low", "negligible", "unknown"];

const collect = (value: string, previous: string[]): string[] => [...previous, value];

type Core = typeof import("@stowaway/core/pipeline");

function parseReportSpec(spec: string, core: Core): NonNullable<ScanRequest["reports"]>[number] {
  const { StowawayError, isReportFormat } = core;
  const equals = spec.indexOf("=");
  const format = equals > 0 ? spec.slice(0, equals) : "";
  const file = spec.slice(equals + 1);
  if (!isReportFormat(format) || !file) {
    throw new StowawayError(`--report "${spec}": expected FORMAT=FILE with FORMAT one of ${REPORT_FORMATS.join(", ")}`);
  }
  return { format, file };
}

/** argv to the one request shape core takes: the CLI's only mapping; core applies every default. */
async function scanRequestFrom(target: string, flags: ScanFlags, io: Io, core: Core): Promise<ScanRequest> {
  const reports = flags.report.map((spec) => parseReportSpec(spec, core));
  const cacheDir = cacheDirFlag(flags);
  const onProgress = progressFrom(flags, io);
  return {
    target,
    access: await imageAccessFrom(flags, io),
    env: io.env,
    ...(cacheDir !== undefined ? { cacheDir } : {}),
    ...gateRequestFrom(flags, core),
    ...(flags.caFile ? { caFile: flags.caFile } : {}),
    ...(flags.baseline ? { baseline: flags.baseline } : {}),
    reports,
    ...(flags.severity ? { severity: flags.severity } : {}),
    ...(onProgress ? { onProgress } : {}),
    onNotice: (message) => io.stderr.write(`notice: ${neutralizeLog(message)}\n`),
  };
}

function summaryLine(result: ScanResult): string {
  const findings = result.findings;
  const counts = findings
    ? ["critical", "high", "medium", "low"]
        .map((severity) => `${findings.filter((f) => f.severity === severity).length} ${severity}`)
        .join(", ")
    : "not checked";
  const unrated = findings?.filter((f) => f.severity === "unknown").length ?? 0;
  const unratedText = unrated > 0 ? `, ${unrated} unrated` : "";
  const verdict = result.policy
    ? `; policy: ${result.policy.outcome.toUpperCase()} (${result.policy.violations.length} violations, ${result.policy.suppressed.length} suppressed)`
    : "";
  const signature = result.signature ? `; signature: ${result.signature.status}` : "";
  return `${neutralizeLog(result.artifact.reference)}: ${result.packages.length} packages; vulnerabilities: ${counts}${unratedText}${signature}${verdict}\n`;
}

/** `stowaway scan TARGET`: inventory, matching, the gate, and every report from the one result. */
export function registerScanCommand(program: Command, io: Io, setExitCode: (code: number) => void): void {
  addImageOptions(
    addGateOptions(
      program
        .command("scan")
        .description(
          "scan an image for vulnerabilities, apply the policy gate, write reports (exit 1 when the gate fails)",
        )
        .addOption(
          new Option("-f, --format <format>", "report format on stdout (or --output)")
            .choices([...REPORT_FORMATS])
            .default("table"),
        )
        .option(
          "--report <format=file>",
          "also write FORMAT to FILE (repeatable); written before the gate exits",
          collect,
          [],
        )
        .option(
          "--offline",
          "never touch the network for the database (the default: scans never download it; use `stowaway db update`)",
        )
        .addOption(
          new Option(
            "--severity <severity>",
            "report filter: show findings at or above SEVERITY (never changes the gate)",
          ).choices(REPORT_SEVERITIES),
        )
        .option(
          "--baseline <previous.json>",
          "gate only on findings not in this previous JSON report (reports still show all)",
        ),
      {
        failOnHelp: "fail (exit 1) on findings at or above SEVERITY",
        policyHelp: "policy file or central policy URL (bearer token from STOWAWAY_POLICY_TOKEN)",
        signatures: true,
      },
    ),
  ).action(async (target: string, flags: ScanFlags) => {
    const core = await import("@stowaway/core/pipeline");
    const { loadReportEncoder, runBytes, runPipeline, writeFileAtomic } = core;
    // Every report is written (inside runPipeline) before the exit code says anything, so a failing gate still leaves its evidence.
    const { result, reportOptions: options } = await runPipeline(await scanRequestFrom(target, flags, io, core));
    // As bytes: JSON then writes a warm rescan's cached package list as read (loadReportEncoder).
    const render = await loadReportEncoder(flags.format);
    const main = render(result, { ...options, color: colorWanted(flags, io) });
    if (flags.output) await writeFileAtomic(flags.output, main);
    else for (const run of main) io.stdout.write(runBytes(run));
    if (flags.format !== "table" || flags.output) {
      for (const warning of [...result.warnings, ...(result.policy?.warnings ?? [])])
        io.stderr.write(`warning: ${neutralizeLog(warning)}\n`);
    }
    io.stderr.write(summaryLine(result));
    setExitCode(result.policy?.outcome === "fail" ? EXIT_POLICY_FAILED : EXIT_OK);
  });
}
