import { randomUUID } from "node:crypto";
import type { ServiceState, StoredJob } from "../store/service-state.js";
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

export interface InProcessQueueOptions {
  retry?: Partial<RetryPolicy>;
  /** How often idle workers look for due jobs (default 250 ms). */
  pollMs?: number;
  now?: () => Date;
}

/**
 * The queue for SQLite stores: jobs live in the store's `jobs` table (written through at every
 * change), so a restart resumes what was queued and re-runs what was running. One process only:
 * a SQLite store has one writer (the PostgreSQL queue is the one for several workers).
 */
export class InProcessQueue implements JobQueue {
  readonly kind = "in-process";
  private readonly retry: RetryPolicy;
  private readonly pollMs: number;
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private running = 0;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly state: ServiceState,
    options: InProcessQueueOptions = {},
  ) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.pollMs = options.pollMs ?? 250;
    this.now = options.now ?? (() => new Date());
  }

  async submit<K extends JobKind>(kind: K, payload: JobPayloads[K]): Promise<string> {
    const now = this.now().toISOString();
    const id = randomUUID();
    await this.state.insertJob({
      id,
      kind,
      payload,
      state: "queued",
      attempts: 0,
      maxAttempts: this.retry.maxAttempts,
      runAfter: now,
      createdAt: now,
    });
    this.poke();
    return id;
  }

  async get(id: string): Promise<JobStatus | undefined> {
    const job = await this.state.getJob(id);
    return job ? statusOf(job) : undefined;
  }

  async work(handler: JobHandler, options: { concurrency?: number } = {}): Promise<void> {
    const concurrency = Math.max(1, options.concurrency ?? 1);
    // Jobs a previous process left running never finished: they run again.
    await this.state.requeueRunningJobs(this.now().toISOString());
    this.stopped = false;
    const tick = (): void => {
      if (this.stopped) return;
      void this.fill(handler, concurrency).finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.pollMs);
      });
    };
    this.handler = handler;
    this.concurrency = concurrency;
    tick();
  }

  async counts(): Promise<Partial<Record<JobState, number>>> {
    const counts = await this.state.jobCounts();
    const result: Partial<Record<JobState, number>> = {};
    for (const [state, count] of Object.entries(counts)) {
      const shown = state as JobState;
      result[shown] = (result[shown] ?? 0) + count;
    }
    return result;
  }

  async ready(): Promise<boolean> {
    await this.state.jobCounts();
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  private handler: JobHandler | undefined;
  private concurrency = 1;

  /** A new job starts at once when a worker slot is free, without waiting for the next poll. */
  private poke(): void {
    if (this.handler && !this.stopped) void this.fill(this.handler, this.concurrency);
  }

  private async fill(handler: JobHandler, concurrency: number): Promise<void> {
    while (!this.stopped && this.running < concurrency) {
      this.running += 1;
      let job: StoredJob | undefined;
      try {
        job = await this.state.claimJob(this.now().toISOString());
      } finally {
        if (!job) this.running -= 1;
      }
      if (!job) return;
      const run = this.execute(handler, job).finally(() => {
        this.running -= 1;
        this.inFlight.delete(run);
        this.poke();
      });
      this.inFlight.add(run);
    }
  }

  private async execute(handler: JobHandler, job: StoredJob): Promise<void> {
    try {
      const output = await handler({
        id: job.id,
        kind: job.kind as JobKind,
        payload: job.payload,
        attempt: job.attempts,
      });
      await this.state.updateJob({ ...job, state: "succeeded", finishedAt: this.now().toISOString(), output });
    } catch (error) {
      const message = errorLine(error);
      if (job.attempts < job.maxAttempts) {
        // Exponential back-off: delay, 2 x delay, 4 x delay ...
        const delayMs = this.retry.retryDelaySeconds * 1000 * 2 ** (job.attempts - 1);
        await this.state.updateJob({
          ...job,
          state: "queued",
          runAfter: new Date(this.now().getTime() + delayMs).toISOString(),
          error: message,
        });
      } else {
        await this.state.updateJob({ ...job, state: "failed", finishedAt: this.now().toISOString(), error: message });
      }
    }
  }
}

function statusOf(job: StoredJob): JobStatus {
  const state: JobState = job.state === "queued" && job.attempts > 0 ? "retrying" : job.state;
  return {
    id: job.id,
    kind: job.kind as JobKind,
    state,
    attempts: job.attempts,
    createdAt: job.createdAt,
    ...(job.startedAt ? { startedAt: job.startedAt } : {}),
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    ...(job.output && typeof job.output === "object" ? { output: job.output as Record<string, unknown> } : {}),
    ...(job.error ? { error: job.error } : {}),
  };
}
