import { readFileSync } from "node:fs";
import type { Package } from "../../src/catalog/types.js";
import type { AdvisoryStatus, OsvEvent, OsvRecord, Severity } from "../../src/vulndb/osv.js";
import { sharedPath } from "../helpers/shared.js";

export interface RecordSpec {
  ecosystem: string;
  name: string;
  events?: OsvEvent[];
  versions?: string[];
  status?: AdvisoryStatus | "under_investigation";
  vendorSeverity?: Severity;
  source?: string;
  aliases?: string[];
  withdrawn?: string;
  arches?: string[];
}

/** A distro advisory in the shape Stowaway's ingesters write (distro state in database_specific.stowaway). */
export function distroRecord(id: string, spec: RecordSpec): OsvRecord {
  const stowaway: Record<string, unknown> = { source: spec.source ?? "debian-security-tracker" };
  if (spec.status) stowaway.status = spec.status;
  if (spec.vendorSeverity) stowaway.vendorSeverity = spec.vendorSeverity;
  if (spec.arches) stowaway.arches = spec.arches;
  const record: OsvRecord = {
    id,
    modified: "2025-01-01T00:00:00Z",
    aliases: spec.aliases ?? [],
    affected: [
      {
        package: { ecosystem: spec.ecosystem, name: spec.name },
        ranges: spec.events ? [{ type: "ECOSYSTEM", events: spec.events }] : [],
        ...(spec.versions ? { versions: spec.versions } : {}),
        database_specific: { stowaway },
      },
    ],
  };
  if (spec.withdrawn) record.withdrawn = spec.withdrawn;
  return record;
}

/** The real Debian 12 minbase image's packages (dpkg-query ground truth), as the dpkg cataloger reports them. */
export function bookwormPackages(): Map<string, Package> {
  const tsv = readFileSync(sharedPath("images", "debian", "bookworm-minbase.dpkg-query.tsv"), "utf8");
  const out = new Map<string, Package>();
  for (const line of tsv.trim().split("\n").slice(1)) {
    const [name, version, arch, srcName, srcVersion] = line.split("\t") as [string, string, string, string, string];
    out.set(name, {
      id: `deb:${name}`,
      name,
      version,
      type: "deb",
      ecosystem: "Debian:12",
      purl: `pkg:deb/debian/${name}@${version}?arch=${arch}&distro=debian-12`,
      source: { name: srcName, version: srcVersion },
      arch,
      locations: ["var/lib/dpkg/status"],
      layerIndex: 0,
    });
  }
  return out;
}

export function pkg(partial: Partial<Package> & Pick<Package, "name" | "version" | "type">): Package {
  return {
    id: `${partial.type}:${partial.name}@${partial.version}`,
    ecosystem: "",
    purl: `pkg:${partial.type}/${partial.name}@${partial.version}`,
    locations: [],
    layerIndex: 0,
    ...partial,
  };
}
