import { readFileSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createOsDetector } from "../../src/catalog/index.js";
import type { Package } from "../../src/catalog/types.js";
import { buildDatabase, openDatabase } from "../../src/index.js";
import { matchPackages } from "../../src/match/index.js";
import { renderReport } from "../../src/report/index.js";
import { fixText } from "../../src/report/view.js";
import type { Finding } from "../../src/result.js";
import type { OsvRecord } from "../../src/vulndb/osv.js";
import type { VulnerabilityStore } from "../../src/vulndb/types.js";
import { MemoryView } from "../helpers/memory-view.js";
import { compileSchema2020, errorsOf } from "../helpers/schema.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { tempDir } from "../vulndb/helpers.js";

/*
 * Canonical's OSV records with Ubuntu Pro (ESM) entries (../shared/vulns/osv-ubuntu/esm), compiled by
 * `db build`. Expected fixes and priorities are read from the records here.
 */

const work = tempDir("stowaway-ubuntu-esm-");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ESM_DIR = "vulns/osv-ubuntu/esm";

function record(id: string): OsvRecord {
  return JSON.parse(readFileSync(sharedPath(ESM_DIR, `${id}.json`), "utf8")) as OsvRecord;
}

function fixIn(rec: OsvRecord, ecosystem: string, name: string): string | undefined {
  const entry = rec.affected!.find((a) => a.package?.ecosystem === ecosystem && a.package.name === name)!;
  return entry.ranges?.[0]?.events.find((e) => e.fixed !== undefined)?.fixed;
}

function priority(rec: OsvRecord): string {
  return rec.severity!.find((s) => s.type === "Ubuntu")!.score;
}

function deb(name: string, version: string, ecosystem: string, source?: { name: string; version: string }): Package {
  return {
    id: `deb:${name}@${version}`,
    name,
    version,
    type: "deb",
    ecosystem,
    purl: `pkg:deb/ubuntu/${name}@${version}`,
    ...(source ? { source } : {}),
    locations: ["var/lib/dpkg/status"],
    layerIndex: 0,
  };
}

/** One version below `fixed` in dpkg order: the same string with its last digit run lowered by one. */
function below(fixed: string): string {
  return fixed.replace(/(\d+)(?!.*\d)/, (n) => String(Number(n) - 1));
}

describeWithShared("Ubuntu: priorities and fixes published only to ESM (Ubuntu Pro)", () => {
  let store: VulnerabilityStore;
  const wayland = record("UBUNTU-CVE-2021-3782");
  const netty = record("UBUNTU-CVE-2022-24823");
  const unzip = record("UBUNTU-CVE-2014-9913");

  beforeAll(async () => {
    const dbDir = path.join(work, "db");
    const warnings: string[] = [];
    await buildDatabase({ from: [sharedPath(ESM_DIR)], dbDir, warn: (m) => warnings.push(m) });
    // The sample's one withdrawn record is the only thing worth a warning.
    expect(warnings).toEqual([expect.stringMatching(/UBUNTU-CVE-2014-2901 was withdrawn/)]);
    store = await openDatabase(dbDir);
  });
  afterAll(async () => store?.close());

  const esmWaylandFix = () => fixIn(wayland, "Ubuntu:Pro:16.04:LTS", "wayland")!;
  const client = (ecosystem: string, version: string) =>
    deb("libwayland-client0", version, ecosystem, { name: "wayland", version });

  it("the sample has what this suite needs: an ESM-only fix for 16.04, a standard fix for 18.04", () => {
    expect(esmWaylandFix()).toMatch(/\+esm\d+$/);
    expect(wayland.affected!.some((a) => a.package?.ecosystem === "Ubuntu:16.04:LTS")).toBe(false);
    expect(fixIn(wayland, "Ubuntu:18.04:LTS", "wayland")).not.toMatch(/esm/);
  });

  it("never calls an ESM-only fix 'fixed' on an image without ESM, and says where the fix is", async () => {
    const installed = below(esmWaylandFix().replace(/\+esm\d+$/, ""));
    const { findings } = await matchPackages([client("Ubuntu:16.04:LTS", installed)], store);
    const finding = findings.find((f) => f.id === "CVE-2021-3782")!;
    expect(finding).toMatchObject({ status: "affected", esmFixedVersion: esmWaylandFix() });
    expect(finding.fixedVersion).toBeUndefined();
    expect(fixText(finding)).toContain(esmWaylandFix());
    expect(fixText(finding)).toMatch(/ESM/);
    // Canonical's priority is the vendor rating.
    expect(finding.severity).toBe(priority(wayland));
    expect(finding.severitySource).toBe("ubuntu");
  });

  it("reports the same fix as fixed on an ESM-enabled image", async () => {
    const installed = below(esmWaylandFix().replace(/\+esm\d+$/, ""));
    const { findings } = await matchPackages([client("Ubuntu:Pro:16.04:LTS", installed)], store);
    const finding = findings.find((f) => f.id === "CVE-2021-3782")!;
    expect(finding).toMatchObject({ status: "fixed", fixedVersion: esmWaylandFix() });
    expect(finding.esmFixedVersion).toBeUndefined();
    // At the ESM build, nothing is left.
    const patched = await matchPackages([client("Ubuntu:Pro:16.04:LTS", esmWaylandFix())], store);
    expect(patched.findings.filter((f) => f.id === "CVE-2021-3782")).toEqual([]);
  });

  it("counts an installed +esm build as ESM access", async () => {
    const installed = below(esmWaylandFix().replace(/\+esm\d+$/, ""));
    const esmBuild = deb("libc6", "2.23-0ubuntu11.3+esm1", "Ubuntu:16.04:LTS", {
      name: "glibc",
      version: "2.23-0ubuntu11.3+esm1",
    });
    const { findings } = await matchPackages([client("Ubuntu:16.04:LTS", installed), esmBuild], store);
    expect(findings.find((f) => f.id === "CVE-2021-3782")).toMatchObject({
      status: "fixed",
      fixedVersion: esmWaylandFix(),
    });
  });

  it("treats ~esm builds like +esm ones, and leaves standard fixes alone", async () => {
    const nettyFix = fixIn(netty, "Ubuntu:Pro:22.04:LTS", "netty")!;
    expect(nettyFix).toMatch(/~esm\d+$/);
    const jammy = deb("libnetty-java", "1:4.1.48-4", "Ubuntu:22.04:LTS", { name: "netty", version: "1:4.1.48-4" });
    const nettyFinding = (await matchPackages([jammy], store)).findings.find((f) => f.id === "CVE-2022-24823")!;
    expect(nettyFinding).toMatchObject({ status: "affected", esmFixedVersion: nettyFix, severity: priority(netty) });

    const bionicFix = fixIn(wayland, "Ubuntu:18.04:LTS", "wayland")!;
    const bionic = client("Ubuntu:18.04:LTS", below(bionicFix));
    const fixed = (await matchPackages([bionic], store)).findings.find((f) => f.id === "CVE-2021-3782")!;
    expect(fixed).toMatchObject({ status: "fixed", fixedVersion: bionicFix });
    expect(fixed.esmFixedVersion).toBeUndefined();

    // 14.04's unzip fix sits in the Pro feed but is no ESM build: it is an ordinary fix.
    const trustyFix = fixIn(unzip, "Ubuntu:Pro:14.04:LTS", "unzip")!;
    const trusty = deb("unzip", below(trustyFix), "Ubuntu:14.04:LTS", { name: "unzip", version: below(trustyFix) });
    expect((await matchPackages([trusty], store)).findings.find((f) => f.id === "CVE-2014-9913")).toMatchObject({
      status: "fixed",
      fixedVersion: trustyFix,
      severity: priority(unzip),
    });
  });

  it("validates against the result schema with esmFixedVersion", async () => {
    const installed = below(esmWaylandFix().replace(/\+esm\d+$/, ""));
    const { findings } = await matchPackages([client("Ubuntu:16.04:LTS", installed)], store);
    const validate = compileSchema2020(path.resolve(__dirname, "../../schemas/scan-result.schema.json"));
    const finding: Finding = findings.find((f) => f.id === "CVE-2021-3782")!;
    const doc = {
      schemaVersion: 1,
      scanner: { name: "stowaway", version: "0.0.0" },
      artifact: {
        reference: "test",
        manifestDigest: `sha256:${"0".repeat(64)}`,
        configDigest: `sha256:${"1".repeat(64)}`,
        platform: { os: "linux", architecture: "amd64" },
        os: { family: "ubuntu", version: "16.04", ecosystem: "Ubuntu:16.04:LTS" },
        layers: [],
      },
      packages: [],
      findings: [finding],
      warnings: [],
    };
    const valid = validate(doc);
    expect(valid, errorsOf(validate)).toBe(true);
    // Every report says where the fix is rather than "no fix".
    const result = doc as unknown as Parameters<typeof renderReport>[1];
    for (const format of ["table", "gitlab", "sarif", "junit", "json"] as const) {
      expect(renderReport(format, result), format).toContain(esmWaylandFix());
    }
    // Markdown escapes punctuation (~ + and parentheses); the text is the same once unescaped.
    expect(renderReport("markdown", result).replace(/\\(.)/g, "$1")).toContain(`${esmWaylandFix()} (fixed in ESM`);
  });
});

describeWithShared("Ubuntu: how an image is known to have ESM access", () => {
  const detector = createOsDetector();
  const osRelease = () => readFileSync(sharedPath("fixtures/snyk-docker-plugin/os/ubuntu_16_04/fs/etc/os-release"));

  it("an esm.ubuntu.com apt source selects the Pro feed", () => {
    const os = detector.detect(
      new MemoryView({
        "etc/os-release": osRelease(),
        "etc/apt/sources.list.d/ubuntu-esm-infra.list":
          "deb https://esm.ubuntu.com/infra/ubuntu xenial-infra-security main\n",
      }),
    );
    expect(os.ecosystem).toBe("Ubuntu:Pro:16.04:LTS");
    expect(os.esm).toContain("etc/apt/sources.list.d/ubuntu-esm-infra.list");
  });

  it("a commented-out ESM source, or none, does not", () => {
    const variants: Record<string, string>[] = [
      {
        "etc/apt/sources.list.d/ubuntu-esm-infra.list":
          "# deb https://esm.ubuntu.com/infra/ubuntu xenial-infra-security main\n",
      },
      {},
    ];
    for (const files of variants) {
      const os = detector.detect(new MemoryView({ "etc/os-release": osRelease(), ...files }));
      expect(os.ecosystem).toBe("Ubuntu:16.04:LTS");
      expect(os.esm).toBeUndefined();
    }
  });

  it("the Pro client's status with an enabled esm service selects it too (trivy's fixtures)", () => {
    const status = (file: string) =>
      detector.detect(
        new MemoryView({
          "etc/os-release": osRelease(),
          "var/lib/ubuntu-advantage/status.json": readFileSync(sharedPath(`fixtures/os-release/trivy/ubuntu/${file}`)),
        }),
      );
    expect(status("esm_enabled_status.json").ecosystem).toBe("Ubuntu:Pro:16.04:LTS");
    expect(status("esm_disabled_status.json").ecosystem).toBe("Ubuntu:16.04:LTS");
  });

  it("lists the sample files this suite reads", () => {
    expect(readdirSync(sharedPath(ESM_DIR))).toContain("UBUNTU-CVE-2021-3782.json");
  });
});
