import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cliHarness } from "./harness.js";
import { describeWithShared, sharedPath } from "../../core/test/helpers/shared.js";
import { HOSTILE, unsafeLines } from "../../core/test/helpers/log-safety.js";

const { stowaway, work: workDir } = cliHarness("stowaway-cli-db-");

function record(id: string, name: string) {
  return {
    id,
    modified: "2024-01-01T00:00:00Z",
    affected: [
      {
        package: { ecosystem: "PyPI", name },
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "9" }] }],
      },
    ],
  };
}

describe("stowaway db", () => {
  it("builds, reports status, warns past --max-age and fails with --fail-on-stale", () => {
    const input = path.join(workDir(), "in.json");
    writeFileSync(input, JSON.stringify(record("PYSEC-2024-1", "Requests")));
    const dbDir = path.join(workDir(), "db");
    const build = stowaway(["db", "build", "--from", input, "--db", dbDir]);
    expect(build.stderr).toBe("");
    expect(build.code).toBe(0);
    expect(build.stdout).toBe(`built ${dbDir}: 1 records in 1 ecosystems, 0 KEV entries, 0 EPSS scores, 1 sources\n`);

    const status = stowaway(["db", "status", "--db", dbDir, "--max-age", "7d"]);
    expect(status.code).toBe(0);
    expect(status.stderr).toBe("");
    expect(status.stdout).toContain(`database:   ${dbDir}`);
    expect(status.stdout).toMatch(/osv:PyPI\s+1 {2}fetched /);

    // Age is measured against the build time, so a just-built DB is older than 0 seconds only by a hair.
    const stale = stowaway(["db", "status", "--db", dbDir, "--max-age", "0s"]);
    expect(stale.code).toBe(0);
    expect(stale.stderr).toMatch(
      /^warning: the vulnerability database at .* was built .* ago, over --max-age 0s; run `stowaway db update`\n$/,
    );

    const failing = stowaway(["db", "status", "--db", dbDir, "--max-age", "0s", "--fail-on-stale"]);
    expect(failing.code).toBe(2);
    expect(failing.stderr).toMatch(
      /^stowaway: error: the vulnerability database at .* over --max-age 0s; run `stowaway db update`\n$/,
    );

    const json = stowaway(["db", "status", "--db", dbDir, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      dbDir,
      schemaVersion: 2,
      records: 1,
      stale: false,
      ecosystems: ["PyPI"],
    });
  });

  it("uses $XDG_CACHE_HOME/stowaway/db by default", () => {
    const input = path.join(workDir(), "in2.json");
    writeFileSync(input, JSON.stringify(record("PYSEC-2024-2", "flask")));
    const cache = path.join(workDir(), "xdg");
    const build = stowaway(["db", "build", "--from", input], { XDG_CACHE_HOME: cache });
    expect(build.code).toBe(0);
    expect(existsSync(path.join(cache, "stowaway/db/CURRENT"))).toBe(true);
  });

  it("exports and imports a bundle", () => {
    const input = path.join(workDir(), "in3.json");
    writeFileSync(input, JSON.stringify(record("PYSEC-2024-3", "django")));
    const dbDir = path.join(workDir(), "db3");
    expect(stowaway(["db", "build", "--from", input, "--db", dbDir]).code).toBe(0);
    const bundle = path.join(workDir(), "db3.tar.gz");
    const exported = stowaway(["db", "export", bundle, "--db", dbDir]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/^exported \d+ files \(built .*\) to .*db3\.tar\.gz\n$/);
    const target = path.join(workDir(), "imported");
    const imported = stowaway(["db", "import", bundle, "--db", target]);
    expect(imported.stderr).toBe("");
    expect(imported.code).toBe(0);
    const current = (dir: string) =>
      readFileSync(path.join(dir, readFileSync(path.join(dir, "CURRENT"), "utf8").trim(), "metadata.json"), "utf8");
    expect(current(target)).toBe(current(dbDir));
  });

  it("prints one-line errors and exits 2", () => {
    const missing = stowaway(["db", "status", "--db", path.join(workDir(), "none")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^stowaway: error: no vulnerability database at .*none; run `stowaway db update`.*\n$/,
    );
    const badAge = stowaway(["db", "status", "--db", path.join(workDir(), "db"), "--max-age", "soon"]);
    expect(badAge.code).toBe(2);
    expect(badAge.stderr).toBe('stowaway: error: --max-age "soon" is not a duration; use e.g. 7d, 36h, 90m, 2w\n');
    const notBundle = path.join(workDir(), "not-a-bundle.tar.gz");
    writeFileSync(notBundle, "plain text");
    const badImport = stowaway(["db", "import", notBundle, "--db", path.join(workDir(), "x")]);
    expect(badImport.code).toBe(2);
    expect(badImport.stderr.split("\n")).toHaveLength(2);
  });
});

describe("stowaway db with a hostile feed record", () => {
  it("build, status (table and JSON) and export print feed-derived names inert, on their own lines", () => {
    // A release suffix (OSV allows any text after "Debian:") carrying CI commands, an escape and a
    // C1 control: it becomes a source name and an ecosystem key that `db status` lists.
    const ecosystem = `Debian:12${HOSTILE.azure}${HOSTILE.ansi}${HOSTILE.teamcity}${HOSTILE.c1}`;
    const input = path.join(workDir(), "hostile.json");
    const hostile = record("PYSEC-2099-1", "requests");
    hostile.affected[0]!.package.ecosystem = ecosystem;
    writeFileSync(input, JSON.stringify(hostile));
    const dbDir = path.join(workDir(), "hostile-db");
    const build = stowaway(["db", "build", "--from", input, "--db", dbDir]);
    expect(build.code, build.stderr).toBe(0);
    const status = stowaway(["db", "status", "--db", dbDir]);
    expect(status.code, status.stderr).toBe(0);
    const json = stowaway(["db", "status", "--db", dbDir, "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const bundle = path.join(workDir(), "hostile.tgz");
    const exported = stowaway(["db", "export", bundle, "--db", dbDir]);
    expect(exported.code, exported.stderr).toBe(0);
    for (const run of [build, status, json, exported]) {
      expect(unsafeLines(run.stdout)).toEqual([]);
      expect(unsafeLines(run.stderr)).toEqual([]);
    }
    // Still readable, and the JSON parses back to the exact stored name.
    expect(status.stdout).toContain("Debian:12#\\#vso[task.setvariable");
    expect(status.stdout.split("\n").some((line) => line.includes("\\x1b[31m"))).toBe(true);
    // (The builder lower-cases a Debian release suffix.)
    expect(JSON.parse(json.stdout).ecosystems).toEqual([ecosystem.toLowerCase().replace("debian", "Debian")]);
  });
});

describeWithShared("stowaway db build on ../shared/vulns", () => {
  it("builds from every folder, warning about the files it cannot use", () => {
    const dbDir = path.join(workDir(), "shared-db");
    const result = stowaway(["db", "build", "--from", sharedPath("vulns"), "--db", dbDir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^built .*: \d+ records in \d+ ecosystems, \d+ KEV entries, 5 EPSS scores, \d+ sources\n$/,
    );
    expect(result.stderr).toMatch(
      /warning: .*nointroduced-CVE-2023-41045\.json: record CVE-2023-41045 is not a valid OSV record/,
    );
    expect(
      result.stderr
        .split("\n")
        .filter(Boolean)
        .every((line) => line.startsWith("warning: ")),
    ).toBe(true);
  });
});
