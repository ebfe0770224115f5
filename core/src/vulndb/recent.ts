import { readFile } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../write-atomic.js";
import { baseEcosystem } from "../versions/index.js";
import { normalizeEcosystem } from "./normalize.js";
import { RECENT_ECOSYSTEMS_FILE } from "./store/format.js";

/** Ecosystems not seen by a scan for this long stop being refreshed by a bare `db update`. */
export const RECENT_WINDOW_MS = 30 * 24 * 60 * 60 * 1000;

type Seen = Record<string, string>;

async function readSeen(dbDir: string): Promise<Seen> {
  try {
    const parsed = JSON.parse(await readFile(path.join(dbDir, RECENT_ECOSYSTEMS_FILE), "utf8")) as { seen?: unknown };
    return parsed.seen && typeof parsed.seen === "object" ? (parsed.seen as Seen) : {};
  } catch {
    // Missing or damaged: it is only a hint for the default update set.
    return {};
  }
}

/**
 * Records that a scan met packages of these ecosystems, so `db update` without --ecosystem downloads
 * just those OSV feeds. Stored by OSV feed name (the part before ":"), since one all.zip covers every
 * release of a distribution.
 */
export async function rememberEcosystems(dbDir: string, ecosystems: Iterable<string>, now = new Date()): Promise<void> {
  const seen = await readSeen(dbDir);
  let changed = false;
  const stamp = now.toISOString();
  for (const ecosystem of ecosystems) {
    if (!ecosystem.trim()) continue;
    const feed = baseEcosystem(normalizeEcosystem(ecosystem));
    if (seen[feed] !== stamp) {
      seen[feed] = stamp;
      changed = true;
    }
  }
  if (changed)
    await writeFileAtomic(path.join(dbDir, RECENT_ECOSYSTEMS_FILE), `${JSON.stringify({ seen }, null, 2)}\n`);
}

/** OSV feed names seen by scans within RECENT_WINDOW_MS, sorted. */
export async function recentEcosystems(dbDir: string, now = new Date()): Promise<string[]> {
  const seen = await readSeen(dbDir);
  return Object.entries(seen)
    .filter(([, when]) => now.getTime() - Date.parse(when) <= RECENT_WINDOW_MS)
    .map(([name]) => name)
    .sort();
}
