/** What a job does; each kind is one call into core (scan, registry inventory, rescan). */
export type JobKind = "scan" | "registry-scan" | "rescan";

export const JOB_KINDS: readonly JobKind[] = ["scan", "registry-scan", "rescan"];

export interface ScanJobPayload {
  /** An image reference (`registry/repo:tag`, `oci-archive:path` ...) the worker can reach. */
  reference?: string;
  /** An uploaded CycloneDX or SPDX JSON SBOM, as text. */
  sbom?: string;
  /** Plain HTTP / unverified TLS for the image's registry. */
  insecure?: boolean;
}

export interface RegistryScanJobPayload {
  registryId: string;
}

export type RescanJobPayload = Record<string, never>;

export interface JobPayloads {
  scan: ScanJobPayload;
  "registry-scan": RegistryScanJobPayload;
  rescan: RescanJobPayload;
}

/** States as the API shows them, whichever queue runs the job. */
export type JobState = "queued" | "running" | "retrying" | "succeeded" | "failed";

export interface JobStatus {
  id: string;
  kind: JobKind;
  state: JobState;
  /** Attempts started so far (1 on the first run). */
  attempts: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** What the job produced (digest and verdict of a scan, a run summary ...). */
  output?: Record<string, unknown>;
  /** Why the last attempt failed, one line. */
  error?: string;
}

export interface QueuedJob {
  id: string;
  kind: JobKind;
  payload: unknown;
  attempt: number;
}

export type JobHandler = (job: QueuedJob) => Promise<Record<string, unknown>>;

export interface RetryPolicy {
  /** Attempts in all, the first included (default 3). */
  maxAttempts: number;
  /** Delay before the first retry in seconds, doubled each further retry (default 5). */
  retryDelaySeconds: number;
  /**
   * A running job not finished within this many seconds is taken as lost (its worker died) and
   * retried (default 1800; PostgreSQL queue only: the in-process queue resumes jobs at restart).
   */
  expireSeconds: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, retryDelaySeconds: 5, expireSeconds: 1800 };

/** The queue both front ends use: the API submits and reads, workers take and run jobs. */
export interface JobQueue {
  readonly kind: "postgres" | "in-process";
  submit<K extends JobKind>(kind: K, payload: JobPayloads[K]): Promise<string>;
  get(id: string): Promise<JobStatus | undefined>;
  /** Starts taking jobs, up to `concurrency` at once, until `stop`. */
  work(handler: JobHandler, options?: { concurrency?: number }): Promise<void>;
  /** Jobs per state, for /metrics. */
  counts(): Promise<Partial<Record<JobState, number>>>;
  /** True when the queue's database answers (readiness). */
  ready(): Promise<boolean>;
  stop(): Promise<void>;
}

/** One line from any error, for job records and logs (the caller neutralises before logging). */
export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!.slice(0, 500);
}
