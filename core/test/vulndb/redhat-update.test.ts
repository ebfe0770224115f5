import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { pack } from "tar-stream";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { buildDatabase, openDatabase, updateDatabase } from "../../src/index.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { tempDir } from "./helpers.js";

/*
 * `db update --redhat` against mirrors on 127.0.0.1 that publish Red Hat's VEX directory layout
 * (archive_latest.txt naming a csaf_vex_<date>.tar.zst beside it). The archive holds the real CSAF
 * documents of ../shared, packed with tar-stream and compressed by the zstd program.
 */

const CSAF_DIR = "vulns/rhel-security-data/csaf-advisories";
const ARCHIVE = "csaf_vex_2026-12-01.tar.zst";

async function tarOf(members: Array<{ name: string; data: Buffer }>): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on("data", (chunk) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    tar.on("end", resolve);
    tar.on("error", reject);
  });
  for (const member of members) tar.entry({ name: member.name }, member.data);
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}

function zstd(data: Buffer): Buffer {
  try {
    return execFileSync("zstd", ["-q", "-c"], { input: data });
  } catch {
    throw new Error("the zstd program is needed to pack the test archive: apt-get install -y zstd");
  }
}

interface Logged {
  url: string;
  ifNoneMatch?: string;
  status: number;
}

describeWithShared("db update: Red Hat's CSAF VEX archive from mirrors", () => {
  const work = tempDir("stowaway-redhat-update-");
  const files = new Map<string, Buffer>();
  const log: Logged[] = [];
  let server: http.Server;
  let base: string;
  const env = { NO_PROXY: "", HTTPS_PROXY: "", HTTP_PROXY: "" };
  const documents = readdirSync(sharedPath(CSAF_DIR)).sort();

  beforeAll(async () => {
    const archive = zstd(
      await tarOf(documents.map((name) => ({ name: `2024/${name}`, data: readFileSync(sharedPath(CSAF_DIR, name)) }))),
    );
    files.set(`redhat/csaf/v2/vex/${ARCHIVE}`, archive);
    files.set("redhat/csaf/v2/vex/archive_latest.txt", Buffer.from(`${ARCHIVE}\n`));
    files.set("garbage/redhat/csaf/v2/vex/archive_latest.txt", Buffer.from(`${ARCHIVE}\n`));
    files.set(`garbage/redhat/csaf/v2/vex/${ARCHIVE}`, zstd(Buffer.from("not a tar archive at all".repeat(100))));
    server = http.createServer((req, res) => {
      const [, mode, ...rest] = (req.url ?? "").split("/");
      const key = decodeURIComponent((mode === "garbage" ? [mode, ...rest] : rest).join("/"));
      const body = files.get(key);
      const record = (status: number) =>
        log.push({ url: req.url ?? "", ifNoneMatch: req.headers["if-none-match"], status });
      if (mode === "broken" || !body) {
        record(mode === "broken" ? 500 : 404);
        res.writeHead(mode === "broken" ? 500 : 404).end();
        return;
      }
      const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 16)}"`;
      if (req.headers["if-none-match"] === etag) {
        record(304);
        res.writeHead(304, { etag }).end();
        return;
      }
      record(200);
      res.writeHead(200, { etag, "content-length": String(body.length) }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    log.length = 0;
  });

  it("fetches the archive the pointer names, past a failing mirror, then sends conditional GETs", async () => {
    const dbDir = path.join(work, "db");
    const first = await updateDatabase({
      dbDir,
      mirrors: [`${base}/broken/`, `${base}/ok/`],
      redhat: true,
      kev: false,
      epss: false,
      env,
    });
    expect(first.refreshed).toEqual(["redhat"]);
    const source = first.metadata.sources.find((s) => s.name === "redhat")!;
    expect(source.url).toBe(`${base}/ok/redhat/csaf/v2/vex/${ARCHIVE}`);
    expect(source.etag).toBeTruthy();

    // The same records as db build of the documents themselves.
    const direct = path.join(work, "direct");
    await buildDatabase({ from: [sharedPath(CSAF_DIR)], dbDir: direct });
    const [a, b] = [await openDatabase(dbDir), await openDatabase(direct)];
    for (const [ecosystem, name] of [
      ["Red Hat:enterprise_linux:9::appstream", "python3.9"],
      ["Red Hat:rhel_els:6", "bind-chroot"],
      ["Red Hat:rhel_eus:8.6::baseos", "sudo"],
    ] as const) {
      const got = (await a.advisoriesFor(ecosystem, name)).map((r) => [r.id, r.affected]);
      expect(got.length).toBeGreaterThan(0);
      expect(got).toEqual((await b.advisoriesFor(ecosystem, name)).map((r) => [r.id, r.affected]));
    }
    await a.close();
    await b.close();

    // A database with Red Hat data keeps it current by default; unchanged archives cost a 304.
    log.length = 0;
    const second = await updateDatabase({ dbDir, mirrors: [`${base}/ok/`], kev: false, epss: false, env });
    expect(second.unchanged).toEqual(["redhat"]);
    expect(log.filter((l) => l.url.endsWith(".tar.zst")).map((l) => l.status)).toEqual([304]);
    expect(log.find((l) => l.url.endsWith(".tar.zst"))?.ifNoneMatch).toBe(source.etag);
  });

  it("replaces nothing when the only mirror serves an archive that is no tar of CSAF documents", async () => {
    const dbDir = path.join(work, "db-garbage");
    await buildDatabase({ from: [sharedPath(CSAF_DIR)], dbDir });
    const before = (await openDatabase(dbDir)).metadata();
    await expect(
      updateDatabase({ dbDir, mirrors: [`${base}/garbage/`], redhat: true, kev: false, epss: false, env }),
    ).rejects.toThrow(/redhat: no mirror delivered it .*existing database is unchanged/);
    const after = await openDatabase(dbDir);
    expect(after.metadata().builtAt).toBe(before.builtAt);
    await after.close();
  });
});
