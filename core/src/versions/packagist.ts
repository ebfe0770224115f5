import { InvalidVersionError } from "./errors.js";
import { compareDigits, makeComparator } from "./types.js";

// PHP version_compare special forms; a part is ranked by the first form it starts with, and a
// number ranks like "#". Unknown words rank below "dev".
const SPECIAL_FORMS: readonly (readonly [string, number])[] = [
  ["dev", 0],
  ["alpha", 1],
  ["a", 1],
  ["beta", 2],
  ["b", 2],
  ["RC", 3],
  ["rc", 3],
  ["#", 4],
  ["pl", 5],
  ["p", 5],
];
const NUMBER_RANK = 4;

function rank(part: string): number {
  if (/^[0-9]/.test(part)) return NUMBER_RANK;
  return SPECIAL_FORMS.find(([form]) => part.startsWith(form))?.[1] ?? -1;
}

/**
 * PHP's canonical form, as OSV compares Packagist versions: a leading v/V is dropped, '-', '_',
 * '+' and other symbols become '.', and a '.' is inserted wherever digits meet letters.
 */
export function parsePackagistVersion(version: string): string[] {
  if (version.length === 0 || /[\s\p{Cc}]/u.test(version)) {
    throw new InvalidVersionError("Packagist", version, "empty or contains whitespace/control characters");
  }
  const s = version.replace(/^[vV]/, "");
  const parts = s.match(/[0-9]+|[^0-9.\-_+]+/g);
  if (parts === null) throw new InvalidVersionError("Packagist", version, "has no version parts");
  return parts.flatMap((p) => (/^[0-9]/.test(p) ? [p] : p.split(/[^A-Za-z0-9#]+/).filter((x) => x !== "")));
}

function comparePart(a: string, b: string): number {
  const na = /^[0-9]/.test(a);
  const nb = /^[0-9]/.test(b);
  if (na && nb) return compareDigits(a, b);
  return Math.sign(rank(a) - rank(b));
}

export function comparePackagistParsed(a: string[], b: string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = comparePart(a[i]!, b[i]!);
    if (d !== 0) return d;
  }
  // The longer version wins if its next part is a number; otherwise its words are ranked
  // against a bare release ("#").
  const longer = a.length > b.length ? a : b;
  const flip = a.length > b.length ? 1 : -1;
  for (let i = n; i < longer.length; i++) {
    const d = comparePart(longer[i]!, "#");
    if (/^[0-9]/.test(longer[i]!)) return flip;
    if (d !== 0) return flip * d;
  }
  return 0;
}

export const packagistComparator = makeComparator("Packagist", parsePackagistVersion, comparePackagistParsed);
