import os from "node:os";
import path from "node:path";

/** `$XDG_CACHE_HOME/stowaway/db`, else `~/.cache/stowaway/db` (beside the layer cache, in its own folder). */
export function defaultDatabaseDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), ".cache");
  return path.join(base, "stowaway", "db");
}
