const DAY_MS = 86_400_000;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Midnight UTC at the start of a YYYY-MM-DD day, or undefined when it is not a real date. */
export function parseDay(text: string): number | undefined {
  const match = DAY.exec(text.trim());
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const time = Date.UTC(year, month - 1, day);
  const check = new Date(time);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    return undefined;
  }
  return time;
}

/**
 * An exception that expires on D applies through the whole of D (UTC) and stops at the next
 * midnight: people write the last day they accept, not the first day they do not.
 */
export function isExpired(expires: string, now: Date): boolean {
  const start = parseDay(expires);
  return start === undefined || now.getTime() >= start + DAY_MS;
}

/** Whole days from today (UTC) to the expiry day: 0 on the day itself. */
export function daysUntil(expires: string, now: Date): number {
  const start = parseDay(expires) ?? 0;
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Math.round((start - today) / DAY_MS);
}

/** Fractional days between an ISO timestamp and now; undefined when the timestamp does not parse. */
export function ageInDays(timestamp: string | undefined, now: Date): number | undefined {
  if (!timestamp) return undefined;
  const time = Date.parse(timestamp);
  return Number.isNaN(time) ? undefined : (now.getTime() - time) / DAY_MS;
}
