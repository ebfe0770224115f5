import { describe, expect, it } from "vitest";
import {
  isInstalledStatus,
  parseControlFile,
  parseListFile,
  parseMd5sums,
  parseSource,
  toDpkgEntry,
} from "../../src/catalog/dpkg/index.js";

describe("deb822 control parser", () => {
  const names = (text: string) => parseControlFile(text).stanzas.map((stanza) => stanza.fields.get("package"));

  it("splits stanzas on one or more blank lines, whitespace-only ones included", () => {
    expect(names("Package: a\nVersion: 1\n\n\n\nPackage: b\nVersion: 2\n \t\nPackage: c\nVersion: 3\n")).toEqual([
      "a",
      "b",
      "c",
    ]);
  });

  it("reads CRLF, a BOM and a missing final newline", () => {
    const { stanzas } = parseControlFile("\uFEFFPackage: a\r\nVersion: 1\r\n\r\nPackage: b\r\nVersion: 2");
    expect(stanzas.map((stanza) => [stanza.fields.get("package"), stanza.fields.get("version")])).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
  });

  it("joins continuation lines and keeps field names case-insensitive", () => {
    const { stanzas } = parseControlFile(
      "package: a\nConffiles:\n /etc/a 0123\n\t/etc/b 4567\nDescription: short\n long\n .\n more\n",
    );
    const fields = stanzas[0]!.fields;
    expect(fields.get("package")).toBe("a");
    expect(fields.get("conffiles")).toBe("/etc/a 0123\n/etc/b 4567");
    expect(fields.get("description")).toBe("short\nlong\n.\nmore");
    expect(stanzas[0]!.line).toBe(1);
  });

  it("reports lines it cannot place instead of throwing", () => {
    const { stanzas, problems } = parseControlFile(" orphan continuation\nPackage: a\nno colon here\nPackage: dup\n");
    expect(stanzas).toHaveLength(1);
    expect(stanzas[0]!.fields.get("package")).toBe("a");
    expect(problems.map((problem) => problem.line)).toEqual([1, 3, 4]);
  });

  it("survives arbitrary bytes", () => {
    const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256));
    expect(() => parseControlFile(junk)).not.toThrow();
  });
});

describe("dpkg status semantics", () => {
  it.each([
    ["install ok installed", true],
    ["hold ok installed", true],
    ["install ok triggers-pending", true],
    ["install ok unpacked", true],
    ["deinstall ok config-files", false],
    ["deinstall ok installed", false],
    ["purge ok not-installed", false],
    ["install reinstreq half-installed", false],
    ["install ok not-installed", false],
    ["install ok", false],
  ])("Status: %s -> installed=%s (P5)", (status, installed) => {
    expect(isInstalledStatus(status)).toBe(installed);
  });

  it("treats a stanza without Status as installed: distroless status.d entries have none", () => {
    expect(isInstalledStatus(undefined)).toBe(true);
  });

  it.each([
    [undefined, { name: "bin", version: "1.0-1" }],
    ["src", { name: "src", version: "1.0-1" }],
    ["src (0.9-2)", { name: "src", version: "0.9-2" }],
    ["gcc-defaults (1.203)", { name: "gcc-defaults", version: "1.203" }],
    ["  src  ", { name: "src", version: "1.0-1" }],
  ])("Source: %s", (field, expected) => {
    expect(parseSource(field, "bin", "1.0-1")).toEqual(expected);
  });

  it("needs a name and a version", () => {
    const [noVersion, entry] = parseControlFile(
      "Package: a\nStatus: install ok installed\n\nPackage: b\nVersion: 1:2.3-4+b1\nInstalled-Size: 4KB\n",
    ).stanzas;
    expect(toDpkgEntry(noVersion!)).toBeUndefined();
    expect(toDpkgEntry(entry!)).toEqual({
      name: "b",
      version: "1:2.3-4+b1",
      source: { name: "b", version: "1:2.3-4+b1" },
    });
  });
});

describe("owned file lists", () => {
  it("drops directories from .list files and strips the leading slash", () => {
    const list = Buffer.from(
      "/.\n/usr\n/usr/bin\n/usr/bin/tar\n/usr/bin-extra\n/usr/share/doc/tar\n/usr/share/doc/tar/copyright\n",
    );
    expect(parseListFile(list).sort()).toEqual(["usr/bin-extra", "usr/bin/tar", "usr/share/doc/tar/copyright"]);
  });

  it("drops a directory listed without its children's parents, in any order, with CRLF and doubled slashes", () => {
    // "/opt" is an ancestor of a file two levels down whose parent is not listed; the file comes first.
    const list = Buffer.from("//opt/app/lib/x.so\r\n/opt\r\n/opt/app-data\r\n  /etc/app.conf  \r\n\r\n/opt/app-data\n");
    expect(parseListFile(list)).toEqual(["opt/app/lib/x.so", "opt/app-data", "etc/app.conf"]);
  });

  it("reads md5sums paths, spaces included", () => {
    const md5 = Buffer.from(
      "25de5fcdc3c8ebd9c9f599fb7a899b40  usr/bin/tar\r\nde1096fbccdc14324196fc6829324ebc  usr/share/a file\nnot a line\n",
    );
    expect(parseMd5sums(md5)).toEqual(["usr/bin/tar", "usr/share/a file"]);
  });
});
