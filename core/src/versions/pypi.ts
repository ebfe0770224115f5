import { compare, valid } from "@renovatebot/pep440";
import { InvalidVersionError } from "./errors.js";
import { makeComparator } from "./types.js";

/**
 * PEP 440 via @renovatebot/pep440. Surrounding whitespace is ignored as packaging.version does;
 * non-PEP 440 ("legacy") versions are rejected, as packaging >= 22 and pip do.
 */
export function parsePypiVersion(version: string): string {
  const v = version.trim();
  if (valid(v) === null) throw new InvalidVersionError("PyPI", version, "not a PEP 440 version");
  return v;
}

export const pypiComparator = makeComparator("PyPI", parsePypiVersion, (a: string, b: string) => compare(a, b));
