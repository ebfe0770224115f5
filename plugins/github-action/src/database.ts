import { existsSync } from "node:fs";
import * as cache from "@actions/cache";
import * as core from "@actions/core";
import {
  DB_SCHEMA_VERSION,
  defaultDatabaseDir,
  imageEcosystems,
  refreshDatabase,
  neutralizeLog,
  type CommonInputs,
} from "@stowaway/core";

const KEY_PREFIX = `stowaway-db-${DB_SCHEMA_VERSION}-`;
/** Matches the daily cache key: a database built within a day is not downloaded again. */
const FRESH_FOR_MS = 24 * 60 * 60 * 1000;

/** One key per schema and UTC day: at most one download a day, and a schema change never restores an unreadable DB. */
export function databaseCacheKey(now: Date): string {
  return `${KEY_PREFIX}${now.toISOString().slice(0, 10)}`;
}

export interface PreparedDatabase {
  /** Undefined when there is no database to use. */
  dir?: string;
  /** For the caller to surface as warning annotations (it keeps count of the step's annotation budget). */
  warnings: string[];
  /** Saves the database for later runs if this run refreshed it; call after the scan (it records the ecosystems met). */
  save(): Promise<void>;
}

function cacheAvailable(enabled: boolean): boolean {
  if (!enabled) return false;
  if (cache.isFeatureAvailable()) return true;
  core.info("the Actions cache service is not available here; the vulnerability database is not cached");
  return false;
}

/**
 * The database when the workflow gives no `db`: restored from the Actions cache (today's, else the
 * latest), refreshed through core's update unless offline, and kept stale-but-usable with a warning
 * when the download fails. Without any database the scan decides (inventory only without a gate, a
 * clear error with one).
 */
export async function prepareDatabase(
  inputs: CommonInputs,
  options: { cacheDb: boolean; mirrors: string[]; env: NodeJS.ProcessEnv; now: Date },
): Promise<PreparedDatabase> {
  const warnings: string[] = [];
  const dir = defaultDatabaseDir(options.env);
  const key = databaseCacheKey(options.now);
  const useCache = cacheAvailable(options.cacheDb);
  let restoredKey: string | undefined;
  if (useCache) {
    try {
      restoredKey = await cache.restoreCache([dir], key, [KEY_PREFIX]);
      core.info(
        restoredKey ? `vulnerability database restored from cache ${restoredKey}` : "no cached vulnerability database",
      );
    } catch (error) {
      warnings.push(`could not restore the cached vulnerability database: ${(error as Error).message}`);
    }
  }

  const ecosystems = inputs.offline ? [] : await imageEcosystems(inputs, options.env);
  const refresh = await refreshDatabase({
    dbDir: dir,
    ecosystems,
    mirrors: options.mirrors,
    freshForMs: FRESH_FOR_MS,
    env: options.env,
    now: options.now,
    log: (line) => core.info(neutralizeLog(line)),
    ...(inputs.offline ? { offline: true } : {}),
    ...(inputs.caFile ? { caFile: inputs.caFile } : {}),
  });
  for (const notice of refresh.notices) core.info(neutralizeLog(notice));
  warnings.push(...refresh.warnings);
  const usable = refresh.state !== "missing" && existsSync(dir);

  return {
    ...(usable ? { dir } : {}),
    warnings,
    async save() {
      if (!useCache || refresh.state !== "updated" || restoredKey === key) return;
      try {
        await cache.saveCache([dir], key);
        core.info(`vulnerability database cached as ${key}`);
      } catch (error) {
        // Another job of the same day may have saved first; the next run restores that one.
        core.info(`vulnerability database not cached: ${(error as Error).message}`);
      }
    },
  };
}
