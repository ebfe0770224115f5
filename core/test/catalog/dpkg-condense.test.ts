/**
 * dpkg status databases are streamed through DpkgStatusCondenser while the layer is read
 * (docs/matching-rules.md P20): the condensed copy must parse to the same installed packages and
 * the same problems (with the original line numbers), and a status padded to 200 MiB must be
 * cataloged without holding it in memory.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { condensedBy, catalogLayers, refusedBy, wantedBy } from "../../src/catalog/inventory.js";
import { createDpkgCataloger } from "../../src/catalog/dpkg/index.js";
import { DpkgStatusCondenser } from "../../src/catalog/dpkg/condense.js";
import { parseControlFile } from "../../src/catalog/dpkg/control.js";
import { toDpkgEntry } from "../../src/catalog/dpkg/status.js";
import { walkLayer } from "../../src/image/layer-walker.js";
import { NO_OS } from "../helpers/layer-walk.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

const MiB = 1024 * 1024;
const STATUS = "var/lib/dpkg/status";
const FIXTURES = ["corrupsed", "digest", "md5sums", "only-apt", "third-party", "valid"];
const fixture = (name: string): Buffer =>
  readFileSync(sharedPath(`fixtures/os-packages/dpkg/trivy/${name}.extracted/var/lib/dpkg/status`));

function condense(content: Buffer, chunkBytes: number): Buffer {
  const condenser = new DpkgStatusCondenser();
  for (let offset = 0; offset < content.length; offset += chunkBytes) {
    condenser.write(content.subarray(offset, offset + chunkBytes));
  }
  return condenser.end();
}

/** What the cataloger takes from a parse: the installed entries and the reported problems. */
function outcome(content: Buffer) {
  const { stanzas, problems } = parseControlFile(content);
  return { entries: stanzas.map(toDpkgEntry).filter(Boolean), problems };
}

/** The installed packages of a dpkg status, read with a plain regex walk (not the cataloger's parser). */
function installedNames(status: string): string[] {
  return status
    .split(/\n\s*\n/)
    .filter((stanza) => /^Status: .* installed$/m.test(stanza))
    .map((stanza) => /^Package: (.+)$/m.exec(stanza)![1]!.trim())
    .sort();
}

describe("DpkgStatusCondenser", () => {
  it("keeps what the parser reports about damaged lines, at their original line numbers, across any chunking", () => {
    const damaged = Buffer.from(
      [
        "\uFEFFPackage: first",
        "Status: install ok installed",
        "Description: long text",
        " that goes on",
        " .",
        "# a comment",
        "Version: 1.0-1",
        "",
        " continuation with no field",
        "garbage line without a colon",
        "Package: second",
        "Version: 2.0",
        "Version: 3.0",
        " under a duplicate",
        "Status: install ok installed",
        "X-Padding: y",
        " y",
        "Maintainer: Someone <a@example.org>",
        " second maintainer line",
        "",
        "Package: third",
        "Status: deinstall ok config-files",
        "Version: 1",
      ].join("\r\n"),
    );
    const expected = outcome(damaged);
    expect(expected.problems.map((problem) => problem.line)).toEqual([9, 10, 13, 14]);
    for (const chunk of [1, 2, 3, 7, 64, 1 << 20]) {
      const condensed = condense(damaged, chunk);
      expect(outcome(condensed), `chunks of ${chunk} bytes`).toEqual(expected);
      expect(condensed.toString("utf8")).not.toContain("long text");
    }
  });
});

describeWithShared("DpkgStatusCondenser on real status files", () => {
  it("parses every fixture to the same installed packages and problems", () => {
    for (const name of FIXTURES) {
      const content = fixture(name);
      for (const chunk of [5, 4096]) {
        const condensed = condense(content, chunk);
        expect(outcome(condensed), `${name}, chunks of ${chunk} bytes`).toEqual(outcome(content));
        if (content.length > 10_000) expect(condensed.length).toBeLessThan(content.length / 2);
      }
    }
  });

  it("catalogs a status padded to 200 MiB with bounded memory and finds every installed package", async () => {
    const status = fixture("valid");
    const expected = installedNames(status.toString("utf8"));
    expect(expected).toHaveLength(90);
    // The layer is generated as it is read, so the test itself never holds the 200 MiB either.
    const line = Buffer.from(` ${"x".repeat(1022)}\n`);
    const block = Buffer.concat(Array.from({ length: 1024 }, () => line));
    const blocks = 200;
    const prefix = Buffer.from("X-Padding: start\n");
    const size = prefix.length + blocks * block.length + status.length;
    function* layer(): Generator<Buffer> {
      yield tarHeader(STATUS, size);
      yield prefix;
      for (let i = 0; i < blocks; i++) yield block;
      yield status;
      yield Buffer.alloc((512 - (size % 512)) % 512);
      yield Buffer.alloc(1024);
    }
    const hash = createHash("sha256");
    for (const chunk of layer()) hash.update(chunk);
    const diffId = `sha256:${hash.digest("hex")}`;

    const catalogers = [createDpkgCataloger()];
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    try {
      const snapshot = await walkLayer(Readable.from(layer()), diffId, {
        what: "padded status",
        wants: wantedBy(catalogers, NO_OS),
        refusedBy: refusedBy(catalogers),
        condense: condensedBy(catalogers, NO_OS),
      });
      peak = Math.max(peak, process.memoryUsage().rss);
      expect(snapshot.warnings).toEqual([]);
      expect(snapshot.files.get(STATUS)!.length).toBeLessThan(status.length);
      const inventory = catalogLayers([snapshot], catalogers, NO_OS);
      expect(inventory.packages.map((pkg) => pkg.name).sort()).toEqual(expected);
      expect(inventory.warnings).toEqual([]);
    } finally {
      clearInterval(sampler);
    }
    // Holding the file whole would take 200 MiB; streaming keeps the growth to buffers in flight.
    expect((peak - baseline) / MiB).toBeLessThan(64);
  }, 60_000);
});

/** A ustar header for one regular file, written out from the format (POSIX pax/ustar), not by the code under test. */
function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, "utf8");
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  header.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
  header.write("00000000000\0", 136);
  header.write("        ", 148);
  header.write("0", 156);
  header.write("ustar\0", 257);
  header.write("00", 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return header;
}
