import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { alpineImage, type SecFixes } from "../../core/test/inventory/fixtures.js";
import type { BuiltImage } from "../../core/test/helpers/image-builder.js";
import { pushImage } from "../../core/test/helpers/registry-push.js";
import {
  describeWithRegistry,
  makeSigningCert,
  startHttpServer,
  startRegistry,
  type RegistryServer,
  type TestHttpServer,
} from "../../core/test/helpers/registry-server.js";
import { startTokenServer, type TokenServer } from "../../core/test/helpers/registry-token-server.js";
import { cliHarness } from "./harness.js";

const USER = "inventory-bot";
const PASSWORD = "Inv3ntory-Pa55-77c1";
const SERVICE = "stowaway-inventory-registry";
const ISSUER = "stowaway-inventory-issuer";

const DB_V1: SecFixes = { openssl: { "3.1.4-r1": ["CVE-2099-1001"] } };
const DB_V2: SecFixes = { openssl: { "3.1.4-r1": ["CVE-2099-1001"], "3.1.4-r2": ["CVE-2099-1002"] } };

describeWithRegistry("stowaway registry scan / rescan / report against a token-auth registry", () => {
  const { stowaway, stowawayAsync, buildAlpineDb, work } = cliHarness("stowaway-cli-inventory-");
  let tokens: TokenServer;
  let registry: RegistryServer;
  let hook: TestHttpServer;
  let hookBodies: string[];
  let vulnerable: BuiltImage;
  let patched: BuiltImage;
  let store: string;
  let db: string;

  const buildDb = (name: string, fixes: SecFixes) => buildAlpineDb(name, fixes, db);

  beforeAll(async () => {
    const signing = makeSigningCert(work());
    tokens = await startTokenServer({ ...signing, service: SERVICE, issuer: ISSUER, users: { [USER]: PASSWORD } });
    registry = await startRegistry(
      { kind: "token", realm: tokens.realm, service: SERVICE, issuer: ISSUER, rootCertFile: signing.certFile },
      { accessLog: true },
    );
    const target = {
      baseUrl: registry.baseUrl,
      authorization: (repository: string) => `Bearer ${tokens.mint("pusher", [`repository:${repository}:pull,push`])}`,
    };
    vulnerable = await alpineImage({ openssl: "3.1.4-r0" });
    patched = await alpineImage({ openssl: "3.1.4-r1" });
    await pushImage(target, "team/api", vulnerable, "1.0");
    await pushImage(target, "team/api", patched, "1.1");
    await pushImage(target, "team/worker", vulnerable, "stable");
    await pushImage(target, "other/thing", patched, "1");
    hookBodies = [];
    hook = await startHttpServer((req, res, body) => {
      hookBodies.push(body.toString("utf8"));
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
    store = path.join(work(), "inventory.sqlite");
    db = path.join(work(), "db");
    buildDb("v1", DB_V1);
  });

  afterAll(async () => {
    await registry?.stop();
    await tokens?.close();
    await hook?.close();
  });

  it("scans every unique digest under the prefix, with one progress line per image", async () => {
    const run = await stowawayAsync(
      ["registry", "scan", `${registry.host}/team`, "--store", store, "--db", db, "--no-cache", "--page-size", "1"],
      { STOWAWAY_USERNAME: USER, STOWAWAY_PASSWORD: PASSWORD },
    );
    expect(run.stderr).not.toContain(PASSWORD);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/: 2 repositories, 2 images stored in sqlite:.*, 0 failed; 1 new finding, 0 fixed/);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => /^\[[12]\/2\] 127\.0\.0\.1:\d+\/team\//.test(line))).toBe(true);
    // The secdb advisory carries no rating: the vulnerable image's line must not read as clean.
    expect(lines.find((line) => line.includes("team/api:1.0"))).toMatch(
      /0 critical, 0 high, 0 medium, 0 low, 1 unrated$/,
    );
    // Token auth: the catalog was asked for with its own scope.
    expect(tokens.issued.some((request) => request.scopes.includes("registry:catalog:*"))).toBe(true);
  });

  it("rescans after a database update without one registry request and posts the new findings", async () => {
    buildDb("v2", DB_V2);
    const before = registry.accessLog().length;
    const tokensBefore = tokens.issued.length;
    const run = await stowawayAsync([
      "registry",
      "rescan",
      "--store",
      store,
      "--db",
      db,
      "--notify-webhook",
      `${hook.baseUrl}/hook/s3cret`,
    ]);
    expect(run.code, run.stderr).toBe(0);
    // openssl 3.1.4-r0 and -r1 are both below the new fix 3.1.4-r2: one new finding per digest (not per tag).
    expect(run.stdout).toMatch(/^rescanned 2 stored images in sqlite:.*: 2 new findings, 0 fixed, 0 newly fixable/);
    expect(registry.accessLog().slice(before)).toEqual([]);
    expect(tokens.issued.length).toBe(tokensBefore);
    expect(hookBodies).toHaveLength(1);
    const payload = JSON.parse(hookBodies[0]!);
    expect(payload.text).toMatch(/^Stowaway rescan of the store: 2 new findings/);
    const posted = payload.stowaway.findings as { vulnerabilityId: string; references: string[] }[];
    expect(posted.map((f) => f.vulnerabilityId)).toEqual(["CVE-2099-1002", "CVE-2099-1002"]);
    expect(posted.flatMap((f) => f.references).sort()).toEqual(
      [`${registry.host}/team/api:1.0`, `${registry.host}/team/api:1.1`, `${registry.host}/team/worker:stable`].sort(),
    );
  });

  it("reports what is new and how widely a CVE reaches (tags, repositories)", () => {
    const json = stowaway(["registry", "report", "--store", store, "--format", "json", "--cve", "CVE-2099-1002"]);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.registries).toEqual([{ registry: registry.host, repositories: 2, images: 2 }]);
    expect(report.images[0]).toMatchObject({ digest: vulnerable.manifestDigest, worst: "unknown", findings: 2 });
    expect(report.lastRun.kind).toBe("rescan");
    expect(
      report.changes.map((c: { kind: string; vulnerabilityId: string }) => `${c.kind} ${c.vulnerabilityId}`),
    ).toEqual(["new CVE-2099-1002", "new CVE-2099-1002"]);
    expect(report.cve).toMatchObject({ id: "CVE-2099-1002", tags: 3, repositories: 2, registries: 1 });
    expect(report.cve.images.map((image: { digest: string }) => image.digest).sort()).toEqual(
      [vulnerable.manifestDigest, patched.manifestDigest].sort(),
    );
    const table = stowaway(["registry", "report", "--store", store]);
    expect(table.stdout).toMatch(/New since last run \(rescan .*\): 2 new, 0 fixed, 0 newly fixable/);
    // Both advisories are unrated: the row counts them (U2) instead of showing C0 H0 M0 L0 under UNKNOWN.
    expect(table.stdout).toMatch(new RegExp(`UNKNOWN +C0 H0 M0 L0 U2 +${vulnerable.manifestDigest.slice(7, 19)}`));
    const html = stowaway(["registry", "report", "--store", store, "--format", "html"]);
    expect(html.stdout).toContain("<h2>New since last run</h2>");
  });

  it("applies the scan command's verdict flags to a whole registry: unknown-as, ignore files", async () => {
    // The secdb records carry no severity, so every stored finding is unrated.
    const rescan = (...extra: string[]) =>
      stowawayAsync(["registry", "rescan", "--store", store, "--db", db, "--fail-on", "critical", ...extra]);
    expect((await rescan()).code).toBe(0);
    const unrated = await rescan("--unknown-as", "critical");
    expect(unrated.code, unrated.stderr).toBe(1);
    const ignore = path.join(work(), ".trivyignore");
    writeFileSync(ignore, "CVE-2099-1001\nCVE-2099-1002\n");
    const suppressed = await rescan("--unknown-as", "critical", "--ignore-file", ignore);
    expect(suppressed.code, suppressed.stderr).toBe(0);
    // `registry scan` takes the same flags: stored digests are re-matched and gated as `scan` would.
    const before = registry.accessLog().filter((line) => line.includes("/blobs/")).length;
    const scan = await stowawayAsync(
      [
        "registry",
        "scan",
        `${registry.host}/team`,
        "--store",
        store,
        "--db",
        db,
        "--no-cache",
        "--fail-on",
        "critical",
        "--unknown-as",
        "critical",
      ],
      { STOWAWAY_USERNAME: USER, STOWAWAY_PASSWORD: PASSWORD },
    );
    expect(scan.code, scan.stderr).toBe(1);
    expect(scan.stdout).toMatch(/; 2 images fail the gate \(run /);
    expect(registry.accessLog().filter((line) => line.includes("/blobs/")).length).toBe(before);
  });

  it("a report on a store that does not exist says so instead of creating an empty one", () => {
    const typo = path.join(work(), "inventroy.sqlite");
    const run = stowaway(["registry", "report", "--store", typo]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `stowaway: error: store ${typo} does not exist: point --store (or STOWAWAY_STORE) at a store that \`stowaway registry scan\` or \`cluster inventory\` wrote\n`,
    );
    expect(existsSync(typo)).toBe(false);
  });

  it("says in one line what is wrong with a bad registry argument", () => {
    const run = stowaway(["registry", "scan", "not a registry/x", "--store", store]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'stowaway: error: registry "not a registry/x" is not REGISTRY[/REPO-PREFIX], e.g. registry.example.com/team\n',
    );
  });
});
