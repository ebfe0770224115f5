import type PgBoss from "pg-boss";
import { StowawayError } from "../errors.js";
import { redactedUrl } from "../store/postgres.js";
import {
  DEFAULT_RETRY,
  errorLine,
  type JobHandler,
  type JobKind,
  type JobPayloads,
  type JobQueue,
  type JobState,
  type JobStatus,
  type RetryPolicy,
} from "./types.js";

/** One pg-boss queue carries every kind; the kind travels in the job's data. */
export const QUEUE_NAME = "stowaway-jobs";

export interface PostgresQueueOptions {
  retry?: Partial<RetryPolicy>;
  /** How often pg-boss looks for expired jobs (default 60 s; tests shorten it). */
  maintenanceSeconds?: number;
  /** How often an idle worker polls (default 2 s, at least 0.5 s). */
  pollingSeconds?: number;
  /** Where pg-boss keeps its tables (default "pgboss"). */
  schema?: string;
  /** Told about queue errors (connection losses ...), one line each. */
  onError?: (line: string) => void;
}

interface JobData {
  kind: JobKind;
  payload: unknown;
}

/** pg-boss's job row, as getJobById returns it. */
interface BossJob {
  id: string;
  data: JobData;
  state: "created" | "retry" | "active" | "completed" | "cancelled" | "failed";
  retryCount: number;
  createdOn: Date;
  startedOn?: Date | null;
  completedOn?: Date | null;
  output?: unknown;
}

const iso = (value: Date | string | null | undefined): string | undefined =>
  value ? new Date(value).toISOString() : undefined;

/**
 * The queue for PostgreSQL stores, on pg-boss (SKIP LOCKED job fetching, retries with back-off,
 * expiry of jobs whose worker died): N `stowaway serve --worker` processes on N machines share it.
 */
export class PostgresQueue implements JobQueue {
  readonly kind = "postgres";
  private readonly retry: RetryPolicy;
  private workers: string[] = [];

  private constructor(
    private readonly boss: PgBoss,
    private readonly options: PostgresQueueOptions,
  ) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  static async open(url: string, options: PostgresQueueOptions = {}): Promise<PostgresQueue> {
    const { default: Boss } = await import("pg-boss");
    const boss = new Boss({
      connectionString: url,
      max: 4,
      schema: options.schema ?? "pgboss",
      // Stowaway's own scheduler submits cron jobs (jobs/schedules.ts): one mechanism for both queues.
      schedule: false,
      supervise: true,
      maintenanceIntervalSeconds: options.maintenanceSeconds ?? 60,
    });
    // pg-boss reports background errors as events; unhandled they would end the process.
    boss.on("error", (error) => options.onError?.(`job queue: ${errorLine(error)}`));
    try {
      await boss.start();
    } catch (error) {
      await boss.stop({ graceful: false, wait: false }).catch(() => undefined);
      throw new StowawayError(
        `cannot start the job queue on ${redactedUrl(url)} (${errorLine(error)}); check the store URL and that the user may create a schema`,
      );
    }
    const queue = new PostgresQueue(boss, options);
    const existing = await boss.getQueue(QUEUE_NAME);
    if (!existing) {
      await boss.createQueue(QUEUE_NAME, queue.queueOptions()).catch(async (error: unknown) => {
        // Another process created it meanwhile: fine.
        if (!(await boss.getQueue(QUEUE_NAME))) throw error;
      });
    }
    return queue;
  }

  private queueOptions(): PgBoss.Queue {
    return {
      name: QUEUE_NAME,
      retryLimit: this.retry.maxAttempts - 1,
      retryDelay: this.retry.retryDelaySeconds,
      retryBackoff: true,
      expireInSeconds: this.retry.expireSeconds,
    };
  }

  async submit<K extends JobKind>(kind: K, payload: JobPayloads[K]): Promise<string> {
    const { name: _name, ...options } = this.queueOptions();
    const id = await this.boss.send(QUEUE_NAME, { kind, payload } satisfies JobData, options);
    if (!id) throw new StowawayError("the job queue refused the job; retry the request");
    return id;
  }

  async get(id: string): Promise<JobStatus | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const job = (await this.boss.getJobById(QUEUE_NAME, id, { includeArchive: true })) as BossJob | null;
    if (!job) return undefined;
    const state = stateOf(job.state);
    const attempts = job.retryCount + (job.state === "created" || job.state === "retry" ? 0 : 1);
    const output = job.output && typeof job.output === "object" ? (job.output as Record<string, unknown>) : undefined;
    const finished = job.state === "completed" || job.state === "failed" || job.state === "cancelled";
    const failure = state === "failed" || state === "retrying" ? failureMessage(output) : undefined;
    return {
      id: job.id,
      kind: job.data.kind,
      state,
      attempts,
      createdAt: iso(job.createdOn)!,
      ...(iso(job.startedOn) ? { startedAt: iso(job.startedOn)! } : {}),
      ...(finished && iso(job.completedOn) ? { finishedAt: iso(job.completedOn)! } : {}),
      ...(state === "succeeded" && output ? { output } : {}),
      ...(failure ? { error: failure } : {}),
    };
  }

  async work(handler: JobHandler, options: { concurrency?: number } = {}): Promise<void> {
    const concurrency = Math.max(1, options.concurrency ?? 1);
    // pg-boss runs one batch at a time per worker: N workers of batch 1 run N jobs at once.
    for (let slot = 0; slot < concurrency; slot += 1) {
      const id = await this.boss.work<JobData>(
        QUEUE_NAME,
        { batchSize: 1, pollingIntervalSeconds: this.options.pollingSeconds ?? 2, includeMetadata: true },
        async ([job]) => {
          if (!job) return undefined;
          // Throwing fails the attempt: pg-boss retries it after the back-off, then marks it failed.
          return handler({ id: job.id, kind: job.data.kind, payload: job.data.payload, attempt: job.retryCount + 1 });
        },
      );
      this.workers.push(id);
    }
  }

  async counts(): Promise<Partial<Record<JobState, number>>> {
    const schema = this.options.schema ?? "pgboss";
    const { rows } = await this.boss
      .getDb()
      .executeSql(`SELECT state, count(*)::int AS n FROM ${schema}.job WHERE name = $1 GROUP BY state`, [QUEUE_NAME]);
    const counts: Partial<Record<JobState, number>> = {};
    for (const row of rows as { state: BossJob["state"]; n: number }[]) {
      const state = stateOf(row.state);
      counts[state] = (counts[state] ?? 0) + Number(row.n);
    }
    return counts;
  }

  async ready(): Promise<boolean> {
    await this.boss.getDb().executeSql("SELECT 1", []);
    return true;
  }

  async stop(): Promise<void> {
    await this.boss.stop({ graceful: true, wait: true, timeout: 10_000 }).catch(() => undefined);
  }
}

function stateOf(state: BossJob["state"]): JobState {
  switch (state) {
    case "created":
      return "queued";
    case "retry":
      return "retrying";
    case "active":
      return "running";
    case "completed":
      return "succeeded";
    default:
      return "failed";
  }
}

/** pg-boss keeps a failed attempt's error as `{ message, ... }` or `{ value: { message } }`. */
function failureMessage(output: Record<string, unknown> | undefined): string | undefined {
  if (!output) return undefined;
  const inner = (output["value"] as Record<string, unknown> | undefined) ?? output;
  return typeof inner["message"] === "string" ? errorLine(inner["message"]) : undefined;
}
