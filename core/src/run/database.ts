import { readFile } from "node:fs/promises";
import { scan } from "../scan.js";
import { baseEcosystem } from "../versions/index.js";
import { normalizeEcosystem } from "../vulndb/normalize.js";
import { recentEcosystems } from "../vulndb/recent.js";
import { databaseStatus, formatDuration } from "../vulndb/status.js";
import { updateDatabase } from "../vulndb/update.js";
import { imageAccessFrom, type CommonInputs } from "./inputs.js";

/**
 * The OSV feeds an image needs, from an inventory-only pass (its layers land in the layer cache, so
 * the real scan that follows reads them back instead of unpacking twice). A runner that starts with
 * no database knows no "recent ecosystems" yet; without this its first update would fetch no OSV
 * feed at all and every later scan would report "no vulnerabilities".
 */
export async function imageEcosystems(inputs: CommonInputs, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const inventory = await scan(inputs.image, {
    ...(inputs.cacheDir ? { cacheDir: inputs.cacheDir } : {}),
    ...imageAccessFrom(inputs, env),
  });
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
