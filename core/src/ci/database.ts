import { readFile } from "node:fs/promises";
import { inventoryOptions, resolveDefaults, type TakenInventory } from "../request.js";
import type { ScanResult } from "../result.js";
import { takeInventory } from "../scan.js";
import { baseEcosystem } from "../versions/index.js";
import { normalizeEcosystem } from "../vulndb/normalize.js";
import { recentEcosystems } from "../vulndb/recent.js";
import { databaseStatus, formatDuration } from "../vulndb/status.js";
import { parseDuration } from "../vulndb/status.js";
import { resolveGeneration } from "../vulndb/store/location.js";
import { DEFAULT_DB_MAX_AGE, scanRequestFromInputs, type CommonInputs } from "./inputs.js";

/**
 * The OSV feeds an image needs, from an inventory-only pass. A runner that starts with no database
 * knows no "recent ecosystems" yet; without this its first update would fetch no OSV feed at all
 * and every later scan would report "no vulnerabilities". The CI database step keeps the inventory
 * it took (DatabaseStep.inventory) so the scan matches it instead of reading the image again.
 */
export async function imageEcosystems(inputs: CommonInputs, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const request = scanRequestFromInputs(inputs, env);
  return ecosystemsOf((await takeInventory(request.target, inventoryOptions(request))).result);
}

function ecosystemsOf(inventory: ScanResult): string[] {
  const feeds = inventory.packages
    .map((pkg) => pkg.ecosystem)
    .filter((ecosystem): ecosystem is string => Boolean(ecosystem?.trim()))
    .map((ecosystem) => baseEcosystem(normalizeEcosystem(ecosystem)));
  return [...new Set(feeds)].sort();
}

export interface DatabaseRefreshRequest {
  dbDir: string;
  offline?: boolean;
  /** Feeds this run needs (see imageEcosystems); those recent scans met are refreshed too. */
  ecosystems?: string[];
  /** Base URLs serving `<ECOSYSTEM>/all.zip`, KEV and EPSS, tried in order. */
  mirrors?: string[];
  /**
   * Skip the download when the database on disk is younger than this and already holds every
   * requested feed (a runner that restored today's CI cache); a feed it lacks is always fetched.
   */
  freshForMs?: number;
  caFile?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  now?: Date;
}

export interface DatabaseRefresh {
  /**
   * "updated": downloaded (or confirmed unchanged) just now; "cached": the copy already in dbDir is
   * used as it is (offline, or the download failed); "missing": there is no database to use.
   */
  state: "updated" | "cached" | "missing";
  /** Things the user must hear about (a failed download, a missing database), one line each. */
  warnings: string[];
  /** Plain facts for the log. */
  notices: string[];
}

interface OnDisk {
  age: string;
  ageMs: number;
  sources: Set<string>;
}

async function onDisk(dbDir: string, now: Date): Promise<OnDisk | undefined> {
  try {
    const status = await databaseStatus(dbDir, { now });
    return {
      age: formatDuration(status.ageMs),
      ageMs: status.ageMs,
      sources: new Set(status.metadata.sources.map((source) => source.name)),
    };
  } catch {
    return undefined;
  }
}

/**
 * `db update` as CI runs it: online, refresh the feeds this run needs; offline, or when every
 * mirror fails, fall back to the database already on disk (restored from a CI cache) with a warning
 * rather than failing the build, since a day-old database beats no scan at all. Only when there is
 * no database whatsoever is the problem left for the scan to report.
 */
export async function refreshDatabase(request: DatabaseRefreshRequest): Promise<DatabaseRefresh> {
  const now = request.now ?? new Date();
  const existing = await onDisk(request.dbDir, now);
  const age = existing?.age;
  if (request.offline) {
    return age === undefined
      ? {
          state: "missing",
          warnings: [`offline and no cached vulnerability database at ${request.dbDir}`],
          notices: [],
        }
      : {
          state: "cached",
          warnings: [],
          notices: [`offline: using the cached vulnerability database (built ${age} ago)`],
        };
  }
  const ecosystems = [...new Set([...(request.ecosystems ?? []), ...(await recentEcosystems(request.dbDir, now))])];
  if (
    existing &&
    request.freshForMs !== undefined &&
    existing.ageMs < request.freshForMs &&
    ecosystems.every((ecosystem) => existing.sources.has(`osv:${ecosystem}`))
  ) {
    return {
      state: "cached",
      warnings: [],
      notices: [`the vulnerability database is fresh (built ${existing.age} ago)`],
    };
  }
  try {
    // The updater (feeds, ingest, signature checks) loads only when a database is fetched.
    const { updateDatabase } = await import("../vulndb/update.js");
    const result = await updateDatabase({
      dbDir: request.dbDir,
      ...(ecosystems.length > 0 ? { ecosystems } : {}),
      ...(request.mirrors?.length ? { mirrors: request.mirrors } : {}),
      ...(request.caFile ? { caPem: await readFile(request.caFile, "utf8") } : {}),
      ...(request.env ? { env: request.env } : {}),
      ...(request.log ? { log: request.log, warn: request.log } : {}),
      now,
    });
    const notices = [
      `vulnerability database updated: ${result.refreshed.length} feeds refreshed, ${result.unchanged.length} unchanged`,
    ];
    return { state: "updated", warnings: [], notices };
  } catch (error) {
    const reason = (error as Error).message.split("\n")[0];
    if (age === undefined) {
      return {
        state: "missing",
        warnings: [`could not download the vulnerability database (${reason}) and no cached copy exists`],
        notices: [],
      };
    }
    return {
      state: "cached",
      warnings: [`could not update the vulnerability database (${reason}); using the cached copy built ${age} ago`],
      notices: [],
    };
  }
}

/** True when `dbDir` holds a usable database (an empty or half-written directory does not count). */
export function hasDatabase(dbDir: string): boolean {
  return resolveGeneration(dbDir) !== undefined;
}

/** Where CI keeps the database it provisions: $STOWAWAY_DB_DIR, else the user cache (XDG_CACHE_HOME). */
export function provisionedDatabaseDir(env: NodeJS.ProcessEnv): string {
  return resolveDefaults({ env }).db;
}

export interface DatabaseStep {
  /** The database to match against; undefined when there is none (the run is then `unchecked`). */
  dir?: string;
  /** "given": the user's own `db`; the others as in DatabaseRefresh. */
  state: "given" | DatabaseRefresh["state"];
  warnings: string[];
  notices: string[];
  /** Why there is no database (state "missing"), with what to do. */
  reason?: string;
  /** The image's inventory, taken to learn its ecosystems: the scan matches it rather than reading the image again. */
  inventory?: TakenInventory;
}

/**
 * The database step of the CI contract. A `db` input is the user's own database and is used as it
 * is. Otherwise the provisioned one (restored by the platform's cache, or empty on a fresh runner)
 * is updated when older than `db-max-age` or lacking a feed this image needs, with retries and
 * mirror fallback inside the download; a failed update keeps the cached copy with a warning, and
 * with no database at all the step says so clearly and the run is `unchecked`, never `pass`.
 */
export async function provisionDatabase(
  inputs: CommonInputs,
  context: { env: NodeJS.ProcessEnv; now: Date; log?: (line: string) => void },
): Promise<DatabaseStep> {
  const howTo =
    "set db-mirror to a reachable mirror, restore a cached database, or pass db (a directory from `stowaway db update`, `db build` or `db import`)";
  if (inputs.db) {
    if (hasDatabase(inputs.db)) return { dir: inputs.db, state: "given", warnings: [], notices: [] };
    const reason = `no vulnerability database at ${inputs.db} (input db)`;
    return { state: "missing", warnings: [reason], notices: [], reason: `${reason}; ${howTo}` };
  }
  const dbDir = provisionedDatabaseDir(context.env);
  const request = scanRequestFromInputs(inputs, context.env, context.now);
  const inventory = inputs.offline ? undefined : await takeInventory(request.target, inventoryOptions(request));
  const ecosystems = inventory ? ecosystemsOf(inventory.result) : [];
  const taken = inventory ? { inventory } : {};
  const refresh = await refreshDatabase({
    dbDir,
    ecosystems,
    mirrors: inputs.dbMirrors,
    freshForMs: inputs.dbMaxAgeMs ?? parseDuration(DEFAULT_DB_MAX_AGE),
    env: context.env,
    now: context.now,
    ...(context.log ? { log: context.log } : {}),
    ...(inputs.offline ? { offline: true } : {}),
    ...(inputs.caFile ? { caFile: inputs.caFile } : {}),
  });
  if (refresh.state !== "missing" && hasDatabase(dbDir)) {
    return { dir: dbDir, state: refresh.state, warnings: refresh.warnings, notices: refresh.notices, ...taken };
  }
  return {
    state: "missing",
    warnings: refresh.warnings,
    notices: refresh.notices,
    reason: `${refresh.warnings[0] ?? `no vulnerability database at ${dbDir}`}; ${howTo}`,
    ...taken,
  };
}
