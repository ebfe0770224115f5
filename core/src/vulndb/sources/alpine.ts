import type { OsvAffected, OsvRecord } from "../osv.js";
import type { WarningSink } from "../errors.js";

export const ALPINE_SECDB_SOURCE = "alpine-secdb";

interface SecdbDocument {
  distroversion: string;
  /** vuln-list-update writes an empty object instead of an empty list. */
  packages: Array<{ pkg?: { name?: unknown; secfixes?: unknown } }> | Record<string, never>;
}

/** secdb (JSON or the YAML vunnel keeps): { distroversion: "v3.19", packages: [{ pkg: { name, secfixes } }] }. */
export function looksLikeAlpineSecdb(value: unknown): value is SecdbDocument {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  const doc = value as Record<string, unknown>;
  return (
    typeof doc.distroversion === "string" &&
    (Array.isArray(doc.packages) ||
      (!!doc.packages && typeof doc.packages === "object" && Object.keys(doc.packages).length === 0))
  );
}

// secfixes lines hold one or more ids, sometimes followed by a comment ("CVE-2019-1 CVE-2019-2", "XSA-1 (xen)").
const ADVISORY_ID = /^[A-Z][A-Z0-9]*-[A-Za-z0-9][A-Za-z0-9-]*$/;

/**
 * One OSV-shaped record per advisory id with an `affected` entry per (release, origin package). secdb
 * only lists fixes (docs/matching-rules.md R5): a fix version of "0" means "never affected" and produces nothing, and a
 * package missing from secdb is unknown, never "unfixed".
 */
export class AlpineSecdbAccumulator {
  private readonly byId = new Map<string, Map<string, OsvAffected>>();
  private modified = "1970-01-01T00:00:00Z";

  add(doc: SecdbDocument, where: string, modified: string, warn: WarningSink): void {
    if (modified > this.modified) this.modified = modified;
    const branch = doc.distroversion.trim();
    if (!/^(v\d+\.\d+|edge)$/.test(branch)) {
      warn(`${where}: distroversion ${JSON.stringify(branch)} is not "v<major>.<minor>" or "edge"; skipped`);
      return;
    }
    const ecosystem = `Alpine:${branch}`;
    for (const entry of Array.isArray(doc.packages) ? doc.packages : []) {
      const name = entry?.pkg?.name;
      const secfixes = entry?.pkg?.secfixes;
      if (typeof name !== "string" || name.trim() === "") {
        warn(`${where}: a package entry has no pkg.name; skipped`);
        continue;
      }
      if (!secfixes || typeof secfixes !== "object" || Array.isArray(secfixes)) continue;
      for (const [version, ids] of Object.entries(secfixes as Record<string, unknown>)) {
        // YAML can read an unquoted "0" as a number; Object.entries already gives strings.
        const fixed = version.trim();
        if (fixed === "0" || !Array.isArray(ids)) continue;
        for (const line of ids) {
          if (typeof line !== "string") continue;
          for (const token of line.trim().split(/\s+/)) {
            if (!ADVISORY_ID.test(token)) continue;
            this.addFix(token, ecosystem, name.trim(), fixed);
          }
        }
      }
    }
  }

  private addFix(id: string, ecosystem: string, name: string, fixed: string): void {
    let packages = this.byId.get(id);
    if (!packages) {
      packages = new Map();
      this.byId.set(id, packages);
    }
    const key = `${ecosystem}\u0000${name}`;
    const existing = packages.get(key);
    const range = { type: "ECOSYSTEM" as const, events: [{ introduced: "0" }, { fixed }] };
    if (existing) {
      existing.ranges!.push(range);
      return;
    }
    packages.set(key, {
      package: { ecosystem, name },
      ranges: [range],
      database_specific: { stowaway: { status: "fixed", source: ALPINE_SECDB_SOURCE } },
    });
  }

  *records(): Generator<OsvRecord> {
    for (const [id, packages] of this.byId) {
      yield {
        id,
        modified: this.modified,
        affected: [...packages.values()],
        references: [{ type: "ADVISORY", url: `https://security.alpinelinux.org/vuln/${id}` }],
        database_specific: { stowaway: { source: ALPINE_SECDB_SOURCE } },
      };
    }
  }

  get size(): number {
    return this.byId.size;
  }
}
