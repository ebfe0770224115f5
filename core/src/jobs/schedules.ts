import cronParser from "cron-parser";
import type { ServiceState } from "../store/service-state.js";
import { errorLine, type JobQueue } from "./types.js";

/** Why `cron` is not a five-field UTC cron expression, or undefined when it is. */
export function cronProblem(cron: string): string | undefined {
  if (cron.trim().split(/\s+/).length !== 5) return "must have five fields (minute hour day-of-month month weekday)";
  try {
    cronParser.parseExpression(cron, { utc: true });
    return undefined;
  } catch (error) {
    return errorLine(error);
  }
}

/** The first occurrence of `cron` strictly after `after` (UTC). */
export function nextOccurrence(cron: string, after: Date): Date {
  return cronParser.parseExpression(cron, { utc: true, currentDate: after }).next().toDate();
}

/** The latest occurrence after `lastFired` that is due at `now`, or undefined when none is due. */
export function dueOccurrence(cron: string, lastFired: Date, now: Date): Date | undefined {
  let due: Date | undefined;
  let next = nextOccurrence(cron, lastFired);
  // Missed occurrences (the service was down) collapse into one job, the latest.
  while (next.getTime() <= now.getTime()) {
    due = next;
    next = nextOccurrence(cron, next);
  }
  return due;
}

export interface SchedulerOptions {
  /** How often schedules are checked (default 30 s). */
  intervalMs?: number;
  now?: () => Date;
  /** One line per submitted or failed schedule (the caller neutralises). */
  log?: (line: string) => void;
}

/**
 * Turns due schedules into jobs. Every worker process runs one; a compare-and-set on the
 * schedule's `lastFired` lets exactly one of them submit each occurrence, whichever queue is used.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly state: ServiceState,
    private readonly queue: JobQueue,
    private readonly options: SchedulerOptions = {},
  ) {}

  start(): void {
    const interval = this.options.intervalMs ?? 30_000;
    const loop = (): void => {
      this.ticking = this.tick().then(
        () => {
          this.ticking = undefined;
        },
        () => {
          this.ticking = undefined;
        },
      );
      this.timer = setTimeout(loop, interval);
    };
    loop();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  /** Submits one job for every schedule with a due occurrence; returns the job ids. */
  async tick(): Promise<string[]> {
    const now = (this.options.now ?? (() => new Date()))();
    const submitted: string[] = [];
    for (const schedule of await this.state.listSchedules()) {
      if (!schedule.enabled) continue;
      try {
        const due = dueOccurrence(schedule.cron, new Date(schedule.lastFired), now);
        if (!due) continue;
        if (!(await this.state.claimSchedule(schedule.id, schedule.lastFired, due.toISOString()))) continue;
        const id =
          schedule.kind === "registry-scan"
            ? await this.queue.submit("registry-scan", { registryId: schedule.registryId ?? "" })
            : await this.queue.submit("rescan", {});
        submitted.push(id);
        this.options.log?.(`schedule ${schedule.id}: submitted ${schedule.kind} job ${id}`);
      } catch (error) {
        this.options.log?.(`schedule ${schedule.id}: ${errorLine(error)}`);
      }
    }
    return submitted;
  }
}
