import { readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Package } from "../../src/catalog/types.js";
import { buildDatabase, openDatabase } from "../../src/index.js";
import { matchPackages } from "../../src/match/index.js";
import type { OsvRecord } from "../../src/vulndb/osv.js";
import type { VulnerabilityStore } from "../../src/vulndb/types.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { tempDir } from "./helpers.js";

/*
 * Red Hat CSAF advisories and Security Data API records from ../shared/vulns/rhel-security-data,
 * compiled by `db build --from`. Expectations are read from the documents here with a walk of
 * their own (relationship → product_version name → product_name CPE), not through the ingester.
 */

const work = tempDir("stowaway-redhat-");
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Csaf {
  document: { tracking: { id: string } };
  product_tree: { branches: unknown[]; relationships: Relationship[] };
  vulnerabilities: Array<{
    cve: string;
    product_status: Record<string, string[]>;
    threats?: Array<{ category: string; details: string }>;
  }>;
}
interface Relationship {
  full_product_name: { product_id: string };
  product_reference: string;
  relates_to_product_reference: string;
}

const CSAF_DIR = "vulns/rhel-security-data/csaf-advisories";
const API_DIR = "vulns/rhel-security-data/cve-api";

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, "utf8")) as T;
}

/** product_id → CPE of every product_name branch. */
function productCpes(node: unknown, out = new Map<string, string>()): Map<string, string> {
  const branch = node as {
    category?: string;
    product?: { product_id: string; product_identification_helper?: { cpe?: string } };
    branches?: unknown[];
  };
  if (branch.category === "product_name" && branch.product?.product_identification_helper?.cpe) {
    out.set(branch.product.product_id, branch.product.product_identification_helper.cpe);
  }
  for (const child of branch.branches ?? []) productCpes(child, out);
  return out;
}

interface Expected {
  ecosystem: string;
  name: string;
  arch: string;
  evr: string;
  state: string;
}

/** "sudo-0:1.9.5p2-7.el9_0.4.aarch64" → name, epoch:version-release, arch (CSAF product_version names). */
function splitNevra(id: string): { name: string; evr: string; arch: string } {
  const m = /^(.+)-(\d+:[^-]+-[^-]+)\.([a-z0-9_]+)$/.exec(id)!;
  return { name: m[1]!, evr: m[2]!, arch: m[3]! };
}

function expectations(doc: Csaf): Map<string, Expected[]> {
  const cpes = productCpes({ branches: doc.product_tree.branches });
  const rels = new Map(doc.product_tree.relationships.map((r) => [r.full_product_name.product_id, r]));
  const out = new Map<string, Expected[]>();
  for (const vuln of doc.vulnerabilities) {
    const list: Expected[] = [];
    for (const [category, ids] of Object.entries(vuln.product_status)) {
      for (const id of ids) {
        const rel = rels.get(id)!;
        const cpe = cpes.get(rel.relates_to_product_reference)!;
        const { name, evr, arch } = splitNevra(rel.product_reference);
        list.push({ ecosystem: `Red Hat:${cpe.replace(/^cpe:\/[ao]:redhat:/, "")}`, name, arch, evr, state: category });
      }
    }
    out.set(vuln.cve, list);
  }
  return out;
}

function stowaway(entry: NonNullable<OsvRecord["affected"]>[number]): Record<string, unknown> {
  return (entry.database_specific?.stowaway ?? {}) as Record<string, unknown>;
}

function fixOf(entry: NonNullable<OsvRecord["affected"]>[number]): string | undefined {
  return entry.ranges?.[0]?.events.find((e) => e.fixed !== undefined)?.fixed;
}

describeWithShared("Red Hat CSAF advisories and Security Data API records through db build", () => {
  const dbDir = path.join(work, "db");
  let store: VulnerabilityStore;
  const warnings: string[] = [];
  const csafFiles = readdirSync(sharedPath(CSAF_DIR)).map((f) => sharedPath(CSAF_DIR, f));

  beforeAll(async () => {
    await buildDatabase({
      from: [sharedPath("vulns/rhel-security-data")],
      dbDir,
      warn: (m) => warnings.push(m),
    });
    store = await openDatabase(dbDir);
  });
  afterAll(async () => store?.close());

  it("reads every document without a warning and records the source", () => {
    expect(warnings).toEqual([]);
    const source = store.metadata().sources.find((s) => s.name === "redhat");
    expect(source?.records).toBeGreaterThan(0);
  });

  it("files every fixed and not-affected product of every advisory under its stream, package and arch", async () => {
    for (const file of csafFiles) {
      const doc = readJson<Csaf>(file);
      for (const [cve, list] of expectations(doc)) {
        for (const want of list) {
          const records = await store.advisoriesFor(want.ecosystem, want.name);
          const record = records.find((r) => r.id === cve);
          expect(record, `${cve} ${want.ecosystem} ${want.name}`).toBeDefined();
          const state = want.state === "fixed" ? "fixed" : "not_affected";
          const entries = record!.affected!.filter(
            (a) =>
              a.package?.ecosystem === want.ecosystem && a.package.name === want.name && stowaway(a).status === state,
          );
          expect(entries.length, `${cve} ${want.ecosystem} ${want.name} ${state}`).toBe(1);
          const arches = (entries[0]!.ecosystem_specific?.arches ?? []) as string[];
          if (state === "fixed") {
            // Several advisories may fix one CVE in one stream; the fix kept is never below this one.
            const kept = fixOf(entries[0]!)!;
            if (kept === want.evr) expect(arches).toContain(want.arch);
            expect(record!.related).toContain(doc.document.tracking.id);
          } else {
            expect(arches).toContain(want.arch);
            expect(fixOf(entries[0]!)).toBeUndefined();
          }
        }
      }
    }
  });

  it("keeps the highest fix when two advisories fix one CVE in the same stream (R9)", async () => {
    // RHSA-2024:6163 fixes CVE-2024-8088 in python3.9 3.9.18-3.el9_4.5 and RHSA-2024:9371 in
    // 3.9.19-8.el9, both in cpe:/a:redhat:enterprise_linux:9::appstream.
    const a = expectations(readJson<Csaf>(sharedPath(CSAF_DIR, "rhsa-2024_6163.json"))).get("CVE-2024-8088")!;
    const b = expectations(readJson<Csaf>(sharedPath(CSAF_DIR, "rhsa-2024_9371.json"))).get("CVE-2024-8088")!;
    const stream = "Red Hat:enterprise_linux:9::appstream";
    expect(a.find((e) => e.ecosystem === stream)?.evr).toBe("0:3.9.18-3.el9_4.5");
    expect(b.find((e) => e.ecosystem === stream)?.evr).toBe("0:3.9.19-8.el9");
    const record = (await store.advisoriesFor(stream, "python3.9")).find((r) => r.id === "CVE-2024-8088")!;
    const fixed = record.affected!.filter((e) => e.package?.ecosystem === stream && stowaway(e).status === "fixed");
    expect(fixed.map(fixOf)).toEqual(["0:3.9.19-8.el9"]);
    expect(record.related).toEqual(["RHSA-2024:6163", "RHSA-2024:9371"]);
  });

  it("carries Red Hat's impact as the vendor severity and the CVSS vectors of the CVE", async () => {
    for (const file of csafFiles) {
      const doc = readJson<Csaf>(file);
      for (const vuln of doc.vulnerabilities) {
        const impact = vuln.threats?.find((t) => t.category === "impact")?.details;
        const want = { Critical: "critical", Important: "high", Moderate: "medium", Low: "low" }[impact ?? ""];
        const first = expectations(doc).get(vuln.cve)![0]!;
        const record = (await store.advisoriesFor(first.ecosystem, first.name)).find((r) => r.id === vuln.cve)!;
        for (const entry of record.affected!) expect(stowaway(entry).vendorSeverity).toBe(want);
      }
    }
    const api = readJson<{ name: string; cvss3: { cvss3_scoring_vector: string } }>(
      sharedPath(API_DIR, "cve-2021-25220.json"),
    );
    const record = (await store.advisoriesFor("Red Hat:enterprise_linux:8", "bind")).find((r) => r.id === api.name)!;
    expect(record.severity).toContainEqual({ type: "CVSS_V3", score: api.cvss3.cvss3_scoring_vector });
  });

  it("files Security Data API fixes under the source rpm of each CPE", async () => {
    const api = readJson<{ name: string; affected_release: Array<{ cpe: string; package: string }> }>(
      sharedPath(API_DIR, "cve-2021-25220.json"),
    );
    for (const release of api.affected_release) {
      const m = /^(.+)-(\d+:[^-]+-[^-]+)$/.exec(release.package)!;
      const ecosystem = `Red Hat:${release.cpe.replace(/^cpe:\/[ao]:redhat:/, "")}`;
      const record = (await store.advisoriesFor(ecosystem, m[1]!)).find((r) => r.id === api.name);
      expect(record, `${ecosystem} ${m[1]}`).toBeDefined();
      const fixes = record!
        .affected!.filter(
          (e) => e.package?.ecosystem === ecosystem && e.package.name === m[1] && stowaway(e).status === "fixed",
        )
        .map((e) => ({ fix: fixOf(e), arches: e.ecosystem_specific?.arches }));
      expect(fixes).toHaveLength(1);
      // The API names source rpms; a CSAF advisory with the same fix adds its binaries' arches.
      expect(fixes[0]!.arches).toContain("src");
    }
  });

  it("matches a RHEL 9 binary through its source rpm, rated by Red Hat's impact", async () => {
    const python: Package = {
      id: "rpm:python3-libs",
      name: "python3-libs",
      version: "3.9.18-3.el9_4.3",
      type: "rpm",
      arch: "x86_64",
      ecosystem: "Red Hat:enterprise_linux:9::appstream",
      purl: "pkg:rpm/redhat/python3-libs@3.9.18-3.el9_4.3?arch=x86_64",
      source: { name: "python3.9", version: "3.9.18-3.el9_4.3" },
      locations: ["var/lib/rpm/rpmdb.sqlite"],
      layerIndex: 0,
      metadata: {
        release: "3.el9_4.3",
        redhatCpes: ["cpe:/o:redhat:enterprise_linux:9::baseos", "cpe:/a:redhat:enterprise_linux:9::appstream"],
      },
    };
    const { findings } = await matchPackages([python], store);
    const finding = findings.find((f) => f.id === "CVE-2024-8088")!;
    expect(finding).toMatchObject({
      status: "fixed",
      fixedVersion: "0:3.9.19-8.el9",
      severity: "medium",
      severitySource: "redhat",
      match: { type: "source", name: "python3.9", dataSource: "redhat" },
    });
    // At the highest fix, nothing is left.
    const patched = { ...python, version: "3.9.19-8.el9", source: { name: "python3.9", version: "3.9.19-8.el9" } };
    expect((await matchPackages([patched], store)).findings.filter((f) => f.id === "CVE-2024-8088")).toEqual([]);
  });

  it("matches release-wide statements (no variant in the CPE) in every stream of that release", async () => {
    // The Security Data API states CVE-2021-25220's RHEL 8 fix for cpe:/o:redhat:enterprise_linux:8.
    const api = readJson<{ name: string; affected_release: Array<{ cpe: string; package: string }> }>(
      sharedPath(API_DIR, "cve-2021-25220.json"),
    );
    const release = api.affected_release.find(
      (r) => r.cpe === "cpe:/o:redhat:enterprise_linux:8" && r.package.startsWith("bind-32:"),
    )!;
    const fix = release.package.replace(/^bind-/, "");
    const older = fix.replace(/-(\d+)\.el8$/, (_, n: string) => `-${Number(n) - 1}.el8`);
    expect(older).not.toBe(fix);
    const bind: Package = {
      id: "rpm:bind",
      name: "bind",
      version: older,
      type: "rpm",
      arch: "x86_64",
      ecosystem: "Red Hat:enterprise_linux:8::appstream",
      purl: "pkg:rpm/redhat/bind",
      source: { name: "bind", version: older.replace(/^\d+:/, "") },
      locations: ["var/lib/rpm/rpmdb.sqlite"],
      layerIndex: 0,
      metadata: {
        epoch: 32,
        redhatCpes: ["cpe:/a:redhat:enterprise_linux:8::appstream", "cpe:/o:redhat:enterprise_linux:8::baseos"],
      },
    };
    const finding = (await matchPackages([bind], store)).findings.find((f) => f.id === api.name)!;
    expect(finding).toMatchObject({ status: "fixed", fixedVersion: fix, severity: "medium" });
    expect(finding.match).toMatchObject({ ecosystem: "Red Hat:enterprise_linux:8", type: "source" });
  });

  it("drops what Red Hat declares not affected, and only that (RHSA-2025:23414, RHEL 6 ELS)", async () => {
    const doc = readJson<Csaf>(sharedPath(CSAF_DIR, "rhsa-2025_23414.json"));
    const list = expectations(doc).get("CVE-2021-25220")!;
    const notAffected = list.find(
      (e) => e.state === "known_not_affected" && e.name === "bind-chroot" && e.arch === "x86_64",
    )!;
    const fixed = list.find((e) => e.state === "fixed" && e.name === "bind" && e.arch === "x86_64")!;
    expect(notAffected).toBeDefined();
    expect(fixed).toBeDefined();
    // One release below the advisory's build: vulnerable unless declared otherwise.
    const older = (evr: string) => evr.replace(/\.(\d+)$/, (_, n: string) => `.${Number(n) - 1}`).replace(/^\d+:/, "");
    const epoch = Number(fixed.evr.split(":")[0]);
    const mk = (name: string, evr: string): Package => ({
      id: `rpm:${name}`,
      name,
      version: `${epoch}:${older(evr)}`,
      type: "rpm",
      arch: "x86_64",
      ecosystem: notAffected.ecosystem,
      purl: `pkg:rpm/redhat/${name}`,
      source: { name: "bind", version: older(evr) },
      locations: ["var/lib/rpm/Packages"],
      layerIndex: 0,
      metadata: { epoch, release: older(evr).split("-").at(-1), redhatCpes: ["cpe:/o:redhat:rhel_els:6"] },
    });
    const { findings } = await matchPackages([mk("bind", fixed.evr), mk("bind-chroot", notAffected.evr)], store);
    const bind = findings.filter((f) => f.packageName === "bind").map((f) => f.id);
    expect(bind).toContain("CVE-2021-25220");
    expect(findings.find((f) => f.packageName === "bind" && f.id === "CVE-2021-25220")?.fixedVersion).toBe(fixed.evr);
    expect(findings.filter((f) => f.packageName === "bind-chroot" && f.id === "CVE-2021-25220")).toEqual([]);
  });
});
