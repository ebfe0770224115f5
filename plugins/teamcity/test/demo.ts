import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(fileURLToPath(new URL("../../..", import.meta.url)));
export const DEMO_IMAGE = `oci-archive:${path.join(ROOT, "examples/demo/demo-image.oci.tar")}`;
export const DEMO_DB = path.join(ROOT, "examples/demo/db");
export const CLI = path.join(ROOT, "cli/dist/main.js");

interface CliJson {
  findings: { findingId: string; id: string; packageName: string; severity: string }[];
  policy?: { outcome: string; suppressed: { findingId: string }[]; violations: { rule: string }[] };
}

/** The expected values: what the CLI itself reports for the same inputs, counted here, not by the adapter. */
export interface CliFinding {
  id: string;
  severity: string;
  /** The adapter's test name for the finding: package and vulnerability. */
  testName: string;
  suppressed: boolean;
}

export function cliExpectations(
  args: string[],
  jsonFile: string,
): { exit: number; counts: Record<string, number>; findings: CliFinding[] } {
  const run = spawnSync("node", [CLI, "scan", DEMO_IMAGE, "--db", DEMO_DB, "--report", `json=${jsonFile}`, ...args], {
    encoding: "utf8",
  });
  const report = JSON.parse(readFileSync(jsonFile, "utf8")) as CliJson;
  const suppressed = new Set(report.policy?.suppressed.map((entry) => entry.findingId));
  const counts: Record<string, number> = { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
  for (const finding of report.findings) if (!suppressed.has(finding.findingId)) counts[finding.severity]! += 1;
  const findings = report.findings.map((finding) => ({
    id: finding.id,
    severity: finding.severity,
    testName: `${finding.packageName}: ${finding.id}`,
    suppressed: suppressed.has(finding.findingId),
  }));
  return { exit: run.status ?? -1, counts, findings };
}
