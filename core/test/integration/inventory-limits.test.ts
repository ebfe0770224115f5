import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { parsePolicy } from "../../src/policy/index.js";
import { renderReport } from "../../src/report/index.js";
import type { ScanResult } from "../../src/result.js";
import { scan, type ScanOptions } from "../../src/scan.js";
import { buildImage, buildLayer, writeOciLayout, type LayerEntry } from "../helpers/image-builder.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { tempDir } from "../helpers/temp-dir.js";

const MiB = 1024 * 1024;
const STATUS = "var/lib/dpkg/status";
const statusFixture = (): string =>
  readFileSync(sharedPath("fixtures/os-packages/dpkg/trivy/valid.extracted/var/lib/dpkg/status"), "utf8");

/** The installed packages of a dpkg status, read with a plain regex walk (not the cataloger's parser). */
function installedNames(status: string): string[] {
  return status
    .split(/\n\s*\n/)
    .filter((stanza) => /^Status: .* installed$/m.test(stanza))
    .map((stanza) => /^Package: (.+)$/m.exec(stanza)![1]!.trim())
    .sort();
}

/**
 * The status file with a field of `bytes` of continuation lines in its first stanza: what an image
 * author does to push the database past a size bound. dpkg keeps unknown fields, so it stays valid.
 */
function padded(status: string, bytes: number): string {
  const line = ` ${"x".repeat(1022)}\n`;
  return `X-Padding: start\n${line.repeat(Math.ceil(bytes / line.length))}${status}`;
}

const gatePolicy = parsePolicy("version: 1\ngate:\n  failOnIncompleteInventory: true\n", "gate.yaml");
const lenientPolicy = parsePolicy("version: 1\ngate:\n  failOn: critical\n", "lenient.yaml");

async function scanLayers(layers: LayerEntry[][], options: ScanOptions = {}): Promise<ScanResult> {
  const dir = tempDir("stowaway-limits-");
  const built = await Promise.all(layers.map((entries) => buildLayer(entries, { compression: "none" })));
  await writeOciLayout(path.join(dir, "layout"), { images: [{ image: buildImage({ layers: built }), tag: "t" }] });
  return scan(`oci:${path.join(dir, "layout")}:t`, { cacheDir: false, ...options });
}

const names = (result: ScanResult, type: string): string[] =>
  result.packages
    .filter((pkg) => pkg.type === type)
    .map((pkg) => pkg.name)
    .sort();

describeWithShared("size bounds never drop an inventory silently", () => {
  it("reads a dpkg status padded past 64 MiB and finds every installed package, with no gap", async () => {
    const status = statusFixture();
    const expected = installedNames(status);
    expect(expected).toHaveLength(90);
    const content = Buffer.from(padded(status, 65 * MiB));
    expect(content.length).toBeGreaterThan(64 * MiB);
    const result = await scanLayers([[{ path: STATUS, content }]], { policy: gatePolicy });
    expect(names(result, "deb")).toEqual(expected);
    expect(result.incomplete).toBeUndefined();
    expect(result.warnings.filter((warning) => warning.startsWith("inventory-incomplete"))).toEqual([]);
    expect(result.policy?.outcome).toBe("pass");
  }, 120_000);

  it("reports a status over the bound as inventory-incomplete, hides no stale copy, and the gate can fail on it", async () => {
    const status = statusFixture();
    const limits = { maxFileBytes: 1 * MiB };
    const result = await scanLayers(
      [[{ path: STATUS, content: status }], [{ path: STATUS, content: padded(status, 2 * MiB) }]],
      { limits, policy: gatePolicy },
    );
    // The upper copy replaced the lower one; listing the lower one's packages would be a stale answer.
    expect(names(result, "deb")).toEqual([]);
    expect(result.incomplete).toEqual([expect.objectContaining({ code: "inventory-incomplete", path: STATUS })]);
    expect(result.warnings.some((warning) => warning.startsWith(`inventory-incomplete: "${STATUS}"`))).toBe(true);
    expect(result.policy?.outcome).toBe("fail");
    expect(result.policy?.violations).toEqual([
      expect.objectContaining({ rule: "gate.failOnIncompleteInventory", message: expect.stringContaining(STATUS) }),
    ]);

    const lenient = await scanLayers([[{ path: STATUS, content: padded(status, 2 * MiB) }]], {
      limits,
      policy: lenientPolicy,
    });
    // Without the rule the gap is reported but does not fail the build.
    expect(lenient.incomplete).toHaveLength(1);
    expect(lenient.policy?.outcome).toBe("pass");
  }, 120_000);

  it("reports an oversized RPM database instead of listing nothing", async () => {
    const rpmdb = readFileSync(sharedPath("fixtures/os-packages/rpm/cbl-mariner-2.0/rpmdb.sqlite"));
    const location = "var/lib/rpm/rpmdb.sqlite";
    const whole = await scanLayers([[{ path: location, content: rpmdb }]]);
    expect(names(whole, "rpm").length).toBeGreaterThan(0);
    expect(whole.incomplete).toBeUndefined();

    const bounded = await scanLayers([[{ path: location, content: rpmdb }]], {
      limits: { maxFileBytes: Math.floor(rpmdb.length / 2) },
      policy: gatePolicy,
    });
    expect(names(bounded, "rpm")).toEqual([]);
    expect(bounded.incomplete?.map((gap) => gap.path)).toEqual([location]);
    expect(bounded.incomplete?.[0]?.message).toContain(`${rpmdb.length} bytes`);
    expect(bounded.policy?.outcome).toBe("fail");
  }, 120_000);

  it("reports a package.json over the npm bound, by path and cataloger, and keeps the other packages", async () => {
    const huge = JSON.stringify({ name: "huge", version: "1.0.0", description: "y".repeat(5 * MiB) });
    const result = await scanLayers(
      [
        [
          { path: "app/node_modules/huge/package.json", content: huge },
          { path: "app/node_modules/small/package.json", content: '{"name":"small","version":"2.0.0"}' },
        ],
      ],
      { policy: gatePolicy },
    );
    expect(names(result, "npm")).toEqual(["small"]);
    expect(result.incomplete).toEqual([
      {
        code: "inventory-incomplete",
        path: "app/node_modules/huge/package.json",
        message: expect.stringMatching(new RegExp(`^not read by npm \\(${4 * MiB} bytes\\): ${huge.length} bytes`)),
      },
    ]);
    expect(result.policy?.outcome).toBe("fail");

    // Every report that shows warnings shows this one; SARIF carries the gaps as run properties.
    for (const format of ["table", "markdown"] as const) {
      // Markdown escapes the underscore; the code and the file name survive either way.
      const text = renderReport(format, result).replace(/\\_/g, "_");
      expect(text, format).toContain('inventory-incomplete: "app/node_modules/huge/package.json" not read by npm');
    }
    const sarif = JSON.parse(renderReport("sarif", result)) as {
      runs: { properties: { inventoryIncomplete?: string[] } }[];
    };
    expect(sarif.runs[0]!.properties.inventoryIncomplete).toEqual(["app/node_modules/huge/package.json"]);
  }, 120_000);
});
