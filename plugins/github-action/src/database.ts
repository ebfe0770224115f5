import * as cache from "@actions/cache";
import * as core from "@actions/core";
import {
  DB_SCHEMA_VERSION,
  provisionDatabase,
  provisionedDatabaseDir,
  neutralizeLog,
  type CommonInputs,
  type DatabaseStep,
} from "@stowaway/core";

const KEY_PREFIX = `stowaway-db-${DB_SCHEMA_VERSION}-`;

/** One key per schema and UTC day: at most one download a day, and a schema change never restores an unreadable DB. */
export function databaseCacheKey(now: Date): string {
  return `${KEY_PREFIX}${now.toISOString().slice(0, 10)}`;
}

export interface PreparedDatabase {
  step: DatabaseStep;
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
 * The contract's database step (core provisionDatabase) between an Actions cache restore (today's
 * key, else the latest) and a save of what it downloaded. A `db` input is used as it is.
 */
export async function prepareDatabase(
  inputs: CommonInputs,
  options: { cacheDb: boolean; env: NodeJS.ProcessEnv; now: Date },
): Promise<PreparedDatabase> {
  const warnings: string[] = [];
  const dir = provisionedDatabaseDir(options.env);
  const key = databaseCacheKey(options.now);
  const useCache = !inputs.db && cacheAvailable(options.cacheDb);
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
  const step = await provisionDatabase(inputs, {
    env: options.env,
    now: options.now,
    log: (line) => core.info(neutralizeLog(line)),
  });
  for (const notice of step.notices) core.info(neutralizeLog(notice));
  return {
    step: { ...step, notices: [] },
    warnings,
    async save() {
      if (!useCache || step.state !== "updated" || restoredKey === key) return;
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
