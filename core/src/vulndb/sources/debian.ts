import type { AdvisoryStatus, OsvAffected, OsvRecord, Severity } from "../osv.js";
import type { WarningSink } from "../errors.js";
import { debianMajorFor } from "../normalize.js";

export const DEBIAN_TRACKER_SOURCE = "debian-security-tracker";

interface ReleaseEntry {
  status?: unknown;
  fixed_version?: unknown;
  urgency?: unknown;
  nodsa?: unknown;
  nodsa_reason?: unknown;
}

/** The tracker JSON: source package → CVE/TEMP id → { description, releases: codename → entry }. */
export function looksLikeDebianTracker(value: unknown): boolean {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  let checked = 0;
  for (const issues of Object.values(value as Record<string, unknown>)) {
    if (!issues || typeof issues !== "object" || Array.isArray(issues)) return false;
    for (const [id, issue] of Object.entries(issues as Record<string, unknown>)) {
      if (!/^(CVE|TEMP)-/.test(id) || !issue || typeof issue !== "object" || !("releases" in issue)) return false;
      if (++checked >= 5) return true;
    }
  }
  return checked > 0;
}

/** The tracker's distributions.json: codename → { "major-version": "12", ... }. */
export function looksLikeDebianDistributions(value: unknown): boolean {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  const entries = Object.values(value as Record<string, unknown>);
  return (
    entries.length > 0 &&
    entries.every((entry) => !!entry && typeof entry === "object" && "major-version" in (entry as object))
  );
}

/** Debian urgency → severity (docs/matching-rules.md R3 `severityFromUrgency`): the trailing `*`/`**` only marks provenance. */
export function severityFromUrgency(urgency: unknown): Severity {
  const word = typeof urgency === "string" ? urgency.replace(/\*+$/, "").trim().toLowerCase() : "";
  switch (word) {
    case "unimportant":
    case "low":
      return "low";
    case "medium":
      return "medium";
    case "high":
      return "high";
    default:
      return "unknown";
  }
}

type Derived = { status: AdvisoryStatus; fixed?: string } | undefined;

/** The state mapping of docs/matching-rules.md R3; undefined for not-affected, undetermined and fixed-in-"0" (never vulnerable). */
export function deriveDebianState(entry: ReleaseEntry): Derived {
  const status = typeof entry.status === "string" ? entry.status.trim().toLowerCase() : "";
  const reason = typeof entry.nodsa_reason === "string" ? entry.nodsa_reason.trim().toLowerCase() : "";
  const urgency = typeof entry.urgency === "string" ? entry.urgency.trim().toLowerCase() : "";
  const fixed = typeof entry.fixed_version === "string" ? entry.fixed_version.trim() : "";
  if (status === "resolved" || status === "fixed") {
    if (fixed === "" || fixed === "0") return undefined;
    return { status: "fixed", fixed };
  }
  if (status === "not-affected" || status === "undetermined" || status === "") return undefined;
  if (status === "ignored" || reason === "ignored") return { status: "will_not_fix" };
  if (status === "postponed" || reason === "postponed") return { status: "fix_deferred" };
  if (status === "end-of-life" || urgency === "end-of-life") return { status: "end_of_life" };
  if (status === "open" || status === "unfixed" || status === "no-dsa" || status === "nodsa") {
    return { status: "affected" };
  }
  return undefined;
}

interface Pending {
  pkg: string;
  codename: string;
  state: NonNullable<Derived>;
  severity: Severity;
}

/**
 * Collects tracker files and turns them into one OSV-shaped record per CVE with an `affected` entry per
 * (release, source package). Codenames are resolved when the records are emitted, so a
 * distributions.json read after the tracker file still applies.
 */
export class DebianTrackerAccumulator {
  private readonly issues = new Map<string, { description?: string; pending: Pending[] }>();
  private readonly codenames = new Map<string, string>();
  private modified = "1970-01-01T00:00:00Z";

  addDistributions(value: Record<string, { "major-version"?: unknown }>): void {
    for (const [codename, info] of Object.entries(value)) {
      const major = info["major-version"];
      if (typeof major === "string" && /^\d+$/.test(major)) this.codenames.set(codename.toLowerCase(), major);
    }
  }

  addTracker(value: Record<string, Record<string, unknown>>, where: string, modified: string, warn: WarningSink): void {
    if (modified > this.modified) this.modified = modified;
    for (const [pkg, issues] of Object.entries(value)) {
      for (const [id, raw] of Object.entries(issues)) {
        const issue = raw as { description?: unknown; releases?: unknown };
        if (!issue.releases || typeof issue.releases !== "object") {
          warn(`${where}: ${pkg} ${id} has no releases object; skipped`);
          continue;
        }
        // An empty array (not an object) means the tracker has no per-release data for this package yet.
        if (Array.isArray(issue.releases)) continue;
        let slot = this.issues.get(id);
        if (!slot) {
          slot = { pending: [] };
          this.issues.set(id, slot);
        }
        if (typeof issue.description === "string" && !slot.description) slot.description = issue.description;
        for (const [codename, entry] of Object.entries(issue.releases as Record<string, ReleaseEntry>)) {
          const state = deriveDebianState(entry ?? {});
          if (!state) continue;
          slot.pending.push({
            pkg,
            codename: codename.toLowerCase(),
            state,
            severity: severityFromUrgency(entry.urgency),
          });
        }
      }
    }
  }

  private ecosystemFor(codename: string): string {
    const major = this.codenames.get(codename) ?? debianMajorFor(codename);
    // sid and unreleased codenames have no number; the store keys them by codename (docs/matching-rules.md P10).
    return `Debian:${major ?? codename}`;
  }

  *records(): Generator<OsvRecord> {
    for (const [id, issue] of this.issues) {
      if (issue.pending.length === 0) continue;
      const affected: OsvAffected[] = issue.pending.map((item) => ({
        package: { ecosystem: this.ecosystemFor(item.codename), name: item.pkg },
        ranges: [
          {
            type: "ECOSYSTEM",
            events: item.state.fixed ? [{ introduced: "0" }, { fixed: item.state.fixed }] : [{ introduced: "0" }],
          },
        ],
        database_specific: {
          stowaway: { status: item.state.status, vendorSeverity: item.severity, source: DEBIAN_TRACKER_SOURCE },
        },
      }));
      yield {
        id,
        modified: this.modified,
        ...(issue.description ? { details: issue.description } : {}),
        affected,
        references: [{ type: "ADVISORY", url: `https://security-tracker.debian.org/tracker/${id}` }],
        database_specific: { stowaway: { source: DEBIAN_TRACKER_SOURCE } },
      };
    }
  }

  get size(): number {
    return this.issues.size;
  }
}
