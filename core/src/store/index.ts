import { existsSync } from "node:fs";
import path from "node:path";
import { StowawayError } from "../errors.js";
import { defaultCacheDir } from "../defaults.js";
import { PostgresDriver } from "./postgres.js";
import { migrate, type SqlDriver } from "./sql-store.js";
import { SqlServiceStore, type ServiceStore } from "./service-state.js";
import { SqliteDriver } from "./sqlite.js";
import type { InventoryStore } from "./types.js";

export * from "./types.js";
export { MIGRATIONS, SCHEMA_VERSION, type Migration } from "./migrations.js";
export { redactedUrl } from "./postgres.js";
export * from "./service-state.js";
export { clusterWorkloads, recordClusterWorkloads, type ClusterWorkloadRow } from "./cluster.js";

/** The default store: one SQLite file in the cache directory. */
export function defaultStorePath(cacheDir: string = defaultCacheDir()): string {
  return path.join(cacheDir, "inventory.sqlite");
}

export function isPostgresUrl(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

export interface OpenStoreOptions {
  /**
   * Only read what is there: a SQLite path that does not exist is refused instead of created, so a
   * mistyped `--store` on a report says so rather than showing an empty, newly made store.
   */
  existing?: boolean;
}

/** Opens (creating and migrating when needed) the store at `spec`: a `postgres://` URL or a SQLite file path. */
export async function openStore(
  spec: string = defaultStorePath(),
  options: OpenStoreOptions = {},
): Promise<InventoryStore> {
  if (options.existing && !isPostgresUrl(spec) && !existsSync(spec)) {
    throw new StowawayError(
      `store ${spec} does not exist: point --store (or STOWAWAY_STORE) at a store that \`stowaway registry scan\` or \`cluster inventory\` wrote`,
    );
  }
  return openServiceStore(spec);
}

/** The store with the service's tables (tokens, registries, schedules, in-process jobs) as well. */
export async function openServiceStore(spec: string = defaultStorePath()): Promise<ServiceStore> {
  const driver: SqlDriver = isPostgresUrl(spec) ? await PostgresDriver.open(spec) : await SqliteDriver.open(spec);
  try {
    await migrate(driver);
  } catch (error) {
    await driver.close().catch(() => undefined);
    throw error;
  }
  return new SqlServiceStore(driver);
}
