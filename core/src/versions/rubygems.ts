import { InvalidVersionError } from "./errors.js";
import { compareDigits, compareStrings, makeComparator } from "./types.js";

type Segment = string | { n: string };

// Gem::Version::ANCHORED_VERSION_PATTERN (surrounding whitespace allowed, blank means "0").
const PATTERN = /^\s*([0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?\s*$/;

/**
 * Gem::Version canonical segments: '-' means ".pre.", digits and letter runs are separate
 * segments, and trailing zeros are dropped from both the release part and the prerelease part
 * (so 1.0.a == 1.a and 1.a.0 == 1.a).
 */
export function parseRubyGemsVersion(version: string): Segment[] {
  const m = PATTERN.exec(version);
  if (!m) throw new InvalidVersionError("RubyGems", version, "malformed Gem::Version string");
  const text = (m[1] ?? "0").replace(/-/g, ".pre.");
  const segs: Segment[] = (text.match(/[0-9]+|[a-z]+/gi) ?? []).map((s) => (/^[0-9]/.test(s) ? { n: s } : s));
  const firstString = segs.findIndex((s) => typeof s === "string");
  const cut = firstString < 0 ? segs.length : firstString;
  const trim = (part: Segment[]) => {
    let end = part.length;
    while (end > 0 && isZero(part[end - 1]!)) end--;
    return part.slice(0, end);
  };
  return [...trim(segs.slice(0, cut)), ...trim(segs.slice(cut))];
}

const ZERO: Segment = { n: "0" };
function isZero(s: Segment): boolean {
  return typeof s !== "string" && /^0+$/.test(s.n);
}

export function compareRubyGemsParsed(a: Segment[], b: Segment[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? ZERO;
    const y = b[i] ?? ZERO;
    const xs = typeof x === "string";
    const ys = typeof y === "string";
    // A letter segment marks a prerelease, which sorts before any number in the same place.
    if (xs && ys) {
      const d = compareStrings(x, y);
      if (d !== 0) return d;
    } else if (xs !== ys) {
      return xs ? -1 : 1;
    } else {
      const d = compareDigits((x as { n: string }).n, (y as { n: string }).n);
      if (d !== 0) return d;
    }
  }
  return 0;
}

export const rubygemsComparator = makeComparator("RubyGems", parseRubyGemsVersion, compareRubyGemsParsed);
