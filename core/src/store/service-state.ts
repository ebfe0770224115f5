import { StowawayError } from "../errors.js";
import { SqlStore, type Row, type SqlDriver } from "./sql-store.js";
import type { InventoryStore } from "./types.js";

export type TokenScope = "read" | "write";

/** An API token as stored: the secret itself is never kept, only its SHA-256. */
export interface ApiTokenRecord {
  id: string;
  name: string;
  scope: TokenScope;
  /** Hex SHA-256 of the token's secret part. */
  secretHash: string;
  createdAt: string;
  expiresAt?: string;
  revoked: boolean;
}

/** A registry the service inventories on schedule. Credentials come from the worker's environment. */
export interface RegistryRecord {
  id: string;
  host: string;
  prefix?: string;
  tags?: string;
  maxImages?: number;
  insecure: boolean;
  createdAt: string;
  updatedAt: string;
}

export type ScheduleKind = "registry-scan" | "rescan";

export interface ScheduleRecord {
  id: string;
  kind: ScheduleKind;
  /** The registry a `registry-scan` schedule inventories. */
  registryId?: string;
  /** Five-field cron expression, UTC. */
  cron: string;
  enabled: boolean;
  /** The last cron occurrence a job was submitted for (or the creation time). */
  lastFired: string;
  createdAt: string;
  updatedAt: string;
}

export type StoredJobState = "queued" | "running" | "succeeded" | "failed";

/** A job of the in-process queue (SQLite stores), kept in the store so a restart resumes. */
export interface StoredJob {
  id: string;
  kind: string;
  payload: unknown;
  state: StoredJobState;
  attempts: number;
  maxAttempts: number;
  /** Not picked before this time (retry back-off). */
  runAfter: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  output?: unknown;
  error?: string;
}

/** What `stowaway serve` keeps beside the results: tokens, registries, schedules and (SQLite) jobs. */
export interface ServiceState {
  createToken(token: ApiTokenRecord): Promise<void>;
  getToken(id: string): Promise<ApiTokenRecord | undefined>;
  listTokens(): Promise<ApiTokenRecord[]>;
  revokeToken(id: string): Promise<boolean>;

  putRegistry(registry: RegistryRecord): Promise<void>;
  getRegistry(id: string): Promise<RegistryRecord | undefined>;
  listRegistries(): Promise<RegistryRecord[]>;
  deleteRegistry(id: string): Promise<boolean>;

  putSchedule(schedule: ScheduleRecord): Promise<void>;
  getSchedule(id: string): Promise<ScheduleRecord | undefined>;
  listSchedules(): Promise<ScheduleRecord[]>;
  deleteSchedule(id: string): Promise<boolean>;
  /** Moves `lastFired` from `expected` to `next` only if nobody else did (one submission per occurrence). */
  claimSchedule(id: string, expected: string, next: string): Promise<boolean>;

  insertJob(job: StoredJob): Promise<void>;
  getJob(id: string): Promise<StoredJob | undefined>;
  /** Takes the oldest due queued job and marks it running (one taker per job), or undefined. */
  claimJob(now: string): Promise<StoredJob | undefined>;
  updateJob(job: StoredJob): Promise<void>;
  /** Jobs left running by a process that stopped: queued again (the restart resumes them). */
  requeueRunningJobs(now: string): Promise<number>;
  jobCounts(): Promise<Record<string, number>>;
  /** When the image's result last changed (its `lastMatched`), without reading the result: cache keys. */
  imageStamp(digest: string): Promise<string | undefined>;
}

export type ServiceStore = InventoryStore & ServiceState;

const text = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value);

function json(value: unknown, what: string, location: string): unknown {
  try {
    return JSON.parse(String(value));
  } catch {
    throw new StowawayError(`store ${location}: ${what} is not valid JSON; the store is damaged`);
  }
}

/** The results store plus the service's own tables (migration 2), over the same driver. */
export class SqlServiceStore extends SqlStore implements ServiceState {
  constructor(driver: SqlDriver) {
    super(driver);
  }

  async createToken(token: ApiTokenRecord): Promise<void> {
    await this.driver.run(
      "INSERT INTO api_tokens (id, name, scope, secret_hash, created_at, expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?)",
      [
        token.id,
        token.name,
        token.scope,
        token.secretHash,
        token.createdAt,
        token.expiresAt ?? null,
        token.revoked ? 1 : 0,
      ],
    );
    await this.driver.flush();
  }

  async getToken(id: string): Promise<ApiTokenRecord | undefined> {
    const rows = await this.driver.all("SELECT * FROM api_tokens WHERE id = ?", [id]);
    return rows[0] ? toToken(rows[0]) : undefined;
  }

  async listTokens(): Promise<ApiTokenRecord[]> {
    return (await this.driver.all("SELECT * FROM api_tokens ORDER BY created_at, id")).map(toToken);
  }

  async revokeToken(id: string): Promise<boolean> {
    const found = await this.getToken(id);
    if (!found) return false;
    await this.driver.run("UPDATE api_tokens SET revoked = 1 WHERE id = ?", [id]);
    await this.driver.flush();
    return true;
  }

  async putRegistry(registry: RegistryRecord): Promise<void> {
    await this.driver.run(
      `INSERT INTO registries (id, host, prefix, tags, max_images, insecure, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET host = excluded.host, prefix = excluded.prefix, tags = excluded.tags,
         max_images = excluded.max_images, insecure = excluded.insecure, updated_at = excluded.updated_at`,
      [
        registry.id,
        registry.host,
        registry.prefix ?? null,
        registry.tags ?? null,
        registry.maxImages ?? null,
        registry.insecure ? 1 : 0,
        registry.createdAt,
        registry.updatedAt,
      ],
    );
    await this.driver.flush();
  }

  async getRegistry(id: string): Promise<RegistryRecord | undefined> {
    const rows = await this.driver.all("SELECT * FROM registries WHERE id = ?", [id]);
    return rows[0] ? toRegistry(rows[0]) : undefined;
  }

  async listRegistries(): Promise<RegistryRecord[]> {
    return (await this.driver.all("SELECT * FROM registries ORDER BY id")).map(toRegistry);
  }

  async deleteRegistry(id: string): Promise<boolean> {
    if (!(await this.getRegistry(id))) return false;
    await this.driver.run("DELETE FROM registries WHERE id = ?", [id]);
    await this.driver.flush();
    return true;
  }

  async putSchedule(schedule: ScheduleRecord): Promise<void> {
    await this.driver.run(
      `INSERT INTO schedules (id, kind, registry_id, cron, enabled, last_fired, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, registry_id = excluded.registry_id, cron = excluded.cron,
         enabled = excluded.enabled, last_fired = excluded.last_fired, updated_at = excluded.updated_at`,
      [
        schedule.id,
        schedule.kind,
        schedule.registryId ?? null,
        schedule.cron,
        schedule.enabled ? 1 : 0,
        schedule.lastFired,
        schedule.createdAt,
        schedule.updatedAt,
      ],
    );
    await this.driver.flush();
  }

  async getSchedule(id: string): Promise<ScheduleRecord | undefined> {
    const rows = await this.driver.all("SELECT * FROM schedules WHERE id = ?", [id]);
    return rows[0] ? toSchedule(rows[0]) : undefined;
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    return (await this.driver.all("SELECT * FROM schedules ORDER BY id")).map(toSchedule);
  }

  async deleteSchedule(id: string): Promise<boolean> {
    if (!(await this.getSchedule(id))) return false;
    await this.driver.run("DELETE FROM schedules WHERE id = ?", [id]);
    await this.driver.flush();
    return true;
  }

  async claimSchedule(id: string, expected: string, next: string): Promise<boolean> {
    const claimed = await this.driver.transaction(async (tx) => {
      const rows = await tx.all("SELECT last_fired FROM schedules WHERE id = ?", [id]);
      if (rows.length === 0 || String(rows[0]!["last_fired"]) !== expected) return false;
      await tx.run("UPDATE schedules SET last_fired = ? WHERE id = ? AND last_fired = ?", [next, id, expected]);
      return true;
    });
    if (claimed) await this.driver.flush();
    return claimed;
  }

  async insertJob(job: StoredJob): Promise<void> {
    await this.driver.run(
      `INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_after, created_at, started_at,
         finished_at, output, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      jobParams(job),
    );
    await this.driver.flush();
  }

  async getJob(id: string): Promise<StoredJob | undefined> {
    const rows = await this.driver.all("SELECT * FROM jobs WHERE id = ?", [id]);
    return rows[0] ? this.toJob(rows[0]) : undefined;
  }

  async claimJob(now: string): Promise<StoredJob | undefined> {
    const job = await this.driver.transaction(async (tx) => {
      const rows = await tx.all(
        "SELECT * FROM jobs WHERE state = 'queued' AND run_after <= ? ORDER BY run_after, created_at, id LIMIT 1",
        [now],
      );
      if (!rows[0]) return undefined;
      const picked = this.toJob(rows[0]);
      const running: StoredJob = { ...picked, state: "running", attempts: picked.attempts + 1, startedAt: now };
      await tx.run(
        "UPDATE jobs SET state = 'running', attempts = ?, started_at = ? WHERE id = ? AND state = 'queued'",
        [running.attempts, now, picked.id],
      );
      return running;
    });
    if (job) await this.driver.flush();
    return job;
  }

  async updateJob(job: StoredJob): Promise<void> {
    const [id, ...rest] = jobParams(job);
    await this.driver.run(
      `UPDATE jobs SET kind = ?, payload = ?, state = ?, attempts = ?, max_attempts = ?, run_after = ?, created_at = ?,
         started_at = ?, finished_at = ?, output = ?, error = ? WHERE id = ?`,
      [...rest, id],
    );
    await this.driver.flush();
  }

  async requeueRunningJobs(now: string): Promise<number> {
    const rows = await this.driver.all("SELECT id FROM jobs WHERE state = 'running'");
    if (rows.length === 0) return 0;
    await this.driver.run("UPDATE jobs SET state = 'queued', run_after = ? WHERE state = 'running'", [now]);
    await this.driver.flush();
    return rows.length;
  }

  async jobCounts(): Promise<Record<string, number>> {
    // A queued job that already ran is waiting for its retry: shown as "retrying", as the API does.
    const rows = await this.driver.all(
      "SELECT CASE WHEN state = 'queued' AND attempts > 0 THEN 'retrying' ELSE state END AS state, COUNT(*) AS n FROM jobs GROUP BY 1",
    );
    return Object.fromEntries(rows.map((row) => [String(row["state"]), Number(row["n"])]));
  }

  async imageStamp(digest: string): Promise<string | undefined> {
    const rows = await this.driver.all("SELECT last_matched FROM images WHERE digest = ?", [digest]);
    return rows[0] ? String(rows[0]["last_matched"]) : undefined;
  }

  private toJob(row: Row): StoredJob {
    const id = String(row["id"]);
    return {
      id,
      kind: String(row["kind"]),
      payload: json(row["payload"], `job ${id}`, this.location),
      state: String(row["state"]) as StoredJobState,
      attempts: Number(row["attempts"]),
      maxAttempts: Number(row["max_attempts"]),
      runAfter: String(row["run_after"]),
      createdAt: String(row["created_at"]),
      ...(text(row["started_at"]) ? { startedAt: text(row["started_at"])! } : {}),
      ...(text(row["finished_at"]) ? { finishedAt: text(row["finished_at"])! } : {}),
      ...(text(row["output"]) ? { output: json(row["output"], `job ${id} output`, this.location) } : {}),
      ...(text(row["error"]) ? { error: text(row["error"])! } : {}),
    };
  }
}

function jobParams(job: StoredJob): unknown[] {
  return [
    job.id,
    job.kind,
    JSON.stringify(job.payload ?? null),
    job.state,
    job.attempts,
    job.maxAttempts,
    job.runAfter,
    job.createdAt,
    job.startedAt ?? null,
    job.finishedAt ?? null,
    job.output === undefined ? null : JSON.stringify(job.output),
    job.error ?? null,
  ];
}

function toToken(row: Row): ApiTokenRecord {
  return {
    id: String(row["id"]),
    name: String(row["name"]),
    scope: String(row["scope"]) as TokenScope,
    secretHash: String(row["secret_hash"]),
    createdAt: String(row["created_at"]),
    ...(text(row["expires_at"]) ? { expiresAt: text(row["expires_at"])! } : {}),
    revoked: Number(row["revoked"]) === 1,
  };
}

function toRegistry(row: Row): RegistryRecord {
  return {
    id: String(row["id"]),
    host: String(row["host"]),
    ...(text(row["prefix"]) ? { prefix: text(row["prefix"])! } : {}),
    ...(text(row["tags"]) ? { tags: text(row["tags"])! } : {}),
    ...(row["max_images"] !== null && row["max_images"] !== undefined ? { maxImages: Number(row["max_images"]) } : {}),
    insecure: Number(row["insecure"]) === 1,
    createdAt: String(row["created_at"]),
    updatedAt: String(row["updated_at"]),
  };
}

function toSchedule(row: Row): ScheduleRecord {
  return {
    id: String(row["id"]),
    kind: String(row["kind"]) as ScheduleKind,
    ...(text(row["registry_id"]) ? { registryId: text(row["registry_id"])! } : {}),
    cron: String(row["cron"]),
    enabled: Number(row["enabled"]) === 1,
    lastFired: String(row["last_fired"]),
    createdAt: String(row["created_at"]),
    updatedAt: String(row["updated_at"]),
  };
}
