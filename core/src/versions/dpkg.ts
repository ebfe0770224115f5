import { InvalidVersionError } from "./errors.js";
import { compareDigits, makeComparator } from "./types.js";

/** Debian policy §5.6.12 version: `[epoch:]upstream_version[-debian_revision]`. */
export interface DpkgVersion {
  readonly epoch: string;
  readonly upstream: string;
  readonly revision: string;
}

const UPSTREAM_CHARS = /^[A-Za-z0-9.+~:-]*$/;
const REVISION_CHARS = /^[A-Za-z0-9.+~]*$/;

/**
 * Rejects everything `dpkg --validate-version` rejects (errors and the "bad syntax" warnings), so
 * only versions dpkg itself would install are ever ordered.
 */
export function parseDpkgVersion(version: string): DpkgVersion {
  const bad = (reason: string) => new InvalidVersionError("Debian", version, reason);
  if (version.length === 0) throw bad("version string is empty");
  if (/\s/.test(version)) throw bad("version string has embedded spaces");
  let epoch = "0";
  let rest = version;
  const colon = version.indexOf(":");
  if (colon >= 0) {
    epoch = version.slice(0, colon);
    if (!/^[0-9]+$/.test(epoch)) throw bad("epoch is not a number");
    // dpkg stores the epoch in an int; a larger one is rejected as out of range.
    if (compareDigits(epoch, "2147483647") > 0) throw bad("epoch is too big");
    rest = version.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf("-");
  const upstream = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const revision = hyphen >= 0 ? rest.slice(hyphen + 1) : "";
  if (upstream.length === 0) throw bad("upstream version is empty");
  if (hyphen >= 0 && revision.length === 0) throw bad("revision is empty");
  if (!/^[0-9]/.test(upstream)) throw bad("version number does not start with a digit");
  if (!UPSTREAM_CHARS.test(upstream)) throw bad("invalid character in upstream version");
  if (!REVISION_CHARS.test(revision)) throw bad("invalid character in revision");
  return { epoch, upstream, revision };
}

// Weight of one character inside a non-digit run: '~' sorts before the end of the string, letters
// sort before every other symbol (deb-version(7)).
function weight(s: string, i: number): number {
  if (i >= s.length) return 0;
  const c = s.charCodeAt(i);
  if (c === 0x7e) return -1;
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return c;
  if (c >= 0x30 && c <= 0x39) return 0;
  return c + 256;
}

const isDigit = (s: string, i: number) => i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39;

/** Alternating non-digit / digit runs, as dpkg compares upstream versions and revisions. */
export function compareDpkgPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a, i)) || (j < b.length && !isDigit(b, j))) {
      const d = weight(a, i) - weight(b, j);
      if (d !== 0) return d < 0 ? -1 : 1;
      i++;
      j++;
    }
    const si = i;
    const sj = j;
    while (isDigit(a, i)) i++;
    while (isDigit(b, j)) j++;
    const d = compareDigits(a.slice(si, i) || "0", b.slice(sj, j) || "0");
    if (d !== 0) return d;
  }
  return 0;
}

export function compareDpkgParsed(a: DpkgVersion, b: DpkgVersion): number {
  return (
    compareDigits(a.epoch, b.epoch) ||
    compareDpkgPart(a.upstream, b.upstream) ||
    compareDpkgPart(a.revision, b.revision)
  );
}

export const dpkgComparator = makeComparator("dpkg", parseDpkgVersion, compareDpkgParsed);
