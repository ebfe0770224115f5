/**
 * Counts in the text renderers agree with their noun: "1 layer", "1 package", "1 image", "2 images".
 * Expected strings follow the fixture's counts (one layer, one package, one registry, ...).
 */
import { describe, expect, it } from "vitest";
import type { InventoryReport } from "../../src/inventory/report-data.js";
import { renderReport } from "../../src/report/formats.js";
import { renderInventoryReport } from "../../src/report/inventory.js";
import { webhookPayload } from "../../src/inventory/notify.js";
import { fixtureResult } from "../policy/fixtures/scan-result.js";

describe("counts in report lines", () => {
  const full = fixtureResult();
  const single = fixtureResult({
    artifact: { ...full.artifact, layers: full.artifact.layers.slice(0, 1) },
    packages: full.packages.slice(0, 1),
  });

  it("a one-layer, one-package image reads 1 layer / 1 package", () => {
    expect(renderReport("table", single)).toContain(", 1 layer, ");
    expect(renderReport("html", single)).toContain(" · 1 package · ");
    const { findings: _, ...unmatched } = single;
    expect(renderReport("markdown", unmatched)).toContain(
      "No vulnerability database was used: 1 package inventoried, none checked.",
    );
  });

  it("several stay plural", () => {
    expect(full.artifact.layers.length).toBeGreaterThan(1);
    expect(renderReport("table", full)).toContain(`, ${full.artifact.layers.length} layers, `);
  });

  it("the inventory report says 1 repository, 1 image, 1 container ... in every format", () => {
    const report = {
      generatedAt: "2026-12-07T00:00:00Z",
      store: "sqlite:/tmp/store.sqlite",
      registries: [{ registry: "registry.test", repositories: 1, images: 1 }],
      repositories: [],
      images: [],
      changes: [],
      cve: {
        id: "CVE-2099-0001",
        images: [
          {
            digest: `sha256:${"a".repeat(64)}`,
            references: ["registry.test/app:1"],
            packageName: "openssl",
            installedVersion: "3.0.1",
          },
        ],
        tags: 1,
        repositories: 1,
        registries: 1,
      },
      running: { clusters: 1, containers: 1, images: 1, exposed: 1, drift: 0, neverScanned: 0, denied: 0 },
    } as unknown as InventoryReport;
    const table = renderInventoryReport("table", report);
    expect(table).toContain("Registry registry.test: 1 repository, 1 image");
    expect(table).toContain("CVE-2099-0001: 1 image, 1 tag, 1 repository, 1 registry");
    expect(table).toContain("1 container in 1 cluster runs 1 image: ");
    expect(renderInventoryReport("markdown", report)).toContain("**: 1 repository, 1 image");
    expect(renderInventoryReport("html", report)).toContain("<p>1 image, 1 tag, 1 repository</p>");
  });

  it("the rescan webhook says 1 new finding", () => {
    const payload = webhookPayload({
      kind: "rescan",
      target: "",
      newFindings: 1,
      fixedFindings: 0,
      newlyFixable: 0,
      findings: [],
    } as unknown as Parameters<typeof webhookPayload>[0]);
    expect(String(payload["text"])).toMatch(/^Stowaway rescan of the store: 1 new finding, 0 fixed, 0 newly fixable/);
  });
});
