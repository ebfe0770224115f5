import type { ImageConfigFacts } from "../policy/image-config.js";
import type { ScanResult } from "../result.js";
import { diffFindings, type FindingChange, type InventoryStore, type StoredImage } from "../store/types.js";

/** Config facts worth keeping for later policy runs: everything but environment values (often secrets). */
export function storableConfig(facts: ImageConfigFacts): ImageConfigFacts {
  const { env, ...rest } = facts;
  return { ...rest, ...(env ? { env: env.map((entry) => ({ name: entry.name, value: "" })) } : {}) };
}

/**
 * Stores `result` for `digest` and the changes against what was stored before: every finding is
 * new for an image seen for the first time; afterwards only the difference counts. With
 * `deferChanges` the changes are returned but not written (the caller batches them).
 */
export async function recordResult(
  store: InventoryStore,
  runId: string,
  digest: string,
  result: ScanResult,
  previous: StoredImage | undefined,
  now: string,
  imageConfig?: ImageConfigFacts,
  deferChanges = false,
): Promise<FindingChange[]> {
  const changes: FindingChange[] = [];
  if (result.findings) {
    // Findings of an image checked before against no database are all "new" on the first matched run.
    for (const { kind, finding } of diffFindings(previous?.result.findings, result.findings)) {
      changes.push({
        runId,
        digest,
        kind,
        findingId: finding.findingId,
        vulnerabilityId: finding.id,
        severity: finding.severity,
        packageName: finding.packageName,
        installedVersion: finding.installedVersion,
        ...(finding.fixedVersion ? { fixedVersion: finding.fixedVersion } : {}),
      });
    }
  }
  const config = imageConfig ?? previous?.imageConfig;
  await store.putImage({
    digest,
    result,
    ...(config ? { imageConfig: config } : {}),
    ...(result.database?.builtAt ? { dbBuiltAt: result.database.builtAt } : {}),
    firstScanned: previous?.firstScanned ?? now,
    lastMatched: now,
  });
  if (!deferChanges) await store.recordChanges(changes);
  return changes;
}
