/**
 * Read-only queries over an InventoryStore that front ends share (the dashboard's read model):
 * built from listImages() / sightings() / runs() / changes(), no SQL of their own.
 */
import type { Finding } from "../result.js";
import { SEVERITY_ORDER, type Severity } from "../vulndb/osv.js";
import type { FindingChange, InventoryStore, RunRecord, Sighting } from "./types.js";

export type SeverityTally = Record<Severity, number>;

export interface TrendPoint {
  runId: string;
  kind: RunRecord["kind"];
  /** When the run finished. */
  at: string;
  critical: number;
  high: number;
  medium: number;
  low: number;
  negligible: number;
  unknown: number;
}

export function findingsTally(findings: Pick<Finding, "severity">[]): SeverityTally {
  const tally: SeverityTally = { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
  // A rating this version does not know (a newer store) counts as unknown rather than vanishing.
  for (const finding of findings) tally[finding.severity in tally ? finding.severity : "unknown"] += 1;
  return tally;
}

export function worstSeverity(severities: Iterable<Severity>): Severity | undefined {
  let worst: Severity | undefined;
  for (const severity of severities) {
    if (worst === undefined || SEVERITY_ORDER.indexOf(severity) > SEVERITY_ORDER.indexOf(worst)) worst = severity;
  }
  return worst;
}

/** The sightings that are current now, by digest. */
export function currentReferences(sightings: Sighting[]): Map<string, Sighting[]> {
  const map = new Map<string, Sighting[]>();
  for (const sighting of sightings) {
    if (!sighting.current) continue;
    const list = map.get(sighting.digest);
    if (list) list.push(sighting);
    else map.set(sighting.digest, [sighting]);
  }
  return map;
}

/**
 * Findings by severity after each finished run, oldest first, replayed from the changes every run
 * recorded (`changesByRun`, by run id): "new" adds a finding, "fixed" removes it, "newly-fixable"
 * keeps it. The store keeps only the latest result per image, so the changes are the history; a
 * severity re-rated by a later database without the finding changing keeps its earlier rating in
 * earlier points.
 */
export function trendFromChanges(runs: RunRecord[], changesByRun: Map<string, FindingChange[]>): TrendPoint[] {
  const finished = runs
    .filter((run): run is RunRecord & { finishedAt: string } => !!run.finishedAt)
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  const open = new Map<string, Severity>();
  const points: TrendPoint[] = [];
  for (const run of finished) {
    for (const change of changesByRun.get(run.id) ?? []) {
      const key = `${change.digest}/${change.findingId}`;
      if (change.kind === "fixed") open.delete(key);
      else open.set(key, change.severity as Severity);
    }
    const tally = findingsTally([...open.values()].map((severity) => ({ severity })));
    points.push({ runId: run.id, kind: run.kind, at: run.finishedAt, ...tally });
  }
  return points;
}

/** The trend straight from a store (every run's changes read once). */
export async function trendOverRuns(store: InventoryStore): Promise<TrendPoint[]> {
  const runs = await store.runs();
  const changes = new Map<string, FindingChange[]>();
  for (const run of runs) changes.set(run.id, await store.changes(run.id));
  return trendFromChanges(runs, changes);
}
