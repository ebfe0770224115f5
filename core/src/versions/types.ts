/**
 * One ecosystem's version ordering. `parse` does the validation and any expensive splitting once,
 * so range evaluation can sort many events without re-parsing; `compare` is the convenience form.
 */
export interface VersionComparator<P = unknown> {
  /** Comparator family, e.g. "dpkg", "rpm", "PyPI". */
  readonly name: string;
  /** Throws InvalidVersionError when the ecosystem's own tool would reject `version`. */
  parse(version: string): P;
  compareParsed(a: P, b: P): number;
  /** <0, 0 or >0; throws InvalidVersionError for either operand that does not parse. */
  compare(a: string, b: string): number;
  isValid(version: string): boolean;
  /**
   * `parse` without the cache of parsed strings, for one-off passes over a whole corpus (the database
   * build) that would otherwise fill the cache with versions no scan compares again.
   */
  parseUncached?(version: string): P;
}

/** Builds the string-level methods from parse/compareParsed so every module behaves the same. */
const PARSED_KEPT = 50_000;

export function makeComparator<P>(
  name: string,
  parse: (version: string) => P,
  compareParsed: (a: P, b: P) => number,
): VersionComparator<P> {
  // Matching compares the same installed and fixed versions over and over (every record of a package,
  // every image of a rescan): each distinct string is parsed once. Parsed versions are never mutated.
  const known = new Map<string, { parsed: P } | { error: unknown }>();
  const parseCached = (version: string): P => {
    let entry = known.get(version);
    if (!entry) {
      try {
        entry = { parsed: parse(version) };
      } catch (error) {
        entry = { error };
      }
      if (known.size >= PARSED_KEPT) known.clear();
      known.set(version, entry);
    }
    if ("error" in entry) throw entry.error;
    return entry.parsed;
  };
  return {
    name,
    parse: parseCached,
    parseUncached: parse,
    compareParsed,
    compare: (a, b) => compareParsed(parseCached(a), parseCached(b)),
    isValid(version) {
      try {
        parseCached(version);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Arbitrary-length decimal digit strings, so 30-digit components (seen in real corpora) never lose precision. */
export function compareDigits(a: string, b: string): number {
  // Leading zeros skipped by index rather than stripped into new strings: matching calls this for
  // every numeric component of every comparison.
  let i = 0;
  while (i < a.length && a.charCodeAt(i) === 48) i++;
  let j = 0;
  while (j < b.length && b.charCodeAt(j) === 48) j++;
  const length = a.length - i;
  if (length !== b.length - j) return length < b.length - j ? -1 : 1;
  for (let k = 0; k < length; k++) {
    const x = a.charCodeAt(i + k);
    const y = b.charCodeAt(j + k);
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Ordinal comparison of code units; localeCompare would make the order depend on the host locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
