import os from "node:os";
import path from "node:path";
import type { GateSeverity } from "./policy/types.js";
import type { ScanRequest } from "./request.js";
import { defaultDatabaseDir } from "./vulndb/paths.js";

// The defaults every run shares, in a module that loads nothing heavy: the inventory-only entry
// (`@stowaway/core/scan`) applies them without loading the request's policy and import code.

export interface ScanDefaults {
  env: NodeJS.ProcessEnv;
  cacheDir: string | false;
  now: Date;
  /** The database directory the run would use (it may not exist). */
  db: string;
  /** The severity gate: the request's own, else its front end's default when no policy is given. */
  failOn?: GateSeverity;
}

/** `$XDG_CACHE_HOME/stowaway`, else `~/.cache/stowaway`: the layer cache, temp files, stores. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "stowaway");
}

/**
 * Every default of a run, applied in this one place: the environment, the cache dir (`false`
 * stays off), the clock, the database location ($STOWAWAY_DB_DIR, else the user cache) and the
 * front end's default gate.
 */
export function resolveDefaults(
  // `policy` is only tested for presence: a file or URL in a request, a loaded Policy in ScanOptions.
  request: Pick<ScanRequest, "env" | "cacheDir" | "now" | "db" | "failOn" | "defaultFailOn"> & {
    policy?: unknown;
  } = {},
): ScanDefaults {
  const env = request.env ?? process.env;
  const failOn = request.failOn ?? (request.policy ? undefined : request.defaultFailOn);
  return {
    env,
    cacheDir: request.cacheDir === undefined ? defaultCacheDir(env) : request.cacheDir,
    now: request.now ?? new Date(),
    db: request.db ?? (env.STOWAWAY_DB_DIR || defaultDatabaseDir(env)),
    ...(failOn ? { failOn } : {}),
  };
}
