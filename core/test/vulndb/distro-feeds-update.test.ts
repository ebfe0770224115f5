import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { openDatabase, updateDatabase } from "../../src/index.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { tempDir } from "../helpers/temp-dir.js";

interface Request {
  path: string;
  ifNoneMatch?: string;
  status: number;
}

describeWithShared(
  "db update fetches the Debian tracker JSON and the Alpine secdb (local mirror, real samples)",
  () => {
    const files = new Map<string, Buffer>();
    const requests: Request[] = [];
    let server: http.Server;
    let base: string;
    const work = tempDir("stowaway-distro-update-");
    const dbDir = path.join(work, "db");
    const env = { NO_PROXY: "", HTTPS_PROXY: "", HTTP_PROXY: "" };
    const read = (rel: string) => readFileSync(sharedPath(`vulns/${rel}`));

    beforeAll(async () => {
      files.set("/debian-security-tracker/json", read("debian-security-tracker/debian.json.sample"));
      files.set("/alpine-secdb/v3.12/main.json", read("alpine-secdb/vuln-list-update-312-main.json"));
      files.set("/alpine-secdb/v3.12/community.json", read("alpine-secdb/vuln-list-update-312-community.json"));
      files.set("/alpine-secdb/edge/main.json", read("alpine-secdb/vuln-list-update-edge-main.json"));
      files.set("/alpine-secdb/edge/community.json", read("alpine-secdb/vuln-list-update-edge-community.json"));
      server = http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://x");
        const body = files.get(url.pathname);
        const ifNoneMatch = req.headers["if-none-match"];
        const record = (status: number) =>
          requests.push({ path: url.pathname, ...(typeof ifNoneMatch === "string" ? { ifNoneMatch } : {}), status });
        if (!body) {
          record(404);
          res.writeHead(404).end();
          return;
        }
        const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 16)}"`;
        if (ifNoneMatch === etag) {
          record(304);
          res.writeHead(304, { etag }).end();
          return;
        }
        record(200);
        res.writeHead(200, { etag, "content-length": String(body.length) }).end(body);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });
    beforeEach(() => {
      requests.length = 0;
    });

    const update = (extra: Partial<Parameters<typeof updateDatabase>[0]> = {}) =>
      updateDatabase({ dbDir, mirrors: [base], kev: false, epss: false, nvd: false, env, ...extra });

    it("first run downloads both feeds from the mirror paths and stores their records with provenance", async () => {
      const result = await update({ debianTracker: true, alpineSecdb: ["v3.12", "edge"] });
      expect(requests.map((r) => [r.path, r.status]).sort()).toEqual(
        [
          ["/alpine-secdb/edge/community.json", 200],
          ["/alpine-secdb/edge/main.json", 200],
          ["/alpine-secdb/v3.12/community.json", 200],
          ["/alpine-secdb/v3.12/main.json", 200],
          ["/debian-security-tracker/json", 200],
        ].sort(),
      );
      expect(result.refreshed.sort()).toEqual(["alpine-secdb", "debian-security-tracker"]);
      const debian = result.metadata.sources.find((s) => s.name === "debian-security-tracker")!;
      expect(debian.url).toBe(`${base}debian-security-tracker/json`);
      expect(debian.etag).toMatch(/^"[0-9a-f]{16}"$/);
      const alpine = result.metadata.sources.find((s) => s.name === "alpine-secdb")!;
      expect(Object.keys(alpine.validators ?? {}).sort()).toEqual(
        ["edge/community", "edge/main", "v3.12/community", "v3.12/main"].map((f) => `${base}alpine-secdb/${f}.json`),
      );
      // Expected from the sample itself: v3.12 main fixes CVE-2018-16876 in ansible 2.7.9-r0.
      const sample = JSON.parse(files.get("/alpine-secdb/v3.12/main.json")!.toString()) as {
        distroversion: string;
        packages: { pkg: { name: string; secfixes: Record<string, string[]> } }[];
      };
      const [fixed, cves] = Object.entries(sample.packages[0]!.pkg.secfixes).find(([, ids]) => ids.length > 0)!;
      const store = await openDatabase(dbDir);
      try {
        const records = await store.advisoriesFor(`Alpine:${sample.distroversion}`, sample.packages[0]!.pkg.name);
        expect(records.map((r) => r.id)).toContain(cves[0]);
        expect(JSON.stringify(records)).toContain(fixed);
        expect(await store.advisoriesFor("Debian:9", "prototypejs")).not.toEqual([]);
      } finally {
        await store.close();
      }
    });

    it("next run (no flags) refreshes what an earlier update fetched, with conditional GETs: all unchanged", async () => {
      const result = await update();
      expect(requests).toHaveLength(5);
      expect(requests.every((r) => r.status === 304 && r.ifNoneMatch)).toBe(true);
      expect(result.unchanged.sort()).toEqual(["alpine-secdb", "debian-security-tracker"]);
      expect(result.refreshed).toEqual([]);
      const store = await openDatabase(dbDir);
      try {
        expect(await store.advisoriesFor("Debian:9", "prototypejs")).not.toEqual([]);
      } finally {
        await store.close();
      }
    });

    it("when one Alpine file changed, the others are fetched again so the source is rebuilt from all of them", async () => {
      const edgeMain = files.get("/alpine-secdb/edge/main.json")!;
      files.set("/alpine-secdb/edge/main.json", Buffer.concat([edgeMain, Buffer.from("\n")]));
      const result = await update();
      expect(result.refreshed).toEqual(["alpine-secdb"]);
      const alpine = requests.filter((r) => r.path.startsWith("/alpine-secdb/"));
      // Four conditional GETs (one changed), then plain GETs for the three unchanged files.
      expect(alpine.filter((r) => r.ifNoneMatch)).toHaveLength(4);
      expect(
        alpine
          .filter((r) => r.status === 200)
          .map((r) => r.path)
          .sort(),
      ).toEqual([
        "/alpine-secdb/edge/community.json",
        "/alpine-secdb/edge/main.json",
        "/alpine-secdb/v3.12/community.json",
        "/alpine-secdb/v3.12/main.json",
      ]);
      const store = await openDatabase(dbDir);
      try {
        expect(await store.advisoriesFor("Alpine:v3.12", "ansible")).not.toEqual([]);
      } finally {
        await store.close();
      }
    });

    it("an Alpine release name that is not one is refused in one line before any download", async () => {
      await expect(update({ alpineSecdb: ["../etc"] })).rejects.toThrow(
        /--alpine-secdb "\.\.\/etc" is not an Alpine release/,
      );
      expect(requests).toEqual([]);
    });
  },
);
