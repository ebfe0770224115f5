import { rmSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  buildDatabase,
  databaseStatus,
  formatDatabaseStatus,
  normalizeEcosystem,
  normalizePackageName,
  openDatabase,
  parseDuration,
} from "../../src/index.js";
import { deriveDebianState, severityFromUrgency } from "../../src/vulndb/sources/debian.js";
import { osvRecord, tempDir } from "./helpers.js";

const work = tempDir();
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("Debian tracker states (R3)", () => {
  it.each([
    [
      { status: "resolved", fixed_version: "1.2-1" },
      { status: "fixed", fixed: "1.2-1" },
    ],
    [{ status: "resolved", fixed_version: "0" }, undefined],
    [{ status: "open" }, { status: "affected" }],
    [{ status: "open", nodsa: "Minor issue", nodsa_reason: "" }, { status: "affected" }],
    [{ status: "open", nodsa: "x", nodsa_reason: "ignored" }, { status: "will_not_fix" }],
    [{ status: "open", nodsa: "x", nodsa_reason: "postponed" }, { status: "fix_deferred" }],
    [{ status: "open", urgency: "end-of-life" }, { status: "end_of_life" }],
    [{ status: "undetermined" }, undefined],
    [{ status: "not-affected" }, undefined],
  ])("%j → %j", (entry, expected) => {
    expect(deriveDebianState(entry)).toEqual(expected);
  });

  it("maps urgency to severity", () => {
    expect(
      ["unimportant", "low**", "medium*", "high", "not yet assigned", "end-of-life"].map(severityFromUrgency),
    ).toEqual(["low", "low", "medium", "high", "unknown", "unknown"]);
  });

  it("uses distributions.json for codenames the built-in table does not know", async () => {
    const dir = path.join(work, "deb");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, "a-tracker.json"),
      JSON.stringify({ curl: { "CVE-2030-1": { releases: { zebra: { status: "open", urgency: "low" } } } } }),
    );
    writeFileSync(
      path.join(dir, "b-distributions.json"),
      JSON.stringify({ zebra: { "major-version": "42", support: "security" } }),
    );
    await buildDatabase({ from: [dir], dbDir: path.join(work, "deb-db") });
    const store = await openDatabase(path.join(work, "deb-db"));
    expect((await store.advisoriesFor("Debian:42", "curl")).map((r) => r.id)).toEqual(["CVE-2030-1"]);
    await store.close();
  });
});

describe("name normalisation", () => {
  it.each([
    ["PyPI", "Zope.Interface", "zope-interface"],
    ["PyPI", "typing_extensions", "typing-extensions"],
    ["NuGet", "Newtonsoft.Json", "newtonsoft.json"],
    ["Maven", "org.apache.logging.log4j/log4j-core", "org.apache.logging.log4j:log4j-core"],
    ["Maven", "org.apache.logging.log4j:log4j-core", "org.apache.logging.log4j:log4j-core"],
    ["Go", "github.com/Masterminds/semver/", "github.com/Masterminds/semver"],
    ["npm", "@Scope/Pkg", "@Scope/Pkg"],
  ])("%s %s → %s", (ecosystem, name, expected) => {
    expect(normalizePackageName(ecosystem, name)).toBe(expected);
  });

  it.each([
    ["pypi", "PyPI"],
    ["Debian:bookworm", "Debian:12"],
    ["Debian:12.4", "Debian:12"],
    ["Debian:sid", "Debian:sid"],
    ["Alpine:v3.19", "Alpine:v3.19"],
    ["Ubuntu:22.04:LTS", "Ubuntu:22.04:LTS"],
    ["CRATES.IO", "crates.io"],
  ])("ecosystem %s → %s", (ecosystem, expected) => {
    expect(normalizeEcosystem(ecosystem)).toBe(expected);
  });
});

describe("db status", () => {
  it("reports age and flags a database past --max-age", async () => {
    const input = path.join(work, "r.json");
    writeFileSync(input, JSON.stringify(osvRecord("GHSA-9999-8888-7777", "npm", "x")));
    utimesSync(input, new Date("2024-05-01T00:00:00Z"), new Date("2024-05-01T00:00:00Z"));
    const dbDir = path.join(work, "status-db");
    await buildDatabase({ from: [input], dbDir, now: new Date("2025-01-01T00:00:00Z") });
    const fresh = await databaseStatus(dbDir, { now: new Date("2025-01-03T00:00:00Z"), maxAgeMs: parseDuration("7d") });
    expect(fresh).toMatchObject({ ageMs: 2 * 86_400_000, stale: false });
    const old = await databaseStatus(dbDir, { now: new Date("2025-01-09T00:00:01Z"), maxAgeMs: parseDuration("7d") });
    expect(old.stale).toBe(true);
    const text = formatDatabaseStatus(old);
    expect(text).toContain("built:      2025-01-01T00:00:00.000Z (8d 0h ago)");
    expect(text).toMatch(/osv:npm\s+1 {2}fetched 2024-05-01T00:00:00.000Z {2}from .*r\.json/);
    expect(() => parseDuration("7 days")).toThrow(/--max-age "7 days" is not a duration/);
    expect(parseDuration("36h")).toBe(36 * 3_600_000);
  });
});
