import type { FileView, PackageCandidate } from "../catalog/types.js";
import type { LayerSnapshot } from "./layer-walker.js";
import { resolveLinkTarget } from "./paths.js";

/** Links followed while resolving one path before it is treated as a loop (Linux's own limit is 40). */
const MAX_SYMLINK_HOPS = 40;

interface FileEntry {
  content: Buffer;
  layerIndex: number;
}

/**
 * The image filesystem, restricted to what the catalogers collected, with layers applied
 * bottom-up exactly as the OCI spec says: a layer's whiteouts and opaque markers hide lower
 * entries only, then its own entries are added on top.
 */
export class SquashedFilesystem implements FileView {
  private readonly files = new Map<string, FileEntry>();
  private readonly symlinks = new Map<string, string>();
  private readonly analyzed = new Map<string, PackageCandidate[]>();
  readonly warnings: string[] = [];
  /**
   * Directories resolve() has resolved (null: a loop), so that a path below one costs a look at its
   * last part. Depends on the symlinks alone, so apply() forgets it.
   */
  private readonly resolvedDirs = new Map<string, string | null>();
  /**
   * The directory resolvePath looked up last and what it resolved to: consecutive paths mostly share
   * their directory (a package's file list is sorted), and then they need no cut-out copy of it to
   * hash and look up. Empty when nothing is held; reset with resolvedDirs.
   */
  private lastDir = "";
  private lastResolvedDir: string | null = null;

  /** Applies one layer and returns the paths whose state it changed (added, rewritten or removed). */
  apply(snapshot: LayerSnapshot, layerIndex: number): Set<string> {
    this.resolvedDirs.clear();
    this.lastDir = "";
    const changed = new Set<string>();
    this.hideLowerEntries(snapshot, changed);
    for (const path of snapshot.shadowed) this.remove(path, changed);
    for (const [path, target] of snapshot.symlinks) {
      this.files.delete(path);
      this.analyzed.delete(path);
      this.symlinks.set(path, target);
      changed.add(path);
    }
    for (const [path, content] of snapshot.files) {
      this.symlinks.delete(path);
      this.files.set(path, { content, layerIndex });
      changed.add(path);
    }
    for (const [path, candidates] of snapshot.analyzed) {
      this.symlinks.delete(path);
      if (!snapshot.files.has(path)) this.files.delete(path);
      if (candidates.length > 0) this.analyzed.set(path, candidates);
      else this.analyzed.delete(path);
      changed.add(path);
    }
    for (const [path, target] of snapshot.hardlinks) {
      // A hard link's target precedes it in the same tar or lives in a lower layer; either way it is already applied.
      const source = this.files.get(target);
      if (source) {
        this.symlinks.delete(path);
        this.files.set(path, { content: source.content, layerIndex });
        changed.add(path);
      }
    }
    return changed;
  }

  private hideLowerEntries(snapshot: LayerSnapshot, changed: Set<string>): void {
    if (snapshot.whiteouts.length === 0 && snapshot.opaqueDirs.length === 0) return;
    const whiteouts = new Set(snapshot.whiteouts);
    const opaque = new Set(snapshot.opaqueDirs);
    // One pass over what is held, checking each path's ancestors, keeps a layer with many
    // whiteouts linear instead of whiteouts x files.
    const hidden = (path: string): boolean => {
      if (whiteouts.has(path)) return true;
      let slash = path.lastIndexOf("/");
      while (slash > 0) {
        const ancestor = path.slice(0, slash);
        if (whiteouts.has(ancestor) || opaque.has(ancestor)) return true;
        slash = ancestor.lastIndexOf("/");
      }
      return opaque.has("");
    };
    for (const map of [this.files, this.symlinks, this.analyzed] as Map<string, unknown>[]) {
      for (const path of [...map.keys()]) {
        if (hidden(path)) {
          map.delete(path);
          changed.add(path);
        }
      }
    }
  }

  private remove(path: string, changed: Set<string>): void {
    const removed = [this.files, this.symlinks, this.analyzed].map((map) => (map as Map<string, unknown>).delete(path));
    if (removed.some(Boolean)) changed.add(path);
  }

  /** What file catalogers found in the files still present, in path order. */
  analyzedPackages(): PackageCandidate[] {
    return [...this.analyzed.keys()].sort().flatMap((path) => this.analyzed.get(path)!);
  }

  /** Resolves symlinks component by component inside the image root; undefined on a loop or a dangling link. */
  resolve(path: string): string | undefined {
    return this.resolvePath(path, true);
  }

  /**
   * Called for every file every OS package owns and for every language package's location (tens of
   * thousands, in a few hundred directories): the directory is resolved once, and a plain last part
   * that is no link is appended to it. Walking the directory's parts left the same state, so the
   * answer is the walk's; anything else (a link, "..", a loop on the way) takes the walk itself.
   * `warn`: report a loop (a directory resolved for the cache is not a path anyone asked for).
   */
  private resolvePath(path: string, warn: boolean): string | undefined {
    const slash = path.lastIndexOf("/");
    const length = path.length - slash - 1;
    const dot = path.charCodeAt(slash + 1) === 46; /* "." */
    if (slash > 0 && length > 0 && !(dot && (length === 1 || (length === 2 && path.charCodeAt(slash + 2) === 46)))) {
      let dir = this.lastDir;
      let resolvedDir = this.lastResolvedDir;
      if (slash !== dir.length || !path.startsWith(dir)) {
        dir = path.slice(0, slash);
        let found = this.resolvedDirs.get(dir);
        if (found === undefined) {
          found = this.resolvePath(dir, false) ?? null;
          this.resolvedDirs.set(dir, found);
        }
        resolvedDir = found;
        this.lastDir = dir;
        this.lastResolvedDir = found;
      }
      if (resolvedDir !== null) {
        // A directory with no link on its way resolves to itself: then so does the path (no new string).
        const candidate =
          resolvedDir === dir
            ? path
            : resolvedDir === ""
              ? path.slice(slash + 1)
              : `${resolvedDir}/${path.slice(slash + 1)}`;
        if (!this.symlinks.has(candidate)) return candidate;
      }
    }
    return this.walk(path, warn);
  }

  private walk(path: string, warn: boolean): string | undefined {
    // Walks the components by index and extends the resolved prefix as a string, instead of
    // re-joining an array each step.
    let pending = path.split("/");
    let at = 0;
    const resolved: string[] = [];
    let current = "";
    let hops = 0;
    while (at < pending.length) {
      const part = pending[at++]!;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        resolved.pop();
        current = resolved.join("/");
        continue;
      }
      const candidate = current === "" ? part : `${current}/${part}`;
      const target = this.symlinks.get(candidate);
      if (target === undefined) {
        resolved.push(part);
        current = candidate;
        continue;
      }
      hops += 1;
      if (hops > MAX_SYMLINK_HOPS) {
        if (warn)
          this.warnings.push(
            `symlink loop (more than ${MAX_SYMLINK_HOPS} links) while resolving /${path}; treated as absent`,
          );
        return undefined;
      }
      const joined = resolveLinkTarget(candidate, target);
      resolved.length = 0;
      current = "";
      pending = [...joined.split("/"), ...pending.slice(at)];
      at = 0;
    }
    return current;
  }

  read(path: string): Buffer | undefined {
    const direct = this.files.get(path);
    if (direct) return direct.content;
    const resolved = this.resolve(path);
    return resolved === undefined ? undefined : this.files.get(resolved)?.content;
  }

  /** The layer that last wrote the file `path` resolves to. */
  layerOf(path: string): number | undefined {
    const resolved = this.files.has(path) ? path : this.resolve(path);
    return resolved === undefined ? undefined : this.files.get(resolved)?.layerIndex;
  }

  list(predicate: (path: string) => boolean): string[] {
    return [...this.files.keys()].filter(predicate).sort();
  }
}
