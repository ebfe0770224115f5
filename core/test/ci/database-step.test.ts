import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildDatabase, hasDatabase, provisionDatabase, parseCommonInputs } from "../../src/index.js";
import { retryDelayMs } from "../../src/vulndb/download.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("the database step's pieces", () => {
  it("Retry-After: delay-seconds, an HTTP date, else a doubling back-off", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryDelayMs("3", 0, now)).toBe(3000);
    expect(retryDelayMs("Thu, 01 Jan 2026 00:00:10 GMT", 0, now)).toBe(10_000);
    expect(retryDelayMs("Wed, 31 Dec 2025 23:59:00 GMT", 0, now)).toBe(0);
    expect(retryDelayMs(undefined, 0, now)).toBe(1000);
    expect(retryDelayMs("soon", 2, now)).toBe(4000);
  });

  it("a failed build or update removes the directory it created, so no empty database is left", async () => {
    const work = tempDir("stowaway-staged-");
    const dir = path.join(work, "db");
    // Read without error but holding no advisory: the build fails inside the staged directory.
    const empty = path.join(work, "empty.json");
    writeFileSync(empty, "[]");
    await expect(buildDatabase({ from: [empty], dbDir: dir })).rejects.toThrow(/no usable vulnerability data/);
    expect(existsSync(dir)).toBe(false);
  });

  it("an empty directory is not a database: a given db that is empty leaves the run without one, saying so", async () => {
    const dir = tempDir("stowaway-empty-db-");
    mkdirSync(path.join(dir, "db"));
    expect(hasDatabase(path.join(dir, "db"))).toBe(false);
    const inputs = parseCommonInputs(
      (name) => ({ image: "oci-archive:/nowhere.tar", db: path.join(dir, "db") })[name],
      {
        outputDir: dir,
      },
    );
    const step = await provisionDatabase(inputs, { env: {}, now: new Date() });
    expect(step.state).toBe("missing");
    expect(step.reason).toMatch(/^no vulnerability database at .*db \(input db\); set db-mirror/);
  });
});
