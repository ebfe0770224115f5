import { Option, type Command } from "commander";
import type { GateSeverity, ScanRequest, ScanResult, Severity } from "@stowaway/core";
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
import type { Io } from "../io.js";

interface ScanFlags extends ImageFlags {
  format: ReportFormat;
  report: string[];
  db?: string;
  offline?: boolean;
  policy?: string;
  failOn?: GateSeverity;
  onlyFixed?: boolean;
  mode?: "enforce" | "warn";
  severity?: Severity;
  baseline?: string;
  ignoreFile: string[];
  vex: string[];
  includeKernelHeaders?: boolean;
  severitySourceOrder?: string;
  unknownAs?: Exclude<Severity, "unknown">;
  failOnUnknown?: boolean;
  requireSignature?: boolean;
  signatureKey: string[];
}

const GATE_SEVERITIES = ["critical", "high", "medium", "low", "none"];
const REPORT_SEVERITIES = ["critical", "high", "medium", "low", "negligible", "unknown"];

const collect = (value: string, previous: string[]): string[] => [...previous, value];

type Core = typeof import("@stowaway/core");

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
  const severitySourceOrder = flags.severitySourceOrder
    ? core.parseSeveritySourceOrder(flags.severitySourceOrder)
    : undefined;
  return {
    target,
    access: await imageAccessFrom(flags, io),
    env: io.env,
    ...(cacheDir !== undefined ? { cacheDir } : {}),
    ...(flags.db ? { db: flags.db } : {}),
    ...(flags.policy ? { policy: flags.policy } : {}),
    ...(flags.failOn ? { failOn: flags.failOn } : {}),
    ...(flags.onlyFixed ? { onlyFixed: true } : {}),
    ...(flags.unknownAs ? { unknownAs: flags.unknownAs } : {}),
    ...(flags.failOnUnknown ? { failOnUnknown: true } : {}),
    ...(flags.requireSignature ? { requireSignature: true } : {}),
    ...(flags.signatureKey.length > 0 ? { signatureKeys: flags.signatureKey } : {}),
    ...(flags.mode ? { mode: flags.mode } : {}),
    ...(flags.caFile ? { caFile: flags.caFile } : {}),
    ...(flags.baseline ? { baseline: flags.baseline } : {}),
    ignoreFiles: flags.ignoreFile,
    vex: flags.vex,
    match: {
      ...(flags.includeKernelHeaders ? { includeKernelHeaders: true } : {}),
      ...(severitySourceOrder ? { severitySourceOrder } : {}),
    },
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
      .option("--db <dir>", "vulnerability database directory (default: $STOWAWAY_DB_DIR or ~/.cache/stowaway/db)")
      .option(
        "--offline",
        "never touch the network for the database (the default: scans never download it; use `stowaway db update`)",
      )
      .option(
        "--policy <file|https-url>",
        "policy file or central policy URL (bearer token from STOWAWAY_POLICY_TOKEN)",
      )
      .addOption(
        new Option("--fail-on <severity>", "fail (exit 1) on findings at or above SEVERITY").choices(GATE_SEVERITIES),
      )
      .option("--only-fixed", "gate only on findings that have a fixed version")
      .addOption(
        new Option(
          "--unknown-as <severity>",
          "count unrated findings (severity unknown) as SEVERITY for the gate (policy gate.unknownAs)",
        ).choices(GATE_SEVERITIES.filter((s) => s !== "none").concat("negligible")),
      )
      .option("--fail-on-unknown", "fail on any finding no source rated (policy gate.failOnUnknown)")
      .option(
        "--require-signature",
        "fail unless a cosign or Notation signature verifies with the policy's trust.signatures (docs/trust.md)",
      )
      .option(
        "--signature-key <cosign.pub>",
        "trust this cosign public key (PEM) for every image and require its signature (repeatable)",
        collect,
        [],
      )
      .addOption(
        new Option("--mode <mode>", "enforce: a failed gate exits 1; warn: report violations and exit 0").choices([
          "enforce",
          "warn",
        ]),
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
      )
      .option(
        "--ignore-file <file>",
        ".trivyignore or .trivyignore.yaml to suppress findings (repeatable)",
        collect,
        [],
      )
      .option("--vex <file>", "OpenVEX document; not_affected statements suppress findings (repeatable)", collect, [])
      .option(
        "--include-kernel-headers",
        "also match kernel header packages through the kernel source (off by default: R13)",
      )
      .option(
        "--severity-source-order <list>",
        "which rating decides a finding's severity, e.g. vendor,ghsa,nvd,cna (default vendor,ghsa,nvd,cna,adp,osv; docs/severity.md)",
      ),
  ).action(async (target: string, flags: ScanFlags) => {
    const core = await import("@stowaway/core");
    const { renderReport, runPipeline, writeFileAtomic } = core;
    // Every report is written (inside runPipeline) before the exit code says anything, so a failing gate still leaves its evidence.
    const { result, reportOptions: options } = await runPipeline(await scanRequestFrom(target, flags, io, core));
    const main = renderReport(flags.format, result, { ...options, color: colorWanted(flags, io) });
    if (flags.output) await writeFileAtomic(flags.output, main);
    else io.stdout.write(main);
    if (flags.format !== "table" || flags.output) {
      for (const warning of [...result.warnings, ...(result.policy?.warnings ?? [])])
        io.stderr.write(`warning: ${neutralizeLog(warning)}\n`);
    }
    io.stderr.write(summaryLine(result));
    setExitCode(result.policy?.outcome === "fail" ? EXIT_POLICY_FAILED : EXIT_OK);
  });
}
