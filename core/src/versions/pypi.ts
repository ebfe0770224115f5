import type * as Pep440 from "@renovatebot/pep440";
import { InvalidVersionError } from "./errors.js";
import { makeComparator } from "./types.js";
import { lazyDependency } from "../lazy-dependency.js";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see lazyDependency
const pep440 = lazyDependency<typeof Pep440>("@renovatebot/pep440", () => require("@renovatebot/pep440"));

/**
 * PEP 440 via @renovatebot/pep440. Surrounding whitespace is ignored as packaging.version does;
 * non-PEP 440 ("legacy") versions are rejected, as packaging >= 22 and pip do.
 */
export function parsePypiVersion(version: string): string {
  const v = version.trim();
  if (pep440().valid(v) === null) throw new InvalidVersionError("PyPI", version, "not a PEP 440 version");
  return v;
}

export const pypiComparator = makeComparator("PyPI", parsePypiVersion, (a: string, b: string) =>
  pep440().compare(a, b),
);
