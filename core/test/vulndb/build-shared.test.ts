import { readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  buildDatabase,
  openDatabase,
  type DatabaseMetadata,
  type OsvRecord,
  type VulnerabilityStore,
} from "../../src/index.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { tempDir } from "./helpers.js";

// Expected values are derived here with plain JSON.parse / js-yaml and small filters, never with the
// code under test.

interface Doc {
  id: string;
  modified: string;
  withdrawn?: string;
  affected?: Array<{ package?: { ecosystem: string; name: string }; ranges?: Array<{ events: object[] }> }>;
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...files(full));
    else out.push(full);
  }
  return out;
}

function expectedOsv(): Map<string, Doc> {
  const byId = new Map<string, Doc>();
  for (const folder of ["osv-ghsa", "osv-go", "osv-misc", "osv-pypi", "osv-rustsec", "osv-ubuntu"]) {
    for (const file of files(sharedPath("vulns", folder))) {
      let doc: Doc;
      if (file.endsWith(".json")) doc = JSON.parse(readFileSync(file, "utf8")) as Doc;
      else if (file.endsWith(".yaml")) doc = yaml.load(readFileSync(file, "utf8"), { schema: yaml.JSON_SCHEMA }) as Doc;
      else continue;
      if (doc.withdrawn) continue;
      // The OSV schema requires an `introduced` event in every range (the linter's invalid sample lacks one).
      if (doc.affected?.some((a) => a.ranges?.some((r) => !r.events.some((e) => "introduced" in e)))) continue;
      const previous = byId.get(doc.id);
      if (!previous || Date.parse(doc.modified) > Date.parse(previous.modified)) byId.set(doc.id, doc);
    }
  }
  return byId;
}

/**
 * The name under which each registry treats two spellings as the same package, written from the
 * registries' own rules: PEP 503 for PyPI ("Django" and "django" are one project), case-insensitive
 * NuGet, Packagist and Pub. Everything else (npm, Go, crates.io, Maven ...) is compared as published.
 */
function registryName(ecosystem: string, name: string): string {
  if (ecosystem === "PyPI") return name.toLowerCase().replace(/[-_.]+/g, "-");
  if (ecosystem === "NuGet" || ecosystem === "Packagist" || ecosystem === "Pub") return name.toLowerCase();
  return name;
}

const CODENAMES: Record<string, string> = {
  jessie: "8",
  stretch: "9",
  buster: "10",
  bullseye: "11",
  bookworm: "12",
  trixie: "13",
};

function expectedDebian(): Map<string, Set<string>> {
  const tracker = JSON.parse(
    readFileSync(sharedPath("vulns/debian-security-tracker/debian.json.sample"), "utf8"),
  ) as Record<string, Record<string, { releases: Record<string, { status: string; fixed_version?: string }> | [] }>>;
  const byEcosystem = new Map<string, Set<string>>();
  for (const issues of Object.values(tracker)) {
    for (const [cve, issue] of Object.entries(issues)) {
      if (Array.isArray(issue.releases)) continue;
      for (const [codename, release] of Object.entries(issue.releases)) {
        const counts =
          release.status === "open" ||
          (release.status === "resolved" && release.fixed_version && release.fixed_version !== "0");
        if (!counts) continue;
        const ecosystem = `Debian:${CODENAMES[codename] ?? codename}`;
        if (!byEcosystem.has(ecosystem)) byEcosystem.set(ecosystem, new Set());
        byEcosystem.get(ecosystem)!.add(cve);
      }
    }
  }
  return byEcosystem;
}

function expectedAlpine(): Map<string, Set<string>> {
  const byEcosystem = new Map<string, Set<string>>();
  for (const file of files(sharedPath("vulns/alpine-secdb"))) {
    const text = readFileSync(file, "utf8");
    const doc = (file.endsWith(".json") ? JSON.parse(text) : yaml.load(text)) as {
      distroversion: string;
      packages: Array<{ pkg: { secfixes?: Record<string, string[] | null> } }> | object;
    };
    const ecosystem = `Alpine:${doc.distroversion}`;
    for (const entry of Array.isArray(doc.packages) ? doc.packages : []) {
      for (const [version, ids] of Object.entries(entry.pkg.secfixes ?? {})) {
        if (version === "0" || !Array.isArray(ids)) continue;
        for (const id of ids) {
          if (!byEcosystem.has(ecosystem)) byEcosystem.set(ecosystem, new Set());
          byEcosystem.get(ecosystem)!.add(id.split(" ")[0]!);
        }
      }
    }
  }
  return byEcosystem;
}

interface CsafDoc {
  product_tree: {
    branches: unknown[];
    relationships: Array<{
      full_product_name: { product_id: string };
      relates_to_product_reference: string;
    }>;
  };
  vulnerabilities: Array<{ cve: string; product_status: Record<string, string[]> }>;
}

/** product_id → CPE of the product_name branches of a CSAF product tree. */
function csafCpes(node: unknown, out = new Map<string, string>()): Map<string, string> {
  const branch = node as {
    product?: { product_id: string; product_identification_helper?: { cpe?: string } };
    branches?: unknown[];
  };
  const cpe = branch.product?.product_identification_helper?.cpe;
  if (branch.product && cpe) out.set(branch.product.product_id, cpe);
  for (const child of branch.branches ?? []) csafCpes(child, out);
  return out;
}

/**
 * Red Hat's records are one per CVE, under "Red Hat:<CPE without cpe:/[ao]:redhat:>" for every
 * product stream a CSAF product status (fixed, known_affected, known_not_affected) or a Security
 * Data API fix/state names.
 */
function expectedRedHat(): Map<string, Set<string>> {
  const byEcosystem = new Map<string, Set<string>>();
  const add = (cpe: string, cve: string) => {
    const ecosystem = `Red Hat:${cpe.replace(/^cpe:\/[ao]:redhat:/, "")}`;
    if (!byEcosystem.has(ecosystem)) byEcosystem.set(ecosystem, new Set());
    byEcosystem.get(ecosystem)!.add(cve);
  };
  for (const file of files(sharedPath("vulns/rhel-security-data/csaf-advisories"))) {
    const doc = JSON.parse(readFileSync(file, "utf8")) as CsafDoc;
    const cpes = csafCpes({ branches: doc.product_tree.branches });
    const parent = new Map(
      doc.product_tree.relationships.map((r) => [r.full_product_name.product_id, r.relates_to_product_reference]),
    );
    for (const vuln of doc.vulnerabilities) {
      for (const category of ["fixed", "known_affected", "known_not_affected"]) {
        for (const id of vuln.product_status[category] ?? []) {
          let product = parent.get(id)!;
          // A modular rpm is a component of a module build, itself a component of the stream.
          if (parent.has(product)) product = parent.get(product)!;
          add(cpes.get(product)!, vuln.cve);
        }
      }
    }
  }
  for (const file of files(sharedPath("vulns/rhel-security-data/cve-api"))) {
    const doc = JSON.parse(readFileSync(file, "utf8")) as {
      name: string;
      affected_release?: Array<{ cpe: string; package: string }>;
      package_state?: Array<{ cpe: string; fix_state: string }>;
    };
    for (const release of doc.affected_release ?? []) {
      if (/^[^:]+-\d+:[^-:]+-[^-]+$/.test(release.package)) add(release.cpe, doc.name);
    }
    for (const state of doc.package_state ?? []) {
      if (state.fix_state !== "Under investigation") add(state.cpe, doc.name);
    }
  }
  return byEcosystem;
}

describeWithShared("vulnerability DB built from every folder of ../shared/vulns", () => {
  let dbDir: string;
  let metadata: DatabaseMetadata;
  let store: VulnerabilityStore;
  const warnings: string[] = [];
  const osv = expectedOsv();

  beforeAll(async () => {
    dbDir = tempDir();
    metadata = await buildDatabase({ from: [sharedPath("vulns")], dbDir, warn: (w) => warnings.push(w) });
    store = await openDatabase(dbDir);
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dbDir, { recursive: true, force: true });
  });

  it("counts records per ecosystem as an independent parse of the inputs does", () => {
    const expected = new Map<string, Set<string>>();
    for (const doc of osv.values()) {
      for (const affected of doc.affected ?? []) {
        if (!affected.package) continue;
        const ecosystem = affected.package.ecosystem;
        if (!expected.has(ecosystem)) expected.set(ecosystem, new Set());
        expected.get(ecosystem)!.add(doc.id);
      }
    }
    for (const [ecosystem, ids] of [...expectedDebian(), ...expectedAlpine()]) {
      if (!expected.has(ecosystem)) expected.set(ecosystem, new Set());
      for (const id of ids) expected.get(ecosystem)!.add(`distro:${id}`);
    }
    for (const [ecosystem, ids] of expectedRedHat()) {
      if (!expected.has(ecosystem)) expected.set(ecosystem, new Set());
      for (const id of ids) expected.get(ecosystem)!.add(`redhat:${id}`);
    }
    const counts = Object.fromEntries([...expected].map(([ecosystem, ids]) => [ecosystem, ids.size]));
    expect(metadata.recordsByEcosystem).toEqual(counts);
    expect(metadata.ecosystems).toEqual(Object.keys(counts).sort());
    const distroRecords = new Set([...expectedDebian().values()].flatMap((s) => [...s])).size;
    const alpineRecords = new Set([...expectedAlpine().values()].flatMap((s) => [...s])).size;
    const redhatRecords = new Set([...expectedRedHat().values()].flatMap((s) => [...s])).size;
    expect(metadata.records).toBe(osv.size + distroRecords + alpineRecords + redhatRecords);
  });

  it("returns exactly the records whose affected[].package is the looked-up package", async () => {
    const expected = new Map<string, Set<string>>();
    for (const doc of osv.values()) {
      for (const affected of doc.affected ?? []) {
        if (!affected.package) continue;
        const { ecosystem, name } = affected.package;
        const key = `${ecosystem}\u0000${registryName(ecosystem, name)}`;
        if (!expected.has(key)) expected.set(key, new Set());
        expected.get(key)!.add(doc.id);
      }
    }
    // GHSA writes "Django" where PYSEC writes "django": both records belong to the one project.
    expect(expected.get("PyPI\u0000django")?.size).toBeGreaterThan(0);
    for (const [key, ids] of expected) {
      const [ecosystem, name] = key.split("\u0000") as [string, string];
      const records = await store.advisoriesFor(ecosystem, name);
      expect(records.map((r) => r.id).sort(), key).toEqual([...ids].sort());
    }
    expect(await store.advisoriesFor("PyPI", "no-such-package-anywhere")).toEqual([]);
    expect(await store.advisoriesFor("NoSuchEcosystem", "django")).toEqual([]);
  });

  it("applies PEP 503 to PyPI names and canonical ecosystem spelling", async () => {
    const canonical = (await store.advisoriesFor("PyPI", "jupyter-server")).map((r) => r.id).sort();
    expect(canonical.length).toBeGreaterThan(0);
    for (const variant of ["Jupyter_Server", "jupyter.server", "JUPYTER--server", "jupyter_-_server"]) {
      expect((await store.advisoriesFor("PyPI", variant)).map((r) => r.id).sort(), variant).toEqual(canonical);
    }
    expect((await store.advisoriesFor("pypi", "Django")).map((r) => r.id).sort()).toEqual(
      (await store.advisoriesFor("PyPI", "django")).map((r) => r.id).sort(),
    );
    // Go module paths are case-sensitive.
    const go = [...osv.values()].find((d) =>
      d.affected?.some((a) => a.package?.ecosystem === "Go" && /[a-z]/.test(a.package.name)),
    )!;
    const goName = go.affected!.find((a) => a.package?.ecosystem === "Go")!.package!.name;
    if (goName !== goName.toUpperCase()) expect(await store.advisoriesFor("Go", goName.toUpperCase())).toEqual([]);
  });

  it("turns the Debian tracker into Debian:<major> records with R3 statuses, keyed by codename too", async () => {
    const sope = await store.advisoriesFor("Debian:12", "sope");
    expect(sope.map((r) => r.id)).toEqual(["CVE-2025-53603"]);
    const bookworm = sope[0]!.affected!.find((a) => a.package?.ecosystem === "Debian:12")!;
    expect(bookworm.ranges![0]!.events).toEqual([{ introduced: "0" }, { fixed: "5.8.0-1+deb12u1" }]);
    expect(bookworm.database_specific!.stowaway).toMatchObject({ status: "fixed", source: "debian-security-tracker" });
    expect((await store.advisoriesFor("Debian:bookworm", "sope")).map((r) => r.id)).toEqual(["CVE-2025-53603"]);
    expect((await store.advisoriesFor("Debian:12.5", "sope")).map((r) => r.id)).toEqual(["CVE-2025-53603"]);

    const chromium = await store.advisoriesFor("Debian:10", "chromium");
    const buster = chromium[0]!.affected!.find((a) => a.package?.ecosystem === "Debian:10")!;
    expect(buster.database_specific!.stowaway).toMatchObject({ status: "end_of_life", vendorSeverity: "unknown" });
    expect(buster.ranges![0]!.events).toEqual([{ introduced: "0" }]);

    // fixed_version "0" means never affected: no record for CVE-2007-2383.
    const prototype = await store.advisoriesFor("Debian:9", "prototypejs");
    expect(prototype.map((r) => r.id)).toEqual(["CVE-2008-7220"]);
    const stretch = prototype[0]!.affected!.find((a) => a.package?.ecosystem === "Debian:9")!;
    expect(stretch.database_specific!.stowaway).toMatchObject({ status: "fixed", vendorSeverity: "high" });
  });

  it("turns Alpine secdb (JSON and YAML) into Alpine:v<branch> fixed records", async () => {
    const ansible = await store.advisoriesFor("Alpine:v3.12", "ansible");
    expect(ansible.map((r) => r.id)).toEqual(["CVE-2018-16876"]);
    expect(ansible[0]!.affected![0]!.ranges![0]!.events).toEqual([{ introduced: "0" }, { fixed: "2.7.9-r0" }]);
    const zlib = (await store.advisoriesFor("Alpine:v3.15", "zlib")).map((r) => r.id).sort();
    expect(zlib).toEqual(["CVE-2018-25032", "CVE-2022-37434"]);
    // The same CVE from an OSV record and from a distro feed stays two records.
    const both: OsvRecord[] = await store.advisoriesFor("Alpine:v3.15", "zsh");
    expect(both.every((r) => r.database_specific?.stowaway)).toBe(true);
  });

  it("loads KEV from both catalogs and EPSS from the valid CSVs", async () => {
    const catalogs = ["known_exploited_vulnerabilities.json", "vunnel-valid-catalog-1.json"].map(
      (f) =>
        JSON.parse(readFileSync(sharedPath("vulns/cisa-kev", f), "utf8")) as {
          vulnerabilities: Array<{ cveID: string }>;
        },
    );
    const ids = new Set(catalogs.flatMap((c) => c.vulnerabilities.map((v) => v.cveID)));
    expect(metadata.kevEntries).toBe(ids.size);
    expect(await store.kev("CVE-2025-48384")).toMatchObject({
      cveId: "CVE-2025-48384",
      dateAdded: "2025-08-25",
      dueDate: "2025-09-15",
    });
    expect(await store.kev("CVE-1900-0001")).toBeUndefined();
    expect(metadata.epssScores).toBe(5);
    expect(await store.epss("CVE-1999-0005")).toEqual({
      cveId: "CVE-1999-0005",
      score: 0.91963,
      percentile: 0.99214,
      date: "2025-02-20",
    });
  });

  it("warns once per skipped record or file, naming it", () => {
    expect(warnings.filter((w) => w.includes("nointroduced-CVE-2023-41045.json"))).toHaveLength(1);
    expect(warnings.filter((w) => w.includes("was withdrawn"))).toHaveLength(
      files(sharedPath("vulns")).filter(
        (f) => /\.(json|yaml)$/.test(f) && /\n\s*"?withdrawn"?\s*:/.test(readFileSync(f, "utf8")),
      ).length,
    );
    expect(warnings.some((w) => w.includes("vunnel-invalid-header.csv") && w.includes("EPSS header"))).toBe(true);
    expect(warnings.every((w) => !w.includes("\n"))).toBe(true);
  });

  it("records provenance, build time and schema version", () => {
    expect(metadata.schemaVersion).toBe(2);
    expect(Date.now() - Date.parse(metadata.builtAt)).toBeLessThan(10 * 60_000);
    const names = metadata.sources.map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "osv:PyPI",
        "osv:Go",
        "osv:crates.io",
        "debian-security-tracker",
        "alpine-secdb",
        "cisa-kev",
        "epss",
      ]),
    );
    expect(metadata.sources.every((s) => s.origin === sharedPath("vulns"))).toBe(true);
  });
});
