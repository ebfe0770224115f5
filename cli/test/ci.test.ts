import { cpSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import xml2js from "xml2js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIRROR_EXPECTED, NO_PROXY_ENV, startDbMirror, type DbMirror } from "../../core/test/helpers/db-mirror.js";
import { pushArchive, readArchiveJson } from "../../core/test/helpers/registry-push.js";
import { describeWithRegistry, startRegistry, type RegistryServer } from "../../core/test/helpers/registry-server.js";
import { cliHarness, demoArchive, demoDb } from "./harness.js";

const { stowaway, work } = cliHarness("stowaway-cli-ci-");
const image = `oci-archive:${demoArchive}`;

interface Outcome {
  outcome: string;
  counts: Record<string, number>;
  reports: Record<string, string>;
  database: { state: string; reason?: string };
  gate: { failOn?: string };
  warnings: string[];
  verdict: string;
}

let runs = 0;
/** One `stowaway ci` in a fresh runner: its own HOME (so its own cache and database) and output dir. */
function ci(variables: Record<string, string>, home = path.join(work(), `home-${++runs}`)) {
  mkdirSync(home, { recursive: true });
  const out = path.join(home, "out");
  const run = stowaway(["ci"], { ...NO_PROXY_ENV, HOME: home, STOWAWAY_OUTPUT_DIR: out, ...variables });
  const file = path.join(out, "stowaway-outcome.json");
  const outcome = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Outcome) : undefined;
  return { ...run, home, out, outcome };
}

describe("stowaway ci on a fresh runner (only the image and a loopback mirror)", () => {
  let mirror: DbMirror;
  let dead: DbMirror;
  beforeAll(async () => {
    mirror = await startDbMirror();
    dead = await startDbMirror({ status: 404 });
  });
  afterAll(async () => {
    await mirror.close();
    await dead.close();
  });

  it("provisions the database, applies the default gate (critical) and fails: exit 1, outcome file, reports", async () => {
    const run = ci({ STOWAWAY_IMAGE: image, STOWAWAY_DB_MIRROR: mirror.url });
    expect(run.code, run.stderr).toBe(1);
    expect(run.outcome!.outcome).toBe(MIRROR_EXPECTED.outcome);
    expect(run.outcome!.gate.failOn).toBe("critical");
    expect(run.outcome!.database.state).toBe("updated");
    expect(run.outcome!.counts).toEqual({ critical: 1, high: 0, medium: 1, low: 0, negligible: 0, unknown: 0 });
    // The findings table for the log, then the verdict as the last line.
    expect(run.stdout).toContain(MIRROR_EXPECTED.critical[0]);
    expect(run.stdout.trim().split("\n").at(-1)).toBe(
      `stowaway: FAIL ${image}: 1 critical, 0 high, 1 medium, 0 low, 0 negligible, 0 unknown; 1 policy violations, 0 suppressed`,
    );
    expect(Object.keys(run.outcome!.reports).sort()).toEqual(["html", "json", "junit", "sarif"]);
    for (const file of Object.values(run.outcome!.reports)) expect(existsSync(file), file).toBe(true);
    const json = JSON.parse(readFileSync(run.outcome!.reports.json!, "utf8"));
    expect(json.findings.map((finding: { id: string }) => finding.id).sort()).toEqual([
      ...MIRROR_EXPECTED.critical,
      ...MIRROR_EXPECTED.medium,
    ]);
    // JUnit: the verdict test case failed with the gate.
    const junit = await xml2js.parseStringPromise(readFileSync(run.outcome!.reports.junit!, "utf8"));
    const cases = (junit.testsuites.testsuite as { testcase: { $: { name: string }; failure?: unknown }[] }[]).flatMap(
      (suite) => suite.testcase,
    );
    expect(cases.find((testcase) => testcase.$.name === "verdict")?.failure).toBeDefined();

    // The next run on the same runner (its cache restored) finds the database fresh: no download.
    const before = mirror.requests();
    const again = ci({ STOWAWAY_IMAGE: image, STOWAWAY_DB_MIRROR: mirror.url }, run.home);
    expect(again.code).toBe(1);
    expect(mirror.requests()).toBe(before);
    expect(again.outcome!.database.state).toBe("cached");
  });

  it("fail-on none turns the gate off (exit 0, pass); the report filter never hides the violating finding", async () => {
    const off = ci({ STOWAWAY_IMAGE: image, STOWAWAY_DB_MIRROR: mirror.url, STOWAWAY_FAIL_ON: "none" });
    expect(off.code, off.stderr).toBe(0);
    expect(off.outcome!.outcome).toBe("pass");
    expect(off.stdout).toMatch(/\nstowaway: PASS [^\n]*\n$/);

    const filtered = ci({
      STOWAWAY_IMAGE: image,
      STOWAWAY_DB_MIRROR: mirror.url,
      STOWAWAY_FAIL_ON: "medium",
      STOWAWAY_SEVERITY: "critical",
      STOWAWAY_REPORTS: "sarif, junit\nmarkdown",
    });
    expect(filtered.code).toBe(1);
    for (const format of ["sarif", "junit", "markdown"]) {
      const text = readFileSync(filtered.outcome!.reports[format]!, "utf8");
      expect(text, format).toContain(MIRROR_EXPECTED.medium[0]);
    }
  });

  it("is unchecked, never pass, offline without a cached database: exit 2, no SARIF", () => {
    const run = ci({ STOWAWAY_IMAGE: image, STOWAWAY_OFFLINE: "true", STOWAWAY_FAIL_ON: "none" });
    expect(run.code).toBe(2);
    expect(run.outcome!.outcome).toBe("unchecked");
    expect(run.outcome!.database.reason).toMatch(/^offline and no cached vulnerability database at /);
    expect(run.stdout).toMatch(/\nstowaway: UNCHECKED [^\n]*no vulnerabilities were checked[^\n]*\n$/);
    expect(run.outcome!.reports.sarif).toBeUndefined();
    expect(existsSync(path.join(run.out, "stowaway.sarif"))).toBe(false);
    expect(existsSync(run.outcome!.reports.json!)).toBe(true);
  });

  it("is unchecked with a clear reason when the mirror fails and nothing is cached", () => {
    const run = ci({ STOWAWAY_IMAGE: image, STOWAWAY_DB_MIRROR: dead.url });
    expect(run.code).toBe(2);
    expect(run.outcome!.outcome).toBe("unchecked");
    expect(run.outcome!.database.reason).toMatch(/could not download the vulnerability database \(.*HTTP 404/);
    expect(run.stderr).toContain("warning: could not download the vulnerability database");
    // The failed update left no empty database directory behind.
    expect(existsSync(path.join(run.home, ".cache/stowaway/db"))).toBe(false);
  });

  it("falls back to the cached database with a warning when it is too old and the mirror fails", () => {
    const home = path.join(work(), "stale-home");
    cpSync(demoDb, path.join(home, ".cache/stowaway/db"), { recursive: true });
    const run = ci({ STOWAWAY_IMAGE: image, STOWAWAY_DB_MIRROR: dead.url, STOWAWAY_DB_MAX_AGE: "1h" }, home);
    expect(run.outcome!.database.state).toBe("cached");
    expect(run.stderr).toMatch(/warning: could not update the vulnerability database .*using the cached copy built/);
    expect(["pass", "fail"]).toContain(run.outcome!.outcome);
  });

  it("retries a rate-limited mirror as Retry-After says", async () => {
    const busy = await startDbMirror({ rateLimitFirst: true });
    try {
      const run = ci({ STOWAWAY_IMAGE: image, STOWAWAY_DB_MIRROR: busy.url });
      expect(run.code, run.stderr).toBe(1);
      expect(run.outcome!.database.state).toBe("updated");
      // Four OSV feeds, KEV and EPSS: each asked twice (429, then 200).
      expect(busy.requests()).toBe(12);
    } finally {
      await busy.close();
    }
  });

  it("rejects a bad input in one line naming it and still leaves an outcome file", () => {
    const run = ci({ STOWAWAY_IMAGE: image, STOWAWAY_FAIL_ON: "severe" });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'stowaway: error: input fail-on: "severe" is not one of critical, high, medium, low, none\n',
    );
    expect(run.outcome!.outcome).toBe("unchecked");

    const missing = ci({});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^stowaway: error: input image is required/);
  });

  it("uses a db the user manages as it is (no download)", () => {
    const before = mirror.requests();
    const run = ci({ STOWAWAY_IMAGE: image, STOWAWAY_DB: demoDb, STOWAWAY_DB_MIRROR: mirror.url });
    expect(mirror.requests()).toBe(before);
    expect(run.outcome!.database.state).toBe("given");
    expect(["pass", "fail"]).toContain(run.outcome!.outcome);
  });
});

describeWithRegistry("stowaway ci reads a registry image once", () => {
  let registry: RegistryServer;
  let mirror: DbMirror;
  let reference: string;
  let manifestDigest: string;
  beforeAll(async () => {
    registry = await startRegistry({ kind: "plain" }, { accessLog: true });
    mirror = await startDbMirror();
    manifestDigest = await pushArchive({ baseUrl: registry.baseUrl }, "demo/app", demoArchive, "1.0");
    reference = `${registry.host}/demo/app:1.0`;
  });
  afterAll(async () => {
    await registry?.stop();
    await mirror?.close();
  });

  it("the database step's inventory is the scan's: manifest and config are each fetched once per run", async () => {
    const before = registry.accessLog().length;
    const run = ci({ STOWAWAY_IMAGE: reference, STOWAWAY_INSECURE: "true", STOWAWAY_DB_MIRROR: mirror.url });
    expect(run.code, run.stderr).toBe(1);
    expect(run.outcome!.outcome).toBe(MIRROR_EXPECTED.outcome);
    expect(run.outcome!.database.state).toBe("updated");
    // The registry's log lines reach this process once its event loop runs again (spawnSync held it).
    await new Promise((resolve) => setTimeout(resolve, 500));
    const log = registry.accessLog().slice(before);
    const gets = (suffix: string) => log.filter((line) => line.startsWith("GET ") && line.endsWith(suffix)).length;
    // The pushed manifest (from the archive's own index.json, independent of the scanner) and its config.
    const manifest = readArchiveJson<{ config: { digest: string }; manifests?: unknown }>(demoArchive, manifestDigest);
    expect(manifest.manifests, "the demo archive names a single image").toBeUndefined();
    expect(gets("/v2/demo/app/manifests/1.0"), log.join("\n")).toBe(1);
    expect(gets(`/v2/demo/app/blobs/${manifest.config.digest}`), log.join("\n")).toBe(1);
    // Nothing at all is fetched twice: layers too are read once.
    const fetched = log.filter((line) => line.startsWith("GET /v2/demo/"));
    expect(new Set(fetched).size, log.join("\n")).toBe(fetched.length);
  });
});
