import type { ScanResult } from "../result.js";
import { redactResult } from "./escape.js";

/**
 * The contract document. It always holds every finding whatever the report filter, because other
 * tools read it back (baselines, conversion to other formats); only secret values in build history
 * are redacted.
 */
export function renderJson(result: ScanResult): string {
  return `${JSON.stringify(redactResult(result), null, 2)}\n`;
}
