import { InvalidVersionError } from "./errors.js";
import { compareDigits, compareStrings, makeComparator } from "./types.js";

// apk-tools grammar: digit{.digit}...{letter}{_suffix{number}}...{~hash}{-rN}.
// The numeric kinds double as a rank: when two versions agree up to the point where one has a
// component of a different kind, the side whose component kind ranks lower is the newer one.
enum Kind {
  Digit,
  Letter,
  Suffix,
  SuffixNo,
  Hash,
  Revision,
  End,
  Invalid,
}

interface Token {
  readonly kind: Kind;
  readonly text: string;
  readonly first: boolean;
}

const PRE_SUFFIXES = ["alpha", "beta", "pre", "rc"];
const POST_SUFFIXES = ["cvs", "svn", "git", "hg", "p"];
/** Release ("no suffix") sits between the pre-release and post-release suffixes. */
function suffixRank(name: string): number {
  const pre = PRE_SUFFIXES.indexOf(name);
  if (pre >= 0) return pre - PRE_SUFFIXES.length;
  return POST_SUFFIXES.indexOf(name) + 1;
}

function tokenize(v: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const take = (re: RegExp) => {
    re.lastIndex = i;
    const m = re.exec(v);
    if (!m) return undefined;
    i += m[0].length;
    return m[0];
  };
  const digits = /[0-9]+/y;
  const first = take(digits);
  if (first === undefined) return [{ kind: Kind.Invalid, text: "", first: true }];
  out.push({ kind: Kind.Digit, text: first, first: true });
  let prev = Kind.Digit;
  for (;;) {
    if (i >= v.length) {
      out.push({ kind: Kind.End, text: "", first: false });
      return out;
    }
    const c = v[i]!;
    let tok: Token | undefined;
    if (c === "." && prev === Kind.Digit && /[0-9]/.test(v[i + 1] ?? "")) {
      i++;
      tok = { kind: Kind.Digit, text: take(digits)!, first: false };
    } else if (/[a-z]/.test(c) && prev === Kind.Digit) {
      i++;
      tok = { kind: Kind.Letter, text: c, first: false };
    } else if (c === "_" && prev <= Kind.SuffixNo) {
      i++;
      const name = take(/[a-z]+/y);
      if (name !== undefined && suffixRank(name) !== 0) {
        out.push({ kind: Kind.Suffix, text: name, first: false });
        const n = take(digits);
        prev = n === undefined ? Kind.Suffix : Kind.SuffixNo;
        if (n !== undefined) out.push({ kind: Kind.SuffixNo, text: n, first: false });
        continue;
      }
    } else if (c === "~" && prev <= Kind.SuffixNo) {
      i++;
      const hash = take(/[0-9a-f]+/y);
      if (hash !== undefined) tok = { kind: Kind.Hash, text: hash, first: false };
    } else if (c === "-" && v[i + 1] === "r" && prev < Kind.Revision) {
      i += 2;
      const n = take(digits);
      if (n !== undefined) tok = { kind: Kind.Revision, text: n, first: false };
    }
    if (tok === undefined) {
      out.push({ kind: Kind.Invalid, text: "", first: false });
      return out;
    }
    out.push(tok);
    prev = tok.kind;
  }
}

function compareTokens(a: Token, b: Token): number {
  switch (a.kind) {
    case Kind.Digit:
      // Later components with a leading zero compare as text, so 8.2.0015 < 8.2.002 (Gentoo-style).
      if (!a.first && (a.text.startsWith("0") || b.text.startsWith("0"))) return compareStrings(a.text, b.text);
      return compareDigits(a.text, b.text);
    case Kind.Suffix:
      return Math.sign(suffixRank(a.text) - suffixRank(b.text));
    case Kind.SuffixNo:
    case Kind.Revision:
      return compareDigits(a.text, b.text);
    default:
      return compareStrings(a.text, b.text);
  }
}

/**
 * apk-tools' ordering, defined even for malformed strings (they sort below a well-formed
 * continuation). `fuzzy` is apk's `~` dependency match: `b` only has to be a prefix of `a`.
 * Prefer apkComparator, which refuses malformed versions; this exists for parity with `apk version -t`.
 */
export function apkCompareRaw(a: string, b: string, fuzzy = false): number {
  const ta = tokenize(a);
  const tb = tokenize(b);
  let k = 0;
  for (; ; k++) {
    const x = ta[k]!;
    const y = tb[k]!;
    if (x.kind !== y.kind || x.kind >= Kind.End) break;
    const d = compareTokens(x, y);
    if (d !== 0) return d;
  }
  const x = ta[k]!;
  const y = tb[k]!;
  if (x.kind === y.kind) return 0;
  if (fuzzy && y.kind === Kind.End) return 0;
  if (x.kind === Kind.Suffix && suffixRank(x.text) < 0) return -1;
  if (y.kind === Kind.Suffix && suffixRank(y.text) < 0) return 1;
  return x.kind > y.kind ? -1 : 1;
}

export function isValidApkVersion(v: string): boolean {
  return tokenize(v).at(-1)!.kind === Kind.End;
}

export function parseApkVersion(v: string): string {
  if (!isValidApkVersion(v)) {
    throw new InvalidVersionError("Alpine", v, "not of the form digit{.digit}{letter}{_suffix{N}}{~hash}{-rN}");
  }
  return v;
}

export const apkComparator = makeComparator("apk", parseApkVersion, (a: string, b: string) => apkCompareRaw(a, b));
