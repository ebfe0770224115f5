import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ScanResult } from "@stowaway/core";

export const ROOT = path.resolve(fileURLToPath(new URL("../../..", import.meta.url)));
export const DEMO_IMAGE = `oci-archive:${path.join(ROOT, "examples/demo/demo-image.oci.tar")}`;
export const DEMO_DB = path.join(ROOT, "examples/demo/db");
export const CLI = path.join(ROOT, "cli/dist/main.js");

/** The CLI's own JSON report and exit code: the expected values, independent of the adapter. */
export function cliScan(args: string[], jsonFile: string): { exit: number; result: ScanResult } {
  const run = spawnSync("node", [CLI, "scan", DEMO_IMAGE, "--db", DEMO_DB, "--report", `json=${jsonFile}`, ...args], {
    encoding: "utf8",
  });
  return { exit: run.status ?? -1, result: JSON.parse(readFileSync(jsonFile, "utf8")) as ScanResult };
}

/** Active findings per severity, counted from the report here rather than by the code under test. */
export function countBySeverity(result: ScanResult): Record<string, number> {
  const suppressed = new Set(result.policy?.suppressed.map((entry) => entry.findingId));
  const counts: Record<string, number> = { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
  for (const finding of result.findings ?? []) if (!suppressed.has(finding.findingId)) counts[finding.severity]! += 1;
  return counts;
}

/** Ids of the report's findings at `severity`, in report order, without duplicates. */
export function idsAt(result: ScanResult, severity: string): string[] {
  return [...new Set((result.findings ?? []).filter((f) => f.severity === severity).map((f) => f.id))];
}

/** A policy (no gate of its own) whose exceptions accept `ids`, written to `file`. */
export function acceptingPolicy(ids: string[], file: string): string {
  const exceptions = ids.map((id) => `  - id: ${id}\n    reason: accepted for the test\n`).join("");
  writeFileSync(file, `version: 1\nrequireExpiry: false\nexceptions:\n${exceptions}`);
  return file;
}
