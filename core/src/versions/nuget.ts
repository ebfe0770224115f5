import { InvalidVersionError } from "./errors.js";
import { comparePrerelease } from "./go.js";
import { compareDigits, makeComparator } from "./types.js";

export interface NugetVersion {
  readonly release: readonly string[];
  readonly prerelease: readonly string[];
}

const IDENT = "[0-9A-Za-z-]+";
const PATTERN = new RegExp(
  `^([0-9]+(?:\\.[0-9]+){0,3})(?:-(${IDENT}(?:\\.${IDENT})*))?(?:\\+(${IDENT}(?:\\.${IDENT})*))?$`,
);

/**
 * NuGet.Versioning: one to four numeric parts (legacy System.Version style, leading zeros
 * allowed, missing parts are 0), SemVer 2 prerelease labels compared case-insensitively, build
 * metadata ignored. Numbers are unbounded rather than capped at Int32, so an out-of-range part
 * orders by value instead of failing.
 */
export function parseNugetVersion(version: string): NugetVersion {
  const m = PATTERN.exec(version.trim());
  if (!m) throw new InvalidVersionError("NuGet", version, "not a NuGet version");
  const release = m[1]!.split(".");
  while (release.length < 4) release.push("0");
  return { release, prerelease: m[2] === undefined ? [] : m[2].toLowerCase().split(".") };
}

export function compareNugetParsed(a: NugetVersion, b: NugetVersion): number {
  for (let i = 0; i < 4; i++) {
    const d = compareDigits(a.release[i]!, b.release[i]!);
    if (d !== 0) return d;
  }
  return comparePrerelease(a.prerelease, b.prerelease);
}

export const nugetComparator = makeComparator("NuGet", parseNugetVersion, compareNugetParsed);
