import { InvalidVersionError } from "./errors.js";
import { compareDigits, compareStrings, makeComparator } from "./types.js";

// Maven's ComparableVersion (maven-artifact 3.8.x, the version Debian 12 ships and our oracle
// runs): a version is a tree of lists; '-' and digit/letter transitions open a nested list, '.'
// does not. Items are numbers, qualifiers or nested lists.
type Item = { t: "num"; v: string } | { t: "str"; v: string } | { t: "list"; v: Item[] };

const QUALIFIERS = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const ALIASES: Record<string, string> = { ga: "", final: "", release: "", cr: "rc" };

function qualifier(value: string, followedByDigit: boolean): Item {
  let v = value;
  // "a1", "b2", "m3" are shorthands, but a bare "a" is an unknown qualifier.
  if (followedByDigit && v.length === 1)
    v = ({ a: "alpha", b: "beta", m: "milestone" } as Record<string, string>)[v] ?? v;
  return { t: "str", v: ALIASES[v] ?? v };
}

// Known qualifiers by index; unknown ones after all of them, ordered lexically among themselves.
function qualifierKey(v: string): string {
  const i = QUALIFIERS.indexOf(v);
  return i >= 0 ? String(i) : `${QUALIFIERS.length}-${v}`;
}
const RELEASE_KEY = qualifierKey("");

function isNull(item: Item): boolean {
  if (item.t === "num") return /^0*$/.test(item.v);
  if (item.t === "str") return item.v === "";
  return item.v.length === 0;
}

function parseItem(isDigit: boolean, text: string): Item {
  return isDigit ? { t: "num", v: text.replace(/^0+/, "") || "0" } : qualifier(text, false);
}

// Trailing "nothing" items (0, "", empty lists) are dropped so that 1.0 == 1 and 1-ga == 1; the
// walk stops at the first real item that is not a list.
function normalize(list: Item[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const item = list[i]!;
    if (isNull(item)) list.splice(i, 1);
    else if (item.t !== "list") break;
  }
}

export function parseMavenVersion(version: string): Item {
  if (version.length === 0 || /[\s\p{Cc}]/u.test(version)) {
    throw new InvalidVersionError("Maven", version, "empty or contains whitespace/control characters");
  }
  const s = version.toLowerCase();
  const root: Item[] = [];
  let list = root;
  const stack: Item[][] = [root];
  const push = () => {
    const next: Item[] = [];
    list.push({ t: "list", v: next });
    list = next;
    stack.push(next);
  };
  let isDigit = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "." || c === "-") {
      list.push(i === start ? { t: "num", v: "0" } : parseItem(isDigit, s.slice(start, i)));
      start = i + 1;
      if (c === "-") push();
    } else if (c >= "0" && c <= "9") {
      if (!isDigit && i > start) {
        // Since MNG-5568 (3.8.x) "1.0.0.rc1" parses like "1.0.0-rc1": a qualifier followed by a
        // number opens its own list even when only a '.' preceded it.
        if (list.length > 0) push();
        list.push(qualifier(s.slice(start, i), true));
        start = i;
        push();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.push(parseItem(true, s.slice(start, i)));
        start = i;
        push();
      }
      isDigit = false;
    }
  }
  if (s.length > start) {
    // The same rule for a trailing qualifier: "1.0.0.beta" parses like "1.0.0-beta".
    if (!isDigit && list.length > 0) push();
    list.push(parseItem(isDigit, s.slice(start)));
  }
  while (stack.length > 0) normalize(stack.pop()!);
  return { t: "list", v: root };
}

/** `b` undefined stands for "nothing here", which is how the shorter version pads itself. */
function compareItem(a: Item, b: Item | undefined): number {
  switch (a.t) {
    case "num":
      if (b === undefined) return isNull(a) ? 0 : 1;
      return b.t === "num" ? compareDigits(a.v, b.v) : 1;
    case "str":
      if (b === undefined) return Math.sign(compareStrings(qualifierKey(a.v), RELEASE_KEY));
      if (b.t === "str") return Math.sign(compareStrings(qualifierKey(a.v), qualifierKey(b.v)));
      return -1;
    case "list": {
      if (b === undefined) return a.v.length === 0 ? 0 : compareItem(a.v[0]!, undefined);
      if (b.t === "num") return -1;
      if (b.t === "str") return 1;
      const n = Math.max(a.v.length, b.v.length);
      for (let i = 0; i < n; i++) {
        const l = a.v[i];
        const r = b.v[i];
        const d = l === undefined ? (r === undefined ? 0 : -compareItem(r, l)) : compareItem(l, r);
        if (d !== 0) return d;
      }
      return 0;
    }
  }
}

export const mavenComparator = makeComparator("Maven", parseMavenVersion, (a: Item, b: Item) => compareItem(a, b));
