import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { normalizePackageName } from "../../src/match/ecosystem.js";
import type { OsvRecord } from "../../src/vulndb/osv.js";
import type { DatabaseMetadata, EpssScore, KevEntry, VulnerabilityStore } from "../../src/vulndb/types.js";

/**
 * A VulnerabilityStore over records held in memory, for matcher tests. It answers like the
 * compiled store: records whose affected[].package is (ecosystem, name), names in normal form.
 */
export class MemoryStore implements VulnerabilityStore {
  private readonly records: OsvRecord[] = [];
  private readonly kevs = new Map<string, KevEntry>();
  private readonly epssScores = new Map<string, EpssScore>();
  /** Every advisoriesFor call, so tests can check which names were looked up. */
  readonly lookups: { ecosystem: string; name: string }[] = [];

  constructor(records: OsvRecord[] = [], extras: { kev?: KevEntry[]; epss?: EpssScore[] } = {}) {
    records.forEach((r) => this.add(r));
    for (const k of extras.kev ?? []) this.kevs.set(k.cveId, k);
    for (const e of extras.epss ?? []) this.epssScores.set(e.cveId, e);
  }

  add(record: OsvRecord): this {
    this.records.push(record);
    return this;
  }

  metadata(): DatabaseMetadata {
    const ecosystems = new Set<string>();
    for (const r of this.records) for (const a of r.affected ?? []) if (a.package) ecosystems.add(a.package.ecosystem);
    return {
      schemaVersion: 1,
      builtAt: "1970-01-01T00:00:00Z",
      sources: [],
      ecosystems: [...ecosystems].sort(),
      records: this.records.length,
    };
  }

  async advisoriesFor(ecosystem: string, packageName: string): Promise<OsvRecord[]> {
    this.lookups.push({ ecosystem, name: packageName });
    const wanted = normalizePackageName(ecosystem, packageName);
    return this.records.filter((r) =>
      (r.affected ?? []).some(
        (a) => a.package?.ecosystem === ecosystem && normalizePackageName(ecosystem, a.package.name) === wanted,
      ),
    );
  }

  async kev(cveId: string): Promise<KevEntry | undefined> {
    return this.kevs.get(cveId);
  }

  async epss(cveId: string): Promise<EpssScore | undefined> {
    return this.epssScores.get(cveId);
  }

  async close(): Promise<void> {}
}

/** Reads one OSV record, JSON or YAML (the PyPI advisory database is YAML). */
export function readOsvFile(file: string): OsvRecord {
  const text = readFileSync(file, "utf8");
  return (file.endsWith(".json") ? JSON.parse(text) : yaml.load(text)) as OsvRecord;
}

/** Every OSV file under `dir`, sorted, so generated test names are stable. */
export function osvFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(json|ya?ml)$/.test(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}
