import { isPostgresUrl } from "../store/index.js";
import type { ServiceState } from "../store/service-state.js";
import { InProcessQueue, type InProcessQueueOptions } from "./in-process.js";
import { PostgresQueue, type PostgresQueueOptions } from "./postgres.js";
import type { JobQueue } from "./types.js";

export * from "./types.js";
export { InProcessQueue, type InProcessQueueOptions } from "./in-process.js";
export { PostgresQueue, QUEUE_NAME, type PostgresQueueOptions } from "./postgres.js";
export { Scheduler, cronProblem, nextOccurrence, dueOccurrence, type SchedulerOptions } from "./schedules.js";
export { createJobRunner, type JobRunnerOptions } from "./run.js";

/** The queue that fits the store: pg-boss on a PostgreSQL store, the in-process queue on SQLite. */
export async function openQueue(
  storeSpec: string,
  state: ServiceState,
  options: PostgresQueueOptions & InProcessQueueOptions = {},
): Promise<JobQueue> {
  if (isPostgresUrl(storeSpec)) return PostgresQueue.open(storeSpec, options);
  return new InProcessQueue(state, options);
}
