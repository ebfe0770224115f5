import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { crc32 } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import type { OsvRecord } from "../../src/vulndb/osv.js";
import { DatabaseWriter, type SourceInfo } from "../../src/vulndb/store/writer.js";
import { tempDir, walk } from "./helpers.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const npmFeed: SourceInfo = { name: "osv:npm", origin: "npm.zip", fetchedAt: "2024-07-01T00:00:00.000Z" };
const pypiFeed: SourceInfo = { name: "osv:PyPI", origin: "pypi.zip", fetchedAt: "2024-07-01T00:00:00.000Z" };
const nvdFeed: SourceInfo = { name: "nvd", origin: "nvd", fetchedAt: "2024-07-01T00:00:00.000Z" };

function advisory(id: string, modified: string, packages: Array<[string, string, string?]>): OsvRecord {
  return {
    id,
    modified,
    affected: packages.map(([ecosystem, name, fixed]) => ({
      package: { ecosystem, name },
      ...(fixed ? { ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed }] }] } : {}),
    })),
  } as OsvRecord;
}

/** A shard's lines as [name, refs], parsed here rather than by the reader under test elsewhere. */
function shard(dir: string, file: string): Array<[string, Array<[number, number, number, number, string?]>]> {
  return readFileSync(path.join(dir, file), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf("\t");
      return [JSON.parse(line.slice(0, tab)) as string, JSON.parse(line.slice(tab + 1))];
    });
}

/** The record a ref points at, after checking its bytes against the ref's CRC-32. */
function recordAt(dir: string, ref: [number, number, number, number, string?]): OsvRecord {
  const bytes = readFileSync(path.join(dir, "records", `${String(ref[0]).padStart(3, "0")}.jsonl`)).subarray(
    ref[1],
    ref[1] + ref[2],
  );
  expect(crc32(bytes)).toBe(ref[3]);
  return JSON.parse(bytes.toString("utf8")) as OsvRecord;
}

describe("DatabaseWriter with its index and CVSS rows spilled to disk", () => {
  it("keeps first-arrival order per name, newest copies, ceilings, and leaves no scratch files", () => {
    const dir = tempDir();
    dirs.push(dir);
    const writer = new DatabaseWriter(dir);
    writer.addRecord(
      advisory("GHSA-aaaa", "2024-01-01T00:00:00Z", [
        ["npm", "left-pad", "1.0.0"],
        ["PyPI", "Foo"],
      ]),
      npmFeed,
    );
    writer.addRecord(
      advisory("GHSA-bbbb", "2024-01-01T00:00:00Z", [
        ["npm", "left-pad"],
        ["npm", "right-pad"],
      ]),
      npmFeed,
    );
    // A newer copy of GHSA-aaaa replaces the first; an older one after it is ignored.
    writer.addRecord(
      advisory("GHSA-aaaa", "2024-06-01T00:00:00Z", [
        ["npm", "left-pad", "1.0.0"],
        ["PyPI", "Foo"],
      ]),
      npmFeed,
    );
    writer.addRecord(advisory("GHSA-aaaa", "2023-01-01T00:00:00Z", [["npm", "left-pad", "9.9.9"]]), npmFeed);
    writer.addRecord(advisory("PYSEC-cccc", "2024-01-01T00:00:00Z", [["PyPI", "foo", "2.0"]]), pypiFeed);
    writer.addCveMetrics(
      {
        cveId: "CVE-2024-0002",
        modified: "2024-02-01T00:00:00.000",
        vectors: [{ source: "nvd", vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }],
      },
      nvdFeed,
    );
    writer.addCveMetrics({ cveId: "CVE-2024-0001", modified: "2024-01-01T00:00:00.000", vectors: [] }, nvdFeed);
    writer.addCveMetrics(
      {
        cveId: "CVE-2024-0002",
        modified: "2024-01-15T00:00:00.000",
        vectors: [{ source: "cna", vector: "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:L" }],
      },
      nvdFeed,
    );
    const metadata = writer.finish(new Date("2024-07-02T00:00:00Z"));

    expect(metadata.records).toBe(3);
    expect(metadata.recordsByEcosystem).toEqual({ PyPI: 2, npm: 2 });
    expect(metadata.cveMetrics).toBe(2);
    // Ecosystems sorted (PyPI before npm): one shard each at this size.
    expect(walk(dir)).toEqual([
      "index/000/all.tsv",
      "index/001/all.tsv",
      "integrity.json",
      "layout.json",
      "metadata.json",
      "metrics-002.tsv",
      "records/000.jsonl",
      "records/001.jsonl",
      // Every source has a records file, the CVSS feed's empty.
      "records/002.jsonl",
    ]);

    const npm = shard(dir, "index/001/all.tsv");
    expect(npm.map(([name]) => name)).toEqual(["left-pad", "right-pad"]);
    const [leftA, leftB] = npm[0]![1];
    expect(npm[0]![1]).toHaveLength(2);
    expect([recordAt(dir, leftA!).id, recordAt(dir, leftA!).modified]).toEqual(["GHSA-aaaa", "2024-06-01T00:00:00Z"]);
    expect(leftA![4]).toBe("1.0.0");
    expect(recordAt(dir, leftB!).id).toBe("GHSA-bbbb");
    expect(leftB).toHaveLength(4);
    expect(npm[1]![1].map((ref) => recordAt(dir, ref).id)).toEqual(["GHSA-bbbb"]);

    // PyPI names are case-insensitive: "Foo" and "foo" are one line, in arrival order across sources.
    const pypi = shard(dir, "index/000/all.tsv");
    expect(pypi.map(([name]) => name)).toEqual(["foo"]);
    expect(pypi[0]![1].map((ref) => [ref[0], recordAt(dir, ref).id, ref[4]])).toEqual([
      [0, "GHSA-aaaa", undefined],
      [1, "PYSEC-cccc", "2.0"],
    ]);
    // Superseded copies are gone from the records file.
    expect(readFileSync(path.join(dir, "records/000.jsonl"), "utf8").trimEnd().split("\n")).toHaveLength(2);

    expect(readFileSync(path.join(dir, "metrics-002.tsv"), "utf8")).toBe(
      'CVE-2024-0001\t{"m":"2024-01-01T00:00:00.000","v":[]}\n' +
        'CVE-2024-0002\t{"m":"2024-02-01T00:00:00.000","v":[{"source":"nvd","vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}\n',
    );
  });

  it("removes everything, scratch files included, when finishing fails", () => {
    const dir = tempDir();
    dirs.push(dir);
    const writer = new DatabaseWriter(dir);
    writer.addRecord(advisory("GHSA-aaaa", "2024-01-01T00:00:00Z", [["npm", "left-pad"]]), npmFeed);
    // A file where the index spill directory goes makes finish() fail after the records are compacted.
    writeFileSync(path.join(dir, "spill"), "");
    expect(() => writer.finish()).toThrow();
    writer.abort();
    expect(existsSync(dir)).toBe(false);
  });
});
