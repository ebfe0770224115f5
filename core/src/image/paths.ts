import { HostileInputError, quoteInput } from "../errors.js";

/**
 * Normalises a layer tar entry name to a root-relative path ("etc/os-release").
 * Returns "" for the root itself. Names that climb out with ".." are refused: a scanner
 * never extracts to disk, but a path that escapes the root has no meaning inside an image
 * and only appears in crafted archives.
 */
export function normalizeEntryPath(name: string, what: string): string {
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
