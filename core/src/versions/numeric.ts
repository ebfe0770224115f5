import { InvalidVersionError } from "./errors.js";
import { compareDigits, makeComparator } from "./types.js";

/** Lexicographic order on lists of unbounded naturals; a proper prefix sorts first. */
function compareNumberLists(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = compareDigits(a[i]!, b[i]!);
    if (d !== 0) return d;
  }
  return Math.sign(a.length - b.length);
}

/** Hackage (Cabal Data.Version): dot-separated naturals, so 1.0 < 1.0.0. */
export const hackageComparator = makeComparator(
  "Hackage",
  (v: string) => {
    if (!/^[0-9]+(?:\.[0-9]+)*$/.test(v)) throw new InvalidVersionError("Hackage", v, "not dot-separated numbers");
    return v.split(".");
  },
  compareNumberLists,
);

/** CRAN (R package_version): naturals separated by '.' or '-', compared as lists. */
export const cranComparator = makeComparator(
  "CRAN",
  (v: string) => {
    if (!/^[0-9]+(?:[.-][0-9]+)*$/.test(v)) throw new InvalidVersionError("CRAN", v, "not '.'/'-'-separated numbers");
    return v.split(/[.-]/);
  },
  compareNumberLists,
);
