import type { InventoryStore } from "./types.js";
import { SqlStore } from "./sql-store.js";

/** One running container's image, as the store keeps it (migration 3). */
export interface ClusterWorkloadRow {
  cluster: string;
  namespace: string;
  /** "Deployment/web" */
  workload: string;
  container: string;
  image: string;
  digest: string;
  firstSeen: string;
  lastSeen: string;
}

function driverOf(store: InventoryStore): SqlStore["driver"] | undefined {
  return store instanceof SqlStore ? store.driver : undefined;
}

/**
 * Records where digests run: one row per cluster, namespace, workload, container, image and digest,
 * its first and last sighting kept. Stores other than the SQL ones (test doubles) keep nothing.
 */
export async function recordClusterWorkloads(
  store: InventoryStore,
  rows: Omit<ClusterWorkloadRow, "firstSeen" | "lastSeen">[],
  seenAt: string,
): Promise<void> {
  const driver = driverOf(store);
  if (!driver) return;
  await driver.transaction(async (tx) => {
    for (const row of rows) {
      await tx.run(
        `INSERT INTO cluster_workloads (cluster, namespace, workload, container, image, digest, first_seen, last_seen)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (cluster, namespace, workload, container, image, digest) DO UPDATE SET last_seen = excluded.last_seen`,
        [row.cluster, row.namespace, row.workload, row.container, row.image, row.digest, seenAt, seenAt],
      );
    }
  });
  await driver.flush();
}

/** Where a digest runs (or every recorded row), most recently seen first. */
export async function clusterWorkloads(store: InventoryStore, digest?: string): Promise<ClusterWorkloadRow[]> {
  const driver = driverOf(store);
  if (!driver) return [];
  const rows = await driver.all(
    `SELECT * FROM cluster_workloads${digest ? " WHERE digest = ?" : ""} ORDER BY last_seen DESC, cluster, namespace, workload, container`,
    digest ? [digest] : [],
  );
  return rows.map((row) => ({
    cluster: String(row["cluster"]),
    namespace: String(row["namespace"]),
    workload: String(row["workload"]),
    container: String(row["container"]),
    image: String(row["image"]),
    digest: String(row["digest"]),
    firstSeen: String(row["first_seen"]),
    lastSeen: String(row["last_seen"]),
  }));
}
