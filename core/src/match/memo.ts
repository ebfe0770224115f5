import type { Package } from "../catalog/types.js";
import type { Finding } from "../result.js";
import type { VulnerabilityStore } from "../vulndb/types.js";

interface Entry {
  findings: Finding[];
  warnings: string[];
}

/**
 * Findings of packages already matched in this run, for matching many images against one database
 * (a registry rescan: the same base-image and library packages recur in thousands of images). A
 * package's findings depend only on what the matchers read (type, ecosystem, name, version, source,
 * arch, purl, metadata), on the image's Ubuntu ESM state and on the match options, never on where the
 * package sits in the image; so a hit copies the findings with this package's id and layer. Bounded
 * by entries, least recently used dropped first. One memo serves one database and one set of options.
 */
export class MatchMemo {
  private readonly entries = new Map<string, Entry>();
  private store: VulnerabilityStore | undefined;
  private optionsKey: string | undefined;

  constructor(private readonly maxEntries = 100_000) {}

  /** Forgets everything when the database or options differ from the previous call's. */
  bind(store: VulnerabilityStore, optionsKey: string): void {
    if (store !== this.store || optionsKey !== this.optionsKey) {
      this.entries.clear();
      this.store = store;
      this.optionsKey = optionsKey;
    }
  }

  static keyOf(pkg: Package, feeds: readonly string[], ubuntuEsm: boolean): string {
    // Everything but the package's place in this image (id, layer, paths) and licence text.
    const { id: _id, layerIndex: _layer, locations: _locations, licenses: _licenses, ...matched } = pkg;
    return JSON.stringify([ubuntuEsm, feeds, matched]);
  }

  get(key: string, pkg: Package): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return {
      findings: entry.findings.map((finding) => ({
        ...finding,
        findingId: `${pkg.id}/${finding.id}`,
        packageId: pkg.id,
        layerIndex: pkg.layerIndex,
      })),
      warnings: entry.warnings,
    };
  }

  set(key: string, entry: Entry): void {
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
