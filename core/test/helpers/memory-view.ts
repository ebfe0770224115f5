import { lstatSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import path from "node:path";
import type { FileView } from "../../src/catalog/types.js";

const MAX_LINKS = 40;

/**
 * A FileView over in-memory files, for cataloger tests. `symlinks` maps a link path to its target as
 * stored in the layer (absolute targets are re-rooted at the image root, relative ones resolve
 * against the link's directory), so tests can reproduce `etc/os-release -> ../usr/lib/os-release`.
 */
export class MemoryView implements FileView {
  readonly files: Map<string, Buffer>;
  readonly symlinks: Map<string, string>;

  constructor(
    files: Record<string, string | Buffer> | Map<string, Buffer> = {},
    symlinks: Record<string, string> = {},
  ) {
    this.files = new Map();
    const entries = files instanceof Map ? files.entries() : Object.entries(files);
    for (const [p, content] of entries) this.add(p, content);
    this.symlinks = new Map(Object.entries(symlinks).map(([p, target]) => [normalise(p), target]));
  }

  add(p: string, content: string | Buffer): this {
    this.files.set(normalise(p), typeof content === "string" ? Buffer.from(content, "utf8") : content);
    return this;
  }

  link(p: string, target: string): this {
    this.symlinks.set(normalise(p), target);
    return this;
  }

  read(p: string): Buffer | undefined {
    const resolved = this.resolve(normalise(p));
    return resolved === undefined ? undefined : this.files.get(resolved);
  }

  list(predicate: (p: string) => boolean): string[] {
    return [...this.files.keys()].filter(predicate).sort();
  }

  /** Resolves every component, as the kernel would, so links in parent directories work too. */
  private resolve(p: string): string | undefined {
    let pending = p.split("/").filter(Boolean);
    const done: string[] = [];
    let hops = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === ".") continue;
      if (part === "..") {
        done.pop();
        continue;
      }
      const candidate = [...done, part].join("/");
      const target = this.symlinks.get(candidate);
      if (target === undefined) {
        done.push(part);
        continue;
      }
      if (++hops > MAX_LINKS) return undefined;
      if (target.startsWith("/")) done.length = 0;
      pending = [...target.split("/").filter(Boolean), ...pending];
    }
    return done.join("/");
  }
}

function normalise(p: string): string {
  return p.replace(/^\/+/, "").replace(/^\.\//, "");
}

/**
 * Loads a directory of real fixture files into a MemoryView, placing it at `prefix` inside the image.
 * Symlinks stay symlinks, so the view resolves them the way the layer walker's view does.
 */
export function viewFromDir(dir: string, prefix = ""): MemoryView {
  const view = new MemoryView();
  const walk = (abs: string, rel: string): void => {
    for (const name of readdirSync(abs)) {
      const childAbs = path.join(abs, name);
      const childRel = rel ? `${rel}/${name}` : name;
      const target = prefix ? `${prefix}/${childRel}` : childRel;
      const stat = lstatSync(childAbs);
      if (stat.isSymbolicLink()) view.link(target, readlinkSync(childAbs));
      else if (stat.isDirectory()) walk(childAbs, childRel);
      else view.add(target, readFileSync(childAbs));
    }
  };
  walk(dir, "");
  return view;
}
