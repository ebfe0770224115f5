import type { Package } from "../../src/catalog/types.js";
import { baseEcosystem, compareVersions, isSupportedEcosystem, isValidVersion } from "../../src/versions/index.js";
import type { OsvAffected, OsvRecord } from "../../src/vulndb/osv.js";

/**
 * Test cases read straight off an OSV record, so the expected verdicts come from the advisory and
 * the OSV spec rather than from the matcher:
 *  - every version in `affected.versions` is vulnerable (spec: v ∈ versions ⇒ vulnerable);
 *  - every `introduced` (other than "0") and `last_affected` version is vulnerable;
 *  - every `fixed` version is not, unless the record itself lists it as affected elsewhere.
 * A withdrawn record matches nothing (docs/matching-rules.md R16).
 */
export interface OsvCase {
  recordId: string;
  ecosystem: string;
  name: string;
  version: string;
  vulnerable: boolean;
  why: string;
}

export interface Exclusion {
  recordId: string;
  what: string;
  reason: string;
}

const LANGUAGE_TYPES: Record<string, string> = {
  PyPI: "pypi",
  npm: "npm",
  Go: "golang",
  "crates.io": "cargo",
  Maven: "maven",
  NuGet: "nuget",
  Packagist: "composer",
  RubyGems: "gem",
};
const DPKG = new Set(["Debian", "Ubuntu"]);
const APK = new Set(["Alpine", "Wolfi", "Chainguard"]);
const RPM = new Set(["Red Hat", "AlmaLinux", "Rocky Linux", "SUSE", "openSUSE"]);

export function packageTypeFor(ecosystem: string): string | undefined {
  const base = baseEcosystem(ecosystem);
  if (LANGUAGE_TYPES[base]) return LANGUAGE_TYPES[base];
  if (DPKG.has(base)) return "deb";
  if (APK.has(base)) return "apk";
  if (RPM.has(base)) return "rpm";
  return undefined;
}

/** A package as a cataloger would report one at `version` of the advisory's package. */
export function packageFor(
  c: Pick<OsvCase, "ecosystem" | "name" | "version">,
  id: string,
  affected?: OsvAffected,
): Package {
  const type = packageTypeFor(c.ecosystem)!;
  const base: Package = {
    id,
    name: c.name,
    version: c.version,
    type,
    ecosystem: c.ecosystem,
    purl: `pkg:${type}/${c.name}@${c.version}`,
    locations: [],
    layerIndex: 0,
  };
  if (type === "deb") {
    // Debian and Ubuntu advisories name the source package; report it as one of its binaries.
    const binaries = affected?.ecosystem_specific?.binaries;
    const first = Array.isArray(binaries) ? (binaries[0] as { binary_name?: string } | undefined) : undefined;
    return { ...base, name: first?.binary_name ?? c.name, source: { name: c.name, version: c.version } };
  }
  if (type === "apk") return { ...base, source: { name: c.name, version: c.version } };
  return base;
}

const samePackage = (a: OsvAffected, b: OsvAffected) =>
  a.package?.ecosystem === b.package?.ecosystem && a.package?.name === b.package?.name;

export function casesFromRecord(record: OsvRecord): { cases: OsvCase[]; exclusions: Exclusion[] } {
  const cases: OsvCase[] = [];
  const exclusions: Exclusion[] = [];
  const exclude = (what: string, reason: string) => exclusions.push({ recordId: record.id, what, reason });
  const affectedList = record.affected ?? [];
  if (affectedList.length === 0) exclude("record", "no affected entries");

  for (const affected of affectedList) {
    const pkg = affected.package;
    if (!pkg) {
      exclude("affected entry", "no package (only GIT repository data)");
      continue;
    }
    const { ecosystem, name } = pkg;
    const label = `${ecosystem}/${name}`;
    if (!packageTypeFor(ecosystem) || !isSupportedEcosystem(ecosystem)) {
      exclude(label, `no package type or version ordering for ecosystem ${ecosystem}`);
      continue;
    }
    const siblings = affectedList.filter((a) => samePackage(a, affected));
    const listed = new Set(siblings.flatMap((a) => a.versions ?? []));
    const ranges = (affected.ranges ?? []).filter((r) => r.type !== "GIT");
    if (ranges.length === 0 && (affected.versions ?? []).length === 0) {
      exclude(label, "GIT ranges only (needs the commit graph)");
      continue;
    }
    const add = (version: string, vulnerable: boolean, why: string) =>
      cases.push({
        recordId: record.id,
        ecosystem,
        name,
        version,
        vulnerable: record.withdrawn ? false : vulnerable,
        why: record.withdrawn ? "withdrawn record" : why,
      });

    for (const v of affected.versions ?? []) add(v, true, "listed in versions");
    const introducedAll = new Set(
      siblings.flatMap((a) => (a.ranges ?? []).flatMap((r) => r.events.map((e) => e.introduced))),
    );
    // Ranges with no end (GHSA writes its "last known affected" bound in database_specific, which
    // never changes evaluation) keep every later version vulnerable, fixes of other ranges included.
    const openFrom = siblings.flatMap((a) =>
      (a.ranges ?? [])
        .filter(
          (r) => r.type !== "GIT" && !r.events.some((e) => e.fixed !== undefined || e.last_affected !== undefined),
        )
        .flatMap((r) => r.events.flatMap((e) => (e.introduced === undefined ? [] : [e.introduced]))),
    );
    const inOpenRange = (v: string) =>
      openFrom.some((i) => i === "0" || (isValidVersion(ecosystem, i) && compareVersions(ecosystem, v, i) >= 0));
    const fixedAll = new Set(siblings.flatMap((a) => (a.ranges ?? []).flatMap((r) => r.events.map((e) => e.fixed))));
    for (const range of ranges) {
      const hasIntroduced = range.events.some((e) => e.introduced !== undefined);
      if (!hasIntroduced) {
        exclude(label, `${range.type} range without an introduced event (invalid per the schema)`);
        continue;
      }
      for (const e of range.events) {
        const v = e.fixed ?? e.introduced ?? e.last_affected;
        if (v === undefined || v === "0") continue;
        if (!isValidVersion(ecosystem, v)) {
          exclude(`${label}@${v}`, `not a valid ${ecosystem} version`);
          continue;
        }
        if (e.fixed !== undefined) {
          if (listed.has(v)) exclude(`${label}@${v}`, "fixed version also listed as affected by the record");
          else if (introducedAll.has(v)) exclude(`${label}@${v}`, "fixed version re-introduced by another range");
          else if (inOpenRange(v)) exclude(`${label}@${v}`, "fixed version inside another range that has no end");
          else add(v, false, "fixed event");
        } else if (e.introduced !== undefined) {
          if (fixedAll.has(v)) exclude(`${label}@${v}`, "introduced version is also a fixed version");
          else add(v, true, "introduced event");
        } else {
          add(v, true, "last_affected event");
        }
      }
    }
  }
  return { cases, exclusions };
}
