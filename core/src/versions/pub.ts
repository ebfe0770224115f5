import { InvalidVersionError } from "./errors.js";
import { comparePrerelease } from "./go.js";
import { compareDigits, makeComparator } from "./types.js";

interface PubVersion {
  readonly core: readonly [string, string, string];
  readonly prerelease: readonly string[];
  readonly build: readonly string[];
}

const IDENT = "[0-9A-Za-z-]+";
const PATTERN = new RegExp(
  `^v?([0-9]+)\\.([0-9]+)\\.([0-9]+)(?:-(${IDENT}(?:\\.${IDENT})*))?(?:\\+(${IDENT}(?:\\.${IDENT})*))?$`,
);

/** Dart pub_semver: SemVer, except that build metadata also orders (1.0.0 < 1.0.0+1). */
export function parsePubVersion(version: string): PubVersion {
  const m = PATTERN.exec(version);
  if (!m) throw new InvalidVersionError("Pub", version, "not a SemVer version");
  return {
    core: [m[1]!, m[2]!, m[3]!],
    prerelease: m[4]?.split(".") ?? [],
    build: m[5]?.split(".") ?? [],
  };
}

export function comparePubParsed(a: PubVersion, b: PubVersion): number {
  for (let i = 0; i < 3; i++) {
    const d = compareDigits(a.core[i]!, b.core[i]!);
    if (d !== 0) return d;
  }
  const p = comparePrerelease(a.prerelease, b.prerelease);
  if (p !== 0) return p;
  // A build suffix sorts after the plain version; between builds, prerelease-style rules apply.
  if (a.build.length === 0 || b.build.length === 0) return Math.sign(a.build.length - b.build.length);
  return comparePrerelease(a.build, b.build);
}

export const pubComparator = makeComparator("Pub", parsePubVersion, comparePubParsed);
