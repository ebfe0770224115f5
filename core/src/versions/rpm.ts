import { InvalidVersionError } from "./errors.js";
import { compareDigits, compareStrings, makeComparator } from "./types.js";

/**
 * An rpm EVR. `epoch` and `release` stay undefined when absent, because "no epoch" and "epoch 0"
 * are different facts about a package; only the comparison treats a missing epoch as 0.
 */
export interface RpmVersion {
  readonly epoch?: string;
  readonly version: string;
  readonly release?: string;
}

/**
 * Splits like rpm's parseEVR: an epoch is only a run of leading digits ended by ':', and the
 * release follows the last '-'. Anything else (including other colons) stays in the version.
 */
export function parseRpmVersion(evr: string): RpmVersion {
  const bad = (reason: string) => new InvalidVersionError("rpm", evr, reason);
  if (evr.length === 0) throw bad("version string is empty");
  // rpm header tags cannot carry whitespace or control characters in an EVR.
  if (/[\s\p{Cc}]/u.test(evr)) throw bad("contains whitespace or control characters");
  const m = /^([0-9]*):/.exec(evr);
  const epoch = m ? m[1] || "0" : undefined;
  const rest = m ? evr.slice(m[0].length) : evr;
  const hyphen = rest.lastIndexOf("-");
  const version = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const release = hyphen >= 0 ? rest.slice(hyphen + 1) : undefined;
  if (version.length === 0) throw bad("version part is empty");
  return epoch === undefined
    ? release === undefined
      ? { version }
      : { version, release }
    : { epoch, version, release };
}

const isAlnum = (c: string) => /^[A-Za-z0-9]$/.test(c);
const isDigitChar = (c: string) => c >= "0" && c <= "9";
const isAlpha = (c: string) => /^[A-Za-z]$/.test(c);

/**
 * rpmvercmp: only ASCII letters and digits form segments, everything else separates them (so
 * non-ASCII text compares equal); '~' sorts before anything, even the end of the string, and '^'
 * sorts after the end but before any further segment.
 */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const skip = (s: string, k: number) => {
    while (k < s.length && !isAlnum(s[k]!) && s[k] !== "~" && s[k] !== "^") k++;
    return k;
  };
  while (i < a.length || j < b.length) {
    i = skip(a, i);
    j = skip(b, j);
    const ca = a[i];
    const cb = b[j];
    if (ca === "~" || cb === "~") {
      if (ca !== "~") return 1;
      if (cb !== "~") return -1;
      i++;
      j++;
      continue;
    }
    if (ca === "^" || cb === "^") {
      if (ca === undefined) return -1;
      if (cb === undefined) return 1;
      if (ca !== "^") return 1;
      if (cb !== "^") return -1;
      i++;
      j++;
      continue;
    }
    if (ca === undefined || cb === undefined) break;
    const numeric = isDigitChar(ca);
    const inSeg = numeric ? isDigitChar : isAlpha;
    const si = i;
    const sj = j;
    while (i < a.length && inSeg(a[i]!)) i++;
    while (j < b.length && inSeg(b[j]!)) j++;
    // A segment of the other kind on the right: numbers are newer than letters.
    if (j === sj) return numeric ? 1 : -1;
    const segA = a.slice(si, i);
    const segB = b.slice(sj, j);
    const d = numeric ? compareDigits(segA, segB) : compareStrings(segA, segB);
    if (d !== 0) return d;
  }
  const endA = i >= a.length;
  const endB = j >= b.length;
  if (endA && endB) return 0;
  return endA ? -1 : 1;
}

/** rpm's labelCompare: a missing epoch counts as 0; a missing release sorts before any release. */
export function compareRpmParsed(a: RpmVersion, b: RpmVersion): number {
  const e = rpmvercmp(a.epoch ?? "0", b.epoch ?? "0");
  if (e !== 0) return e;
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0) return v;
  if (a.release === undefined || b.release === undefined) {
    if (a.release === b.release) return 0;
    return a.release === undefined ? -1 : 1;
  }
  return rpmvercmp(a.release, b.release);
}

export const rpmComparator = makeComparator("rpm", parseRpmVersion, compareRpmParsed);
