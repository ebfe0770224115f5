/**
 * Keeps the scale benchmark (bench/scale.ts, `npm run bench`) from rotting: every phase runs at a
 * tiny size through the same code (corpus generation, `db build --from` through the built CLI, the
 * lookup and rescan phases in their own processes, a real docker-registry scan and rescan). Sizes
 * and timings are not asserted, only that each phase ran and its counts are consistent.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatScale, runScale, type ScaleOptions } from "../../../bench/scale.js";
import { HAS_REGISTRY } from "../helpers/registry-server.js";
import { tempDir } from "../helpers/temp-dir.js";

const root = path.resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const built = existsSync(path.join(root, "cli/dist/main.js")) && existsSync(path.join(root, "core/dist/index.js"));

describe.runIf(built)("scale benchmark, smoke size", () => {
  it("builds, looks up, rescans and scans a registry", async () => {
    const options: ScaleOptions = {
      scale: 0.001,
      lookups: 100,
      rescanImages: 12,
      registryImages: 3,
      cacheDir: tempDir("stowaway-bench-smoke-"),
      phases: HAS_REGISTRY ? ["build", "lookup", "rescan", "registry"] : ["build", "lookup", "rescan"],
    };
    const results = await runScale(options);
    expect(results.records).toBeGreaterThan(500);
    expect(results.build!.maxRssMiB).toBeGreaterThan(0);
    expect(results.lookup!.packages).toBe(100);
    expect(results.rescan!.images).toBe(12);
    expect(results.rescan!.firstChanges).toBeGreaterThan(0);
    // Same database twice: the second rescan finds nothing new.
    expect(results.rescan!.secondChanges).toBe(0);
    if (HAS_REGISTRY) {
      expect(results.registry!.layersDecompressed).toBe(results.registry!.uniqueLayers);
      expect(results.registry!.rescanBlobRequests).toBe(0);
    }
    expect(formatScale(results, options)).toContain("db build --from");
  });
});
