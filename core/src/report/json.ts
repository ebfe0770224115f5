import type { ScanResult } from "../result.js";
import { jsonLogSafe, redactResult } from "./escape.js";

/**
 * The contract document. It always holds every finding whatever the report filter, because other
 * tools read it back (baselines, conversion to other formats); only secret values in build history
 * are redacted. It is printed to CI logs as is, so it is log-safe (docs/log-safety.md) while parsing
 * to the same value.
 */
export function renderJson(result: ScanResult): string {
  return `${jsonLogSafe(JSON.stringify(redactResult(result), null, 2))}\n`;
}
