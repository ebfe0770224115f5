import { PackageURL } from "packageurl-js";
import { redHatEcosystem } from "./redhat-ecosystem.js";
import type { OsvAffected, OsvRecord, OsvSeverity, Severity, VendorState } from "../osv.js";
import type { WarningSink } from "../errors.js";
import { comparatorFor } from "../../versions/index.js";

/**
 * Red Hat's security data (docs/distro-matching.md, "Red Hat family"): CSAF advisories (RHSA) and
 * CSAF VEX files (one per CVE) from security.access.redhat.com/data/csaf/v2/, and the Security Data
 * API's CVE records (access.redhat.com/hydra/rest/securitydata/cve/<CVE>.json). Every input is
 * folded into one OSV-shaped record per CVE, with one affected entry per (product stream CPE,
 * package, module stream, state), because Red Hat states fixes and non-fixes per product stream.
 */
export const REDHAT_SOURCE = "redhat";
/**
 * Records made from one VEX file each. A VEX file is Red Hat's whole statement about its CVE, so it is
 * written as soon as it is read (an archive of every CVE never has to fit in memory) and kept apart
 * from the per-CVE merge of advisories and API records; both describe the same CVE id and become one
 * finding when both match.
 */
export const REDHAT_VEX_SOURCE = "redhat-vex";

/** A CSAF VEX file (one CVE) rather than an advisory (one RHSA, several CVEs). */
export function isCsafVex(value: unknown): boolean {
  return (value as { document?: { category?: unknown } }).document?.category === "csaf_vex";
}

type VulnState = VendorState;

interface Entry {
  ecosystem: string;
  name: string;
  /** "name:stream" of the module the package belongs to; undefined for non-modular or unknown. */
  module?: string;
  status: VulnState;
  fixed?: string;
  arches: Set<string>;
  advisory?: string;
  /** A statement about the component as a whole (VEX, Security Data API), not about one build. */
  wide?: boolean;
}

interface CveSlot {
  entries: Map<string, Entry>;
  advisories: Set<string>;
  vectors: OsvSeverity[];
  vendorSeverity?: Severity;
  summary?: string;
  details?: string;
  published?: string;
}

/** Red Hat impact → Stowaway severity (docs/matching-rules.md §9: Important is High). */
export function severityFromImpact(impact: unknown): Severity | undefined {
  if (typeof impact !== "string") return undefined;
  switch (impact.trim().toLowerCase()) {
    case "critical":
      return "critical";
    case "important":
      return "high";
    case "moderate":
      return "medium";
    case "low":
      return "low";
    default:
      return undefined;
  }
}

/** Red Hat's states of a product that is not fixed (CSAF remediation details, Security Data API fix_state). */
function stateFromWords(words: string): VulnState | "skip" {
  switch (words.trim().toLowerCase()) {
    case "will not fix":
      return "will_not_fix";
    case "fix deferred":
    case "deferred":
      return "fix_deferred";
    case "out of support scope":
      return "end_of_life";
    case "not affected":
      return "not_affected";
    case "affected":
      return "affected";
    case "under investigation":
      // R10: not reported until Red Hat decides.
      return "skip";
    default:
      return "skip";
  }
}

export function looksLikeCsaf(value: unknown): boolean {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  const doc = value as { document?: { csaf_version?: unknown }; product_tree?: unknown; vulnerabilities?: unknown };
  return typeof doc.document?.csaf_version === "string" && !!doc.product_tree && Array.isArray(doc.vulnerabilities);
}

export function looksLikeRedHatCve(value: unknown): boolean {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  const doc = value as Record<string, unknown>;
  return (
    typeof doc.name === "string" &&
    /^CVE-\d{4}-\d+$/.test(doc.name) &&
    ("threat_severity" in doc || "affected_release" in doc || "package_state" in doc)
  );
}

interface Product {
  name?: string;
  cpe?: string;
  purl?: string;
}

interface Relationship {
  component: string;
  parent: string;
}

interface Component {
  name: string;
  arch?: string;
  /** "epoch:version-release", or "version-release" when the document gives no epoch. */
  evr?: string;
  /** "name:stream" from the purl's rpmmod qualifier. */
  modular?: string;
}

/** "python3.9-0:3.9.18-3.el9_4.5.src" → parts; the product name is the one place CSAF writes the epoch. */
const NEVRA = /^(.+)-(\d+):([^-:]+)-([^-]+)\.([A-Za-z0-9_]+)$/;

function componentOf(product: Product | undefined): Component | "module" | undefined {
  if (!product) return undefined;
  let purl: PackageURL | undefined;
  try {
    purl = product.purl ? PackageURL.fromString(product.purl) : undefined;
  } catch {
    purl = undefined;
  }
  if (purl?.type === "rpmmod") return "module";
  const nevra = product.name ? NEVRA.exec(product.name) : null;
  if (purl && purl.type !== "rpm") return undefined;
  const name = purl?.name ?? nevra?.[1];
  if (!name) return undefined;
  const arch = purl?.qualifiers?.arch ?? nevra?.[5];
  const out: Component = { name };
  if (arch) out.arch = arch;
  // Red Hat's purls name a modular rpm's module build in `rpmmod` ("nodejs:18:8090020231019152822:a75119d5").
  const rpmmod = purl?.qualifiers?.rpmmod?.split(":");
  if (rpmmod?.[0] && rpmmod[1]) out.modular = `${rpmmod[0]}:${rpmmod[1]}`;
  if (purl?.version || nevra) {
    const epoch = purl?.qualifiers?.epoch ?? nevra?.[2];
    const vr = purl?.version ?? `${nevra![3]}-${nevra![4]}`;
    out.evr = epoch !== undefined ? `${epoch}:${vr}` : vr;
  }
  return out;
}

/** "pkg:rpmmod/redhat/python39@3.9:8060020240801142753:6a631399" → "python39:3.9". */
function moduleStream(product: Product | undefined): string | undefined {
  try {
    const purl = product?.purl ? PackageURL.fromString(product.purl) : undefined;
    if (purl?.type !== "rpmmod" || !purl.version) return undefined;
    const stream = purl.version.split(":")[0];
    return stream ? `${purl.name}:${stream}` : undefined;
  } catch {
    return undefined;
  }
}

function collectProducts(node: unknown, into: Map<string, Product>): void {
  if (!node || typeof node !== "object") return;
  const branch = node as { product?: unknown; branches?: unknown };
  const product = branch.product as
    | { product_id?: unknown; name?: unknown; product_identification_helper?: { cpe?: unknown; purl?: unknown } }
    | undefined;
  if (product && typeof product.product_id === "string") {
    const helper = product.product_identification_helper ?? {};
    into.set(product.product_id, {
      ...(typeof product.name === "string" ? { name: product.name } : {}),
      ...(typeof helper.cpe === "string" ? { cpe: helper.cpe } : {}),
      ...(typeof helper.purl === "string" ? { purl: helper.purl } : {}),
    });
  }
  if (Array.isArray(branch.branches)) for (const child of branch.branches) collectProducts(child, into);
}

/** The CSAF product tree resolved into "which package, in which product stream, in which module". */
class ProductTree {
  private readonly products = new Map<string, Product>();
  private readonly relationships = new Map<string, Relationship>();

  constructor(tree: unknown) {
    collectProducts(tree, this.products);
    const rels = (tree as { relationships?: unknown }).relationships;
    for (const rel of Array.isArray(rels) ? rels : []) {
      const r = rel as {
        full_product_name?: { product_id?: unknown; name?: unknown };
        product_reference?: unknown;
        relates_to_product_reference?: unknown;
      };
      const id = r.full_product_name?.product_id;
      if (typeof id !== "string" || typeof r.product_reference !== "string") continue;
      if (typeof r.relates_to_product_reference !== "string") continue;
      this.relationships.set(id, { component: r.product_reference, parent: r.relates_to_product_reference });
    }
  }

  /**
   * A status entry's product id names "component of (module of) product stream". Modular rpms are
   * components of a module build, which is itself a component of the product stream (R7).
   */
  resolve(productId: string): { ecosystem: string; component: Component; module?: string } | undefined {
    const rel = this.relationships.get(productId);
    if (!rel) return undefined;
    const component = componentOf(this.products.get(rel.component));
    if (!component || component === "module") return undefined;
    let parent = rel.parent;
    let module = component.modular;
    const moduleRel = this.relationships.get(parent);
    if (moduleRel) {
      module = moduleStream(this.products.get(moduleRel.component)) ?? module;
      parent = moduleRel.parent;
    }
    const cpe = this.products.get(parent)?.cpe;
    const ecosystem = cpe ? redHatEcosystem(cpe) : undefined;
    if (!ecosystem) return undefined;
    return module ? { ecosystem, component, module } : { ecosystem, component };
  }
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() ? value.trim() : undefined;
}

/** Collects Red Hat CSAF documents and Security Data API records into one record per CVE. */
export class RedHatAccumulator {
  private readonly byCve = new Map<string, CveSlot>();
  private modified = "1970-01-01T00:00:00Z";

  /** `source` names the records' origin in `database_specific.stowaway.source` (and findings' dataSource). */
  constructor(private readonly source: string = REDHAT_SOURCE) {}

  private slot(cve: string): CveSlot {
    let slot = this.byCve.get(cve);
    if (!slot) {
      slot = { entries: new Map(), advisories: new Set(), vectors: [] };
      this.byCve.set(cve, slot);
    }
    return slot;
  }

  private addVector(slot: CveSlot, type: OsvSeverity["type"], vector: unknown): void {
    if (typeof vector !== "string" || !vector.trim()) return;
    if (!slot.vectors.some((v) => v.score === vector.trim())) slot.vectors.push({ type, score: vector.trim() });
  }

  /**
   * One entry per (stream, package, module, state). Several advisories fixing one CVE in the same
   * stream keep the highest fix (R9); equal fixes pool their architectures.
   */
  private addEntry(slot: CveSlot, entry: Entry): void {
    const key = [
      entry.ecosystem,
      entry.name,
      entry.module ?? "",
      entry.status === "fixed" ? "fixed" : entry.status,
    ].join("\u0000");
    const existing = slot.entries.get(key);
    if (!existing) {
      slot.entries.set(key, entry);
      return;
    }
    if (entry.fixed && existing.fixed) {
      const d = rpmvercmpSafe(entry.fixed, existing.fixed);
      if (d > 0) {
        slot.entries.set(key, entry);
        return;
      }
      if (d < 0) return;
    }
    for (const arch of entry.arches) existing.arches.add(arch);
  }

  addCsaf(doc: Record<string, unknown>, where: string, modified: string, warn: WarningSink): void {
    const document = doc.document as { tracking?: { id?: unknown; current_release_date?: unknown }; title?: unknown };
    const trackingId = text(document?.tracking?.id);
    const released = text(document?.tracking?.current_release_date);
    const stamp = released && !Number.isNaN(Date.parse(released)) ? new Date(released).toISOString() : modified;
    if (stamp > this.modified) this.modified = stamp;
    const tree = new ProductTree(doc.product_tree);
    const advisory = trackingId && /^RH[SBE]A-/.test(trackingId) ? trackingId : undefined;
    let unresolved = 0;
    for (const raw of doc.vulnerabilities as unknown[]) {
      const vuln = raw as {
        cve?: unknown;
        title?: unknown;
        release_date?: unknown;
        product_status?: Record<string, unknown>;
        remediations?: unknown;
        threats?: unknown;
        scores?: unknown;
        notes?: unknown;
      };
      const cve = text(vuln.cve);
      if (!cve) {
        warn(`${where}: a vulnerability without a cve field; skipped`);
        continue;
      }
      const slot = this.slot(cve);
      if (advisory) slot.advisories.add(advisory);
      slot.summary ??= text(vuln.title);
      slot.published ??= text(vuln.release_date);
      const description = Array.isArray(vuln.notes)
        ? (vuln.notes as { category?: unknown; text?: unknown }[]).find((n) => n.category === "description")
        : undefined;
      slot.details ??= text(description?.text);
      for (const threat of Array.isArray(vuln.threats)
        ? (vuln.threats as { category?: unknown; details?: unknown }[])
        : []) {
        if (threat.category === "impact")
          slot.vendorSeverity = severityFromImpact(threat.details) ?? slot.vendorSeverity;
      }
      for (const score of Array.isArray(vuln.scores)
        ? (vuln.scores as Record<string, { vectorString?: unknown }>[])
        : []) {
        this.addVector(slot, "CVSS_V3", score.cvss_v3?.vectorString);
        this.addVector(slot, "CVSS_V4", score.cvss_v4?.vectorString);
      }
      // Per product id: what Red Hat says it will do when no fix exists (known_affected).
      const remediation = new Map<string, VulnState | "skip">();
      for (const r of Array.isArray(vuln.remediations) ? (vuln.remediations as Record<string, unknown>[]) : []) {
        if (r.category !== "no_fix_planned" && r.category !== "none_available") continue;
        const fallback: VulnState = r.category === "no_fix_planned" ? "will_not_fix" : "affected";
        const state = typeof r.details === "string" ? stateFromWords(r.details) : fallback;
        for (const id of Array.isArray(r.product_ids) ? r.product_ids : []) {
          if (typeof id === "string") remediation.set(id, state === "skip" ? fallback : state);
        }
      }
      const status = vuln.product_status ?? {};
      const groups: Array<[string, VulnState | "remediation"]> = [
        ["fixed", "fixed"],
        ["known_affected", "remediation"],
        ["known_not_affected", "not_affected"],
      ];
      for (const [category, state] of groups) {
        const ids = status[category];
        for (const id of Array.isArray(ids) ? ids : []) {
          if (typeof id !== "string") continue;
          const resolved = tree.resolve(id);
          if (!resolved) {
            unresolved++;
            continue;
          }
          const { component } = resolved;
          const finalState: VulnState | "skip" = state === "remediation" ? (remediation.get(id) ?? "affected") : state;
          if (finalState === "skip") continue;
          if (finalState === "fixed" && !component.evr) continue;
          const entry: Entry = {
            ecosystem: resolved.ecosystem,
            name: component.name,
            status: finalState,
            arches: new Set(component.arch ? [component.arch] : []),
          };
          if (resolved.module) entry.module = resolved.module;
          if (!component.evr) entry.wide = true;
          if (finalState === "fixed") entry.fixed = component.evr;
          if (advisory) entry.advisory = advisory;
          this.addEntry(slot, entry);
        }
      }
    }
    if (unresolved > 0) {
      warn(`${where}: ${unresolved} product status entries name no rpm in a CPE-identified product stream; skipped`);
    }
  }

  addCveRecord(doc: Record<string, unknown>, where: string, modified: string, warn: WarningSink): void {
    if (modified > this.modified) this.modified = modified;
    const cve = doc.name as string;
    const slot = this.slot(cve);
    // The CVE page's rating is the CVE's; a CSAF threat read earlier (per advisory) agrees or is newer.
    slot.vendorSeverity ??= severityFromImpact(doc.threat_severity);
    this.addVector(
      slot,
      "CVSS_V3",
      (doc.cvss3 as { cvss3_scoring_vector?: unknown } | undefined)?.cvss3_scoring_vector,
    );
    slot.summary ??= text((doc.bugzilla as { description?: unknown } | undefined)?.description);
    slot.published ??= text(doc.public_date);
    if (Array.isArray(doc.details)) slot.details ??= text(doc.details.at(-1));
    let skipped = 0;
    for (const raw of Array.isArray(doc.affected_release) ? doc.affected_release : []) {
      const release = raw as { cpe?: unknown; package?: unknown; advisory?: unknown };
      const ecosystem = typeof release.cpe === "string" ? redHatEcosystem(release.cpe) : undefined;
      // "bind-32:9.11.36-5.el8": the SOURCE rpm's name, epoch, version and release. Module builds
      // ("nodejs:18-8090020231019152822.a75119d5") name no rpm and are skipped.
      const m = typeof release.package === "string" ? /^(.+)-(\d+):([^-:]+)-([^-]+)$/.exec(release.package) : null;
      if (!ecosystem || !m || m[1]!.includes(":")) {
        skipped++;
        continue;
      }
      const entry: Entry = {
        ecosystem,
        name: m[1]!,
        status: "fixed",
        fixed: `${m[2]}:${m[3]}-${m[4]}`,
        arches: new Set(["src"]),
      };
      const advisory = text(release.advisory);
      if (advisory) {
        entry.advisory = advisory;
        slot.advisories.add(advisory);
      }
      this.addEntry(slot, entry);
    }
    for (const raw of Array.isArray(doc.package_state) ? doc.package_state : []) {
      const state = raw as { cpe?: unknown; package_name?: unknown; fix_state?: unknown };
      const ecosystem = typeof state.cpe === "string" ? redHatEcosystem(state.cpe) : undefined;
      const status = typeof state.fix_state === "string" ? stateFromWords(state.fix_state) : "skip";
      const packageName = text(state.package_name);
      if (!ecosystem || !packageName) {
        skipped++;
        continue;
      }
      if (status === "skip") continue;
      // Modular components are written "module:stream/package" ("nodejs:16/nodejs").
      const modular = /^([^/:]+:[^/]+)\/(.+)$/.exec(packageName);
      const entry: Entry = {
        ecosystem,
        name: modular ? modular[2]! : packageName,
        status,
        // package_state names the source component, and speaks for every build of it.
        arches: new Set(["src"]),
        wide: true,
      };
      if (modular) entry.module = modular[1]!;
      this.addEntry(slot, entry);
    }
    if (skipped > 0)
      warn(`${where}: ${skipped} entries without a Red Hat CPE or an rpm name-epoch:version-release; skipped`);
  }

  *records(): Generator<OsvRecord> {
    for (const [cve, slot] of this.byCve) {
      if (slot.entries.size === 0) continue;
      const affected: OsvAffected[] = [...slot.entries.values()].map((entry) => {
        const stowaway: Record<string, unknown> = { status: entry.status, source: this.source };
        if (slot.vendorSeverity) stowaway.vendorSeverity = slot.vendorSeverity;
        if (entry.advisory) stowaway.advisory = entry.advisory;
        if (entry.wide && entry.status === "not_affected") stowaway.componentWide = true;
        const specific: Record<string, unknown> = {};
        if (entry.arches.size > 0) specific.arches = [...entry.arches].sort();
        if (entry.module) specific.rpm_modularity = entry.module;
        return {
          package: { ecosystem: entry.ecosystem, name: entry.name },
          ranges: [
            {
              type: "ECOSYSTEM",
              events: entry.fixed ? [{ introduced: "0" }, { fixed: entry.fixed }] : [{ introduced: "0" }],
            },
          ],
          ...(Object.keys(specific).length > 0 ? { ecosystem_specific: specific } : {}),
          database_specific: { stowaway },
        };
      });
      const advisories = [...slot.advisories].sort();
      yield {
        id: cve,
        modified: this.modified,
        ...(slot.published && !Number.isNaN(Date.parse(slot.published))
          ? { published: new Date(slot.published).toISOString() }
          : {}),
        ...(advisories.length > 0 ? { related: advisories } : {}),
        ...(slot.summary ? { summary: slot.summary } : {}),
        ...(slot.details ? { details: slot.details } : {}),
        ...(slot.vectors.length > 0 ? { severity: slot.vectors } : {}),
        affected,
        references: [
          { type: "ADVISORY", url: `https://access.redhat.com/security/cve/${cve}` },
          ...advisories.map((id) => ({ type: "ADVISORY", url: `https://access.redhat.com/errata/${id}` })),
        ],
        database_specific: { stowaway: { source: this.source } },
      };
    }
  }

  get size(): number {
    return this.byCve.size;
  }
}

const rpm = comparatorFor("Red Hat");

/** EVR order (epoch, version, release); a fix that does not parse never replaces another. */
function rpmvercmpSafe(a: string, b: string): number {
  try {
    return Math.sign(rpm.compare(a, b));
  } catch {
    return 0;
  }
}
