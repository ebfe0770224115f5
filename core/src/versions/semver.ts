import type semverModule from "semver";
import { InvalidVersionError } from "./errors.js";
import { makeComparator } from "./types.js";
import { lazyDependency } from "../lazy-dependency.js";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see lazyDependency
const semver = lazyDependency<typeof semverModule>("semver", () => require("semver"));

/**
 * SemVer 2.0 precedence through node-semver in strict mode (a leading "v" is tolerated, as npm
 * does). Strict, because loose parsing would accept strings npm itself refuses to publish.
 */
export function makeSemverComparator(ecosystem: string) {
  return makeComparator(
    "semver",
    (v: string) => {
      const parsed = semver().parse(v, { loose: false });
      if (parsed === null) throw new InvalidVersionError(ecosystem, v, "not a SemVer 2.0 version");
      return parsed;
    },
    (a: semverModule.SemVer, b: semverModule.SemVer) => a.compare(b),
  );
}

export const npmComparator = makeSemverComparator("npm");
