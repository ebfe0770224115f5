import { generateKeyPairSync } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportDatabase, importDatabase } from "../../src/vulndb/bundle.js";
import { VulnDbError } from "../../src/vulndb/errors.js";
import type { OsvRecord } from "../../src/vulndb/osv.js";
import { databaseStatus } from "../../src/vulndb/status.js";
import { INTEGRITY_FILE } from "../../src/vulndb/store/integrity.js";
import { openDatabase } from "../../src/vulndb/store/reader.js";
import { verifyGeneration } from "../../src/vulndb/store/verify.js";
import { DatabaseWriter, type SourceInfo } from "../../src/vulndb/store/writer.js";
import { osvRecord, tempDir, walk } from "./helpers.js";

const source: SourceInfo = { name: "osv", origin: "test", fetchedAt: "2026-01-01T00:00:00Z" };
const kevSource: SourceInfo = { name: "cisa-kev", origin: "test", fetchedAt: "2026-01-01T00:00:00Z" };
const epssSource: SourceInfo = { name: "epss", origin: "test", fetchedAt: "2026-01-01T00:00:00Z" };

/** Packages looked up after every flip: each has advisories, across three ecosystems. */
const LOOKUPS: Array<[string, string]> = [
  ["npm", "lodash"],
  ["npm", "express"],
  ["npm", "left-pad"],
  ["PyPI", "requests"],
  ["PyPI", "django"],
  ["Go", "golang.org/x/net"],
];
const CVES = ["CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0003"];

let dir = "";

beforeAll(() => {
  dir = tempDir("stowaway-integrity-");
  const writer = new DatabaseWriter(dir);
  LOOKUPS.forEach(([ecosystem, name], index) => {
    for (let n = 0; n < 3; n++) {
      const record = {
        ...osvRecord(`GHSA-${index}-${n}`, ecosystem, name, `${n + 2}.0.0`),
        aliases: [CVES[n % CVES.length]!],
        database_specific: { severity: n === 0 ? "HIGH" : "MODERATE" },
      };
      writer.addRecord(record as OsvRecord, source);
    }
  });
  CVES.forEach((cveId, n) => {
    writer.addKev({ cveId, dateAdded: `2024-0${n + 1}-01` }, "2026-01-01", kevSource);
    writer.addEpss({ cveId, score: 0.1 * (n + 1), percentile: 0.5, date: "2026-01-01" }, epssSource);
  });
  writer.finish(new Date("2026-01-02T00:00:00Z"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What a scan would take from the database: every lookup's records, KEV and EPSS answers. */
async function answers(): Promise<string> {
  const store = await openDatabase(dir);
  try {
    const out: unknown[] = [];
    for (const [ecosystem, name] of LOOKUPS) {
      const records = await store.advisoriesFor(ecosystem, name);
      out.push(records.map((record) => JSON.stringify(record)).sort());
    }
    for (const cve of CVES) out.push(await store.kev(cve), await store.epss(cve));
    return JSON.stringify(out);
  } finally {
    await store.close();
  }
}

/** Byte positions to damage: every byte of a small file, an even spread (ends included) of a larger one. */
function positions(size: number, max = 160): number[] {
  if (size <= max) return [...Array(size).keys()];
  return [...new Set([...Array(max).keys()].map((i) => Math.round((i * (size - 1)) / (max - 1))))];
}

describe("a damaged vulnerability database is refused, never read as different advisories", () => {
  it("an intact database verifies and answers every lookup", async () => {
    const report = await verifyGeneration(dir);
    // Every file of the generation except the manifest itself is listed.
    expect(report.files).toBe(walk(dir).filter((file) => file !== INTEGRITY_FILE).length);
    // 6 packages x 3 advisories, one reference each.
    expect(report.records).toBe(18);
    const intact = JSON.parse(await answers()) as unknown[];
    expect(intact.slice(0, LOOKUPS.length).every((records) => (records as unknown[]).length === 3)).toBe(true);
  });

  it("one flipped bit anywhere (records, shards, layout, metadata, tables, manifest) is refused or changes nothing", async () => {
    const baseline = await answers();
    const files = walk(dir).map((file) => file.split(path.sep).join("/"));
    const classes = new Set(files.map((file) => file.split("/")[0]!.replace(/\..*$/, "")));
    expect(classes).toEqual(new Set(["records", "index", "layout", "metadata", "kev", "epss", "integrity"]));
    let flips = 0;
    let refusedOnRead = 0;
    for (const file of files) {
      const full = path.join(dir, file);
      const original = readFileSync(full);
      for (const position of positions(original.length)) {
        const damaged = Buffer.from(original);
        damaged[position] = damaged[position]! ^ (1 << (position % 8));
        writeFileSync(full, damaged);
        try {
          flips++;
          // The full check catches every flip, wherever it is.
          await expect(verifyGeneration(dir), `${file}@${position}`).rejects.toThrow(VulnDbError);
          let result: string | undefined;
          try {
            result = await answers();
          } catch (error) {
            expect(error, `${file}@${position}`).toBeInstanceOf(VulnDbError);
            expect((error as Error).message).toMatch(/stowaway db update/);
            expect((error as Error).message).not.toContain("\n");
            refusedOnRead++;
          }
          // A lookup that does not refuse saw none of the damage (a byte between records, a shard not read).
          if (result !== undefined) expect(result, `${file}@${position}`).toBe(baseline);
        } finally {
          writeFileSync(full, original);
        }
      }
    }
    expect(flips).toBeGreaterThan(500);
    // Lookups read every shard, record, table, the layout and metadata here, so nearly every flip is refused on read.
    expect(refusedOnRead).toBeGreaterThan(flips * 0.8);
    expect(await answers()).toBe(baseline);
  }, 300_000);

  it("db status --verify names the damaged file and what to do in one line", async () => {
    const record = path.join(dir, "records/000.jsonl");
    const original = readFileSync(record);
    // "fixed":"2.0.0" -> "fixed":"3.0.0": still valid JSON, a different answer without the checksum.
    const at = original.indexOf('"fixed":"2.0.0"');
    expect(at).toBeGreaterThan(0);
    const damaged = Buffer.from(original);
    damaged[at + 9] = "3".charCodeAt(0);
    writeFileSync(record, damaged);
    try {
      await expect(databaseStatus(dir, { verify: true })).rejects.toThrow(
        /records\/000\.jsonl: checksum mismatch; the vulnerability database is damaged: run `stowaway db update`/,
      );
      await expect(answers()).rejects.toThrow(/records\/000\.jsonl: record at byte \d+: checksum mismatch/);
    } finally {
      writeFileSync(record, original);
    }
    const status = await databaseStatus(dir, { verify: true });
    expect(status.verified).toEqual({ files: walk(dir).length - 1, records: 18 });
  });

  it("db export refuses a damaged database; a signed bundle imports only with the right key", async () => {
    const work = tempDir("stowaway-bundle-sign-");
    try {
      const pem = () => {
        const { privateKey, publicKey } = generateKeyPairSync("ed25519");
        return {
          priv: privateKey.export({ type: "pkcs8", format: "pem" }),
          pub: publicKey.export({ type: "spki", format: "pem" }),
        };
      };
      const ours = pem();
      const theirs = pem();
      const bundle = path.join(work, "db.tgz");
      await exportDatabase(dir, bundle, { signingKey: ours.priv });

      const imported = await importDatabase(bundle, path.join(work, "ok"), { verifyKey: ours.pub });
      expect(imported.records).toBe(18);
      await expect(importDatabase(bundle, path.join(work, "other"), { verifyKey: theirs.pub })).rejects.toThrow(
        /the signature does not match the verification key/,
      );
      const unsigned = path.join(work, "unsigned.tgz");
      await exportDatabase(dir, unsigned);
      await expect(importDatabase(unsigned, path.join(work, "u"), { verifyKey: ours.pub })).rejects.toThrow(
        /the bundle is not signed; export it with `stowaway db export --sign KEY`/,
      );
      // Without a key a signed bundle still imports (the signature is extra, the checksums always apply).
      await expect(importDatabase(bundle, path.join(work, "nokey"))).resolves.toMatchObject({ records: 18 });

      const layout = path.join(dir, "layout.json");
      const original = readFileSync(layout);
      const damaged = Buffer.from(original);
      damaged[10] = damaged[10]! ^ 1;
      writeFileSync(layout, damaged);
      try {
        await expect(exportDatabase(dir, path.join(work, "damaged.tgz"))).rejects.toThrow(
          /layout\.json: checksum mismatch; the vulnerability database is damaged/,
        );
      } finally {
        writeFileSync(layout, original);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
