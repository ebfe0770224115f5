import path from "node:path";
import type { DatabaseMetadata } from "./types.js";
import { VulnDbError } from "./errors.js";
import { resolveGeneration } from "./store/location.js";
import { missingDatabase, readMetadataFile } from "./store/reader.js";
import { verifyGeneration, type VerifyReport } from "./store/verify.js";

export interface DatabaseStatus {
  dbDir: string;
  generation: string;
  metadata: DatabaseMetadata;
  /** Time since the database was built. */
  ageMs: number;
  maxAgeMs?: number;
  /** Older than maxAgeMs (docs/matching-rules.md P19): findings may miss recent advisories. */
  stale: boolean;
  /** With `verify`: what the full integrity check covered (it throws on damage). */
  verified?: VerifyReport;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "7d", "36h", "90m", "2w", "45s" → milliseconds. */
export function parseDuration(text: string, flag = "--max-age"): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(text);
  if (!match) throw new VulnDbError(`${flag} ${JSON.stringify(text)} is not a duration; use e.g. 7d, 36h, 90m, 2w`);
  return Number(match[1]) * UNITS[match[2]!.toLowerCase()]!;
}

export function formatDuration(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes % 60}m`;
  return `${minutes}m`;
}

export async function databaseStatus(
  dbDir: string,
  options: { now?: Date; maxAgeMs?: number; verify?: boolean } = {},
): Promise<DatabaseStatus> {
  const generation = resolveGeneration(dbDir);
  if (!generation) throw missingDatabase(dbDir);
  // Verified first, so a damaged metadata.json is reported as damage, not read.
  const verified = options.verify ? await verifyGeneration(generation) : undefined;
  const metadata = await readMetadataFile(generation);
  const built = Date.parse(metadata.builtAt);
  if (Number.isNaN(built)) {
    throw new VulnDbError(
      `${path.join(generation, "metadata.json")}: field builtAt is not a timestamp; rebuild the database`,
    );
  }
  const ageMs = (options.now ?? new Date()).getTime() - built;
  return {
    dbDir,
    generation,
    metadata,
    ageMs,
    ...(options.maxAgeMs !== undefined ? { maxAgeMs: options.maxAgeMs } : {}),
    stale: options.maxAgeMs !== undefined && ageMs > options.maxAgeMs,
    ...(verified ? { verified } : {}),
  };
}

/** Human-readable status block (one fact per line; sources as an aligned table). */
export function formatDatabaseStatus(status: DatabaseStatus): string {
  const { metadata } = status;
  const lines = [
    `database:   ${status.dbDir}`,
    `built:      ${metadata.builtAt} (${formatDuration(status.ageMs)} ago)`,
    `schema:     ${metadata.schemaVersion}`,
    `records:    ${metadata.records}`,
    `ecosystems: ${metadata.ecosystems.length}`,
  ];
  if (status.verified)
    lines.push(`verified:   ${status.verified.files} files, ${status.verified.records} record references: intact`);
  if (metadata.kevEntries !== undefined) lines.push(`kev:        ${metadata.kevEntries}`);
  if (metadata.epssScores !== undefined) lines.push(`epss:       ${metadata.epssScores}`);
  if (metadata.cveMetrics) lines.push(`cve cvss:   ${metadata.cveMetrics}`);
  lines.push("sources:");
  const width = Math.max(...metadata.sources.map((source) => source.name.length), 6);
  for (const source of metadata.sources) {
    lines.push(
      `  ${source.name.padEnd(width)}  ${String(source.records).padStart(8)}  fetched ${source.fetchedAt}  from ${source.origin}`,
    );
  }
  if (metadata.recordsByEcosystem) {
    lines.push("records per ecosystem:");
    const entries = Object.entries(metadata.recordsByEcosystem);
    const column = Math.max(...entries.map(([ecosystem]) => ecosystem.length), 6);
    for (const [ecosystem, count] of entries) lines.push(`  ${ecosystem.padEnd(column)}  ${String(count).padStart(8)}`);
  }
  return `${lines.join("\n")}\n`;
}
