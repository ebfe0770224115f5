import { Option, type Command } from "commander";
import type { GateSeverity, ScanRequest, Severity } from "@stowaway/core";

/** The flags that decide a verdict: database, policy, gate overrides, suppressions, matching. */
export interface GateFlags {
  db?: string;
  policy?: string;
  failOn?: GateSeverity;
  onlyFixed?: boolean;
  unknownAs?: Exclude<Severity, "unknown">;
  failOnUnknown?: boolean;
  mode?: "enforce" | "warn";
  requireSignature?: boolean;
  signatureKey?: string[];
  ignoreFile: string[];
  vex: string[];
  includeKernelHeaders?: boolean;
  severitySourceOrder?: string;
}

export const GATE_SEVERITIES = ["critical", "high", "medium", "low", "none"];

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export interface GateOptionSet {
  /** What `--fail-on` exits 1 for, in this command's words. */
  failOnHelp: string;
  /** What `--policy` is applied to. */
  policyHelp: string;
  /** `--require-signature` / `--signature-key`: only where signatures are verified (`scan`). */
  signatures?: boolean;
}

/**
 * One declaration of the verdict flags for `scan`, `registry scan` and `registry rescan`, so a flag
 * that works on one image works the same on a whole registry (issue 14: "every scan option applies").
 */
export function addGateOptions(command: Command, set: GateOptionSet): Command {
  command
    .option("--db <dir>", "vulnerability database directory (default: $STOWAWAY_DB_DIR or ~/.cache/stowaway/db)")
    .option("--policy <file|https-url>", set.policyHelp)
    .addOption(new Option("--fail-on <severity>", set.failOnHelp).choices(GATE_SEVERITIES))
    .option("--only-fixed", "gate only on findings that have a fixed version")
    .addOption(
      new Option(
        "--unknown-as <severity>",
        "count unrated findings (severity unknown) as SEVERITY for the gate (policy gate.unknownAs)",
      ).choices(GATE_SEVERITIES.filter((s) => s !== "none").concat("negligible")),
    )
    .option("--fail-on-unknown", "fail on any finding no source rated (policy gate.failOnUnknown)")
    .addOption(
      new Option("--mode <mode>", "enforce: a failed gate exits 1; warn: report violations and exit 0").choices([
        "enforce",
        "warn",
      ]),
    )
    .option("--ignore-file <file>", ".trivyignore or .trivyignore.yaml to suppress findings (repeatable)", collect, [])
    .option("--vex <file>", "OpenVEX document; not_affected statements suppress findings (repeatable)", collect, [])
    .option(
      "--include-kernel-headers",
      "also match kernel header packages through the kernel source (off by default: R13)",
    )
    .option(
      "--severity-source-order <list>",
      "which rating decides a finding's severity, e.g. vendor,ghsa,nvd,cna (default vendor,ghsa,nvd,cna,adp,osv; docs/severity.md)",
    );
  if (set.signatures) {
    command
      .option(
        "--require-signature",
        "fail unless a cosign or Notation signature verifies with the policy's trust.signatures (docs/trust.md)",
      )
      .option(
        "--signature-key <cosign.pub>",
        "trust this cosign public key (PEM) for every image and require its signature (repeatable)",
        collect,
        [],
      );
  }
  return command;
}

type Core = Pick<typeof import("@stowaway/core"), "parseSeveritySourceOrder">;

/** The verdict flags as the request core takes; core applies every default (resolveScanRequest). */
export function gateRequestFrom(
  flags: GateFlags,
  core: Core,
): Pick<
  ScanRequest,
  | "db"
  | "policy"
  | "failOn"
  | "onlyFixed"
  | "unknownAs"
  | "failOnUnknown"
  | "mode"
  | "requireSignature"
  | "signatureKeys"
  | "ignoreFiles"
  | "vex"
  | "match"
> {
  const severitySourceOrder = flags.severitySourceOrder
    ? core.parseSeveritySourceOrder(flags.severitySourceOrder)
    : undefined;
  return {
    ...(flags.db ? { db: flags.db } : {}),
    ...(flags.policy ? { policy: flags.policy } : {}),
    ...(flags.failOn ? { failOn: flags.failOn } : {}),
    ...(flags.onlyFixed ? { onlyFixed: true } : {}),
    ...(flags.unknownAs ? { unknownAs: flags.unknownAs } : {}),
    ...(flags.failOnUnknown ? { failOnUnknown: true } : {}),
    ...(flags.mode ? { mode: flags.mode } : {}),
    ...(flags.requireSignature ? { requireSignature: true } : {}),
    ...(flags.signatureKey && flags.signatureKey.length > 0 ? { signatureKeys: flags.signatureKey } : {}),
    ignoreFiles: flags.ignoreFile,
    vex: flags.vex,
    match: {
      ...(flags.includeKernelHeaders ? { includeKernelHeaders: true } : {}),
      ...(severitySourceOrder ? { severitySourceOrder } : {}),
    },
  };
}
