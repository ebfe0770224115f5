import { StowawayError } from "../../errors.js";
import type { RegistryTimeouts } from "../types.js";

/**
 * Defaults chosen so that a healthy registry never trips them while a stalled one fails a scan
 * within about a minute instead of several: connecting is quick or broken, a registry that has
 * not started answering in 30 s is stuck, and 30 s without a body byte is a dead transfer.
 */
export const DEFAULT_REGISTRY_TIMEOUTS: Required<RegistryTimeouts> = {
  connectMs: 10_000,
  firstByteMs: 30_000,
  idleMs: 30_000,
};

/** The timeouts in effect: each given value, else its default. */
export function resolveTimeouts(timeouts: RegistryTimeouts | undefined): Required<RegistryTimeouts> {
  return {
    connectMs: timeouts?.connectMs ?? DEFAULT_REGISTRY_TIMEOUTS.connectMs,
    firstByteMs: timeouts?.firstByteMs ?? DEFAULT_REGISTRY_TIMEOUTS.firstByteMs,
    idleMs: timeouts?.idleMs ?? DEFAULT_REGISTRY_TIMEOUTS.idleMs,
  };
}

/** "30 s", "0.25 s": how the timeouts are named in messages (the flags take seconds). */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** The names of the three timeouts as flags, inputs and environment variables. */
export const TIMEOUT_SETTINGS = [
  { key: "connectMs", name: "timeout-connect", env: "STOWAWAY_TIMEOUT_CONNECT" },
  { key: "firstByteMs", name: "timeout-first-byte", env: "STOWAWAY_TIMEOUT_FIRST_BYTE" },
  { key: "idleMs", name: "timeout-idle", env: "STOWAWAY_TIMEOUT_IDLE" },
] as const;

/**
 * Parses a timeout given in seconds (decimals allowed) by a flag, input or environment
 * variable named `name`; blank means "not given".
 */
export function parseTimeoutSeconds(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const text = value.trim().replace(/s$/i, "").trim();
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw new StowawayError(`${name}: "${value}" is not a number of seconds between 0 and 3600 (e.g. 30 or 2.5)`);
  }
  return Math.round(seconds * 1000);
}

/**
 * The timeouts named by `get` (a flag, input or environment getter keyed by the hyphenated
 * names above), with only the ones given set.
 */
export function timeoutsFrom(
  get: (name: string) => string | undefined,
  label: (name: string) => string = (name) => name,
): RegistryTimeouts | undefined {
  const timeouts: RegistryTimeouts = {};
  for (const setting of TIMEOUT_SETTINGS) {
    const ms = parseTimeoutSeconds(label(setting.name), get(setting.name));
    if (ms !== undefined) timeouts[setting.key] = ms;
  }
  return Object.keys(timeouts).length > 0 ? timeouts : undefined;
}
