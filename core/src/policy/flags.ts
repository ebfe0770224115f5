import type { GateRules, GateSeverity, Policy } from "./types.js";

/**
 * The gate `--fail-on SEVERITY` and `--only-fixed` give without a policy file: the same rules a
 * policy with only `gate.failOn` and `gate.onlyFixed` would give, so both paths behave alike.
 * Without a policy nobody has asked for expiry governance, so plain `.trivyignore` lines (which
 * usually have no `exp:`) keep working as they do in Trivy.
 */
export function policyFromFlags(flags: {
  failOn?: GateSeverity;
  onlyFixed?: boolean;
  unknownAs?: GateRules["unknownAs"];
  failOnUnknown?: boolean;
}): Policy {
  return {
    version: 1,
    mode: "enforce",
    requireExpiry: false,
    expiryWarningDays: 14,
    gate: {
      failOn: flags.failOn ?? "none",
      onlyFixed: flags.onlyFixed ?? false,
      ...(flags.unknownAs ? { unknownAs: flags.unknownAs } : {}),
      ...(flags.failOnUnknown ? { failOnUnknown: true } : {}),
    },
    image: {},
    database: {},
    report: {},
    exceptions: [],
    source: "command-line flags",
  };
}
