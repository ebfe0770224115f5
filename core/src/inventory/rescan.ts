import { MatchMemo } from "../match/memo.js";
import { assessInventory, type ScanOptions } from "../scan.js";
import type { FindingChange, InventoryStore, RunSummary } from "../store/types.js";
import { openDatabase } from "../vulndb/store/reader.js";
import type { VulnerabilityStore } from "../vulndb/types.js";
import { recordResult } from "./record.js";
import { newRunId } from "./registry-scan.js";

export interface RescanOptions extends Pick<ScanOptions, "policy" | "match" | "suppressions" | "now"> {
  store: InventoryStore;
  /** The current database: a directory or an open store. */
  database: string | VulnerabilityStore;
  onImage?: (event: { position: number; total: number; digest: string; changes: FindingChange[] }) => void;
  /**
   * Return every change in `changes` (default true). A first rescan of a large store records a
   * change per finding of every image; callers that need only the counts pass false and memory
   * stays bounded (the changes are in the store: `store.changes(runId)`).
   */
  keepChanges?: boolean;
}

export interface RescanSummary {
  runId: string;
  /** Empty when `keepChanges` is false. */
  changes: FindingChange[];
  summary: RunSummary;
}

/**
 * `registry rescan`: every stored inventory matched again against the current database
 * (`match(storedInventory, currentDb)`), no registry or layer touched, and what changed recorded
 * as this run's changes: findings new since the previous run, fixed, newly fixable.
 */
export async function rescanStore(options: RescanOptions): Promise<RescanSummary> {
  const { store } = options;
  const started = options.now ?? new Date();
  const runId = newRunId("rescan", started);
  const database = typeof options.database === "string" ? await openDatabase(options.database) : options.database;
  try {
    await store.startRun({
      id: runId,
      kind: "rescan",
      target: "",
      startedAt: started.toISOString(),
      dbBuiltAt: database.metadata().builtAt,
    });
    // One image in memory at a time: a store of thousands of inventories is never loaded whole.
    const digests = await store.digests();
    const changes: FindingChange[] = [];
    const keep = options.keepChanges ?? true;
    const counts: Record<FindingChange["kind"], number> = { new: 0, fixed: 0, "newly-fixable": 0 };
    // Changes are written many images at a time (multi-row statements in one transaction).
    let pending: FindingChange[] = [];
    // Images share base layers and libraries: each distinct package is matched once per rescan.
    const memo = new MatchMemo();
    const match = { ...options.match, memo };
    let position = 0;
    for (const digest of digests) {
      const stored = await store.getImage(digest);
      if (!stored) continue;
      const result = await assessInventory(stored.result, {
        database,
        now: started,
        ...(options.policy ? { policy: options.policy } : {}),
        match,
        ...(options.suppressions ? { suppressions: options.suppressions } : {}),
        ...(stored.imageConfig ? { imageConfig: stored.imageConfig } : {}),
      });
      const imageChanges = await recordResult(
        store,
        runId,
        stored.digest,
        result,
        stored,
        started.toISOString(),
        undefined,
        true,
      );
      for (const change of imageChanges) {
        counts[change.kind] += 1;
        pending.push(change);
        if (keep) changes.push(change);
      }
      if (pending.length >= 2000) {
        await store.recordChanges(pending);
        pending = [];
      }
      position += 1; // not inside the optional call below: `?.` would skip the increment with no listener
      options.onImage?.({ position, total: digests.length, digest: stored.digest, changes: imageChanges });
    }
    await store.recordChanges(pending);
    const summary: RunSummary = {
      images: position,
      failed: 0,
      newFindings: counts.new,
      fixedFindings: counts.fixed,
      newlyFixable: counts["newly-fixable"],
    };
    await store.finishRun(runId, new Date().toISOString(), summary);
    await store.flush();
    return { runId, changes, summary };
  } finally {
    if (typeof options.database === "string") await database.close();
  }
}
