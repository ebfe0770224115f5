import type { ReportFormat } from "../report/format-names.js";
import { loadReportRenderer } from "../report/lazy-render.js";
import type { ReportOptions } from "../report/options.js";
import { writeFileAtomic } from "../write-atomic.js";
import type { Policy } from "../policy/types.js";
import { resolveScanRequest, type ScanRequest } from "../request.js";
import type { ScanResult } from "../result.js";
import { assessInventory, refusedByRegistryTrust, takeInventory, verifySignatures } from "../scan.js";

export interface PipelineRun {
  result: ScanResult;
  /** The gate that was applied, if any; its `report.minSeverity` is the default report filter. */
  policy?: Policy;
  /** The options the reports were rendered with (filter, times), for any further rendering. */
  reportOptions: ReportOptions;
}

/**
 * Inventory, findings, verdict, reports: the run every front end (CLI, CI adapters, services)
 * performs, from the one request shape with its defaults applied once (resolveScanRequest). An
 * inventory already taken in this run (`request.inventory`) is matched without reading the image again.
 */
export async function runPipeline(request: ScanRequest): Promise<PipelineRun> {
  const { options, policy, defaults } = await resolveScanRequest(request);
  // trust.registries refuses an image before anything is pulled; signatures are checked on what was read.
  const refused = request.inventory ? undefined : await refusedByRegistryTrust(request.target, options);
  let result: ScanResult;
  if (refused) {
    result = refused;
  } else {
    const taken = request.inventory ?? (await takeInventory(request.target, options));
    await verifySignatures(request.target, taken, options);
    result = await assessInventory(taken.result, {
      ...options,
      ...(taken.imageConfig ? { imageConfig: taken.imageConfig } : {}),
    });
  }
  const minSeverity = request.severity ?? policy?.report.minSeverity;
  const reportOptions: ReportOptions = {
    ...request.reportOptions,
    ...(minSeverity ? { minSeverity } : {}),
    startedAt: defaults.now,
    finishedAt: new Date(),
  };
  // Every report is written before anyone acts on the verdict, so a failed gate keeps its evidence.
  await writeReports(result, request.reports ?? [], reportOptions);
  return { result, ...(policy ? { policy } : {}), reportOptions };
}

/** Writes each report (atomically) before anyone acts on the verdict, so a failed gate keeps its evidence. */
export async function writeReports(
  result: ScanResult,
  targets: { format: ReportFormat; file: string }[],
  options: ReportOptions = {},
): Promise<void> {
  for (const target of targets) {
    const render = await loadReportRenderer(target.format);
    await writeFileAtomic(target.file, render(result, options));
  }
}

export type SeverityCounts = Record<"critical" | "high" | "medium" | "low" | "negligible" | "unknown", number>;

/** Findings per severity, not counting suppressed ones: what CI badges and statistics show. */
export function severityCounts(result: ScanResult): SeverityCounts {
  const counts: SeverityCounts = { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
  const suppressed = new Set(result.policy?.suppressed.map((entry) => entry.findingId));
  for (const finding of result.findings ?? []) if (!suppressed.has(finding.findingId)) counts[finding.severity] += 1;
  return counts;
}
