import { StowawayError } from "../errors.js";

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "90m", "12h", "7d", "2w" (one number, one unit) in milliseconds. */
export function parseDuration(text: string, flag = "--since"): number {
  const match = /^\s*(\d+)\s*([smhdw])\s*$/.exec(text);
  if (!match) {
    throw new StowawayError(`${flag} "${text}" is not a duration; use a number and a unit: 30m, 12h, 7d or 2w`);
  }
  return Number(match[1]) * UNITS[match[2]!]!;
}
