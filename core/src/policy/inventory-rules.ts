import { inventoryGaps } from "../catalog/warnings.js";
import type { PolicyViolation, ScanResult } from "../result.js";
import type { GateRules } from "./types.js";

/** Paths named in the violation message; the rest are counted (the JSON result lists them all). */
const MAX_PATHS_SHOWN = 3;

/**
 * `gate.failOnIncompleteInventory`: a scan that could not read some file a cataloger wanted (over a
 * size bound, an archive bomb ...) may be missing packages, so "no findings" proves nothing.
 */
export function inventoryViolations(result: ScanResult, gate: GateRules): PolicyViolation[] {
  if (!gate.failOnIncompleteInventory) return [];
  const gaps = result.incomplete ?? inventoryGaps(result.warnings);
  if (gaps.length === 0) return [];
  const paths = [...new Set(gaps.map((gap) => gap.path))];
  const shown = paths.slice(0, MAX_PATHS_SHOWN).map((path) => JSON.stringify(path));
  const more = paths.length > MAX_PATHS_SHOWN ? ` and ${paths.length - MAX_PATHS_SHOWN} more` : "";
  return [
    {
      rule: "gate.failOnIncompleteInventory",
      message: `inventory incomplete: ${paths.length} file${paths.length === 1 ? "" : "s"} not read in full (${shown.join(", ")}${more}); packages they list may be missing`,
      findingIds: [],
    },
  ];
}
