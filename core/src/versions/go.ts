import { InvalidVersionError } from "./errors.js";
import { compareDigits, compareStrings, makeComparator } from "./types.js";

export interface GoVersion {
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  readonly prerelease: readonly string[];
  readonly build: string;
}

const NUM = "0|[1-9][0-9]*";
const IDENT = "[0-9A-Za-z-]+";
// golang.org/x/mod/semver accepts the shorthands vMAJOR and vMAJOR.MINOR, but only without a
// prerelease or build suffix.
const FULL = new RegExp(
  `^(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${IDENT}(?:\\.${IDENT})*))?(?:\\+(${IDENT}(?:\\.${IDENT})*))?$`,
);
const SHORT = new RegExp(`^(${NUM})(?:\\.(${NUM}))?$`);

/**
 * Go module versions. OSV's Go ecosystem writes them without the "v" that go.mod uses, so both
 * spellings are accepted. Pseudo-versions are ordinary prereleases and `+incompatible` is build
 * metadata, so neither needs special casing to order correctly.
 */
export function parseGoVersion(version: string): GoVersion {
  const v = version.startsWith("v") ? version.slice(1) : version;
  const full = FULL.exec(v);
  if (full) {
    const prerelease = full[4] === undefined ? [] : full[4].split(".");
    if (prerelease.some((id) => /^0[0-9]+$/.test(id))) {
      throw new InvalidVersionError("Go", version, "numeric prerelease identifier has a leading zero");
    }
    return { major: full[1]!, minor: full[2]!, patch: full[3]!, prerelease, build: full[5] ?? "" };
  }
  const short = SHORT.exec(v);
  if (short) return { major: short[1]!, minor: short[2] ?? "0", patch: "0", prerelease: [], build: "" };
  throw new InvalidVersionError("Go", version, "not a Go module semantic version");
}

const isNumeric = (s: string) => /^[0-9]+$/.test(s);

/** SemVer 2.0 prerelease precedence; numbers are unbounded, unlike node-semver. */
export function comparePrerelease(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    const nx = isNumeric(x);
    const ny = isNumeric(y);
    if (nx && ny) {
      const d = compareDigits(x, y);
      if (d !== 0) return d;
      continue;
    }
    if (nx !== ny) return nx ? -1 : 1;
    return compareStrings(x, y);
  }
  return Math.sign(a.length - b.length);
}

export function compareGoParsed(a: GoVersion, b: GoVersion): number {
  return (
    compareDigits(a.major, b.major) ||
    compareDigits(a.minor, b.minor) ||
    compareDigits(a.patch, b.patch) ||
    comparePrerelease(a.prerelease, b.prerelease)
  );
}

export const goComparator = makeComparator("Go", parseGoVersion, compareGoParsed);
