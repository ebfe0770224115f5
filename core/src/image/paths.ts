import { HostileInputError, quoteInput } from "../errors.js";

/**
 * Normalises a layer tar entry name to a root-relative path ("etc/os-release").
 * Returns "" for the root itself. Names that climb out with ".." are refused: a scanner
 * never extracts to disk, but a path that escapes the root has no meaning inside an image
 * and only appears in crafted archives.
 */
export function normalizeEntryPath(name: string, what: string): string {
  // Nearly every name is already normal ("usr/bin/x", or "usr/share/" for a directory): return it,
  // or it minus its trailing slash, without splitting it into parts and joining them again.
  if (isPlainName(name)) return name.charCodeAt(name.length - 1) === 47 ? name.slice(0, -1) : name;
  const parts: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      throw new HostileInputError(
        `${what}: tar entry ${quoteInput(name)} climbs out of the image root with ".."; refusing the layer`,
      );
    }
    parts.push(part);
  }
  return parts.join("/");
}

/**
 * True when `name` has no empty, "." or ".." component other than one trailing slash: then it is its
 * own normal form (minus that slash). One pass over the characters, no allocation.
 */
function isPlainName(name: string): boolean {
  const length = name.length;
  if (length === 0) return false;
  let start = 0;
  for (let i = 0; i <= length; i++) {
    if (i < length && name.charCodeAt(i) !== 47 /* "/" */) continue;
    const part = i - start;
    // An empty part is allowed only at the very end, after a trailing slash.
    if (part === 0) return i === length;
    if (name.charCodeAt(start) === 46 /* "." */ && (part === 1 || (part === 2 && name.charCodeAt(start + 1) === 46)))
      return false;
    start = i + 1;
  }
  return true;
}

export function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Joins a symlink target to the directory holding the link, resolving "." and ".." without leaving the root. */
export function resolveLinkTarget(linkPath: string, target: string): string {
  const base = target.startsWith("/") ? [] : dirname(linkPath).split("/").filter(Boolean);
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    // ".." at the root stays at the root, exactly as the kernel resolves it inside a container.
    if (part === "..") base.pop();
    else base.push(part);
  }
  return base.join("/");
}

/** True when `path` is `ancestor` itself or lies below it. */
export function isSameOrBelow(path: string, ancestor: string): boolean {
  if (ancestor === "") return true;
  return path === ancestor || (path.startsWith(ancestor) && path.charCodeAt(ancestor.length) === 47); /* "/" */
}
