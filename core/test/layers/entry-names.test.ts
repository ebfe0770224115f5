import { describe, expect, it } from "vitest";
import { normalizeEntryPath } from "../../src/image/paths.js";
import { SpooledFile } from "../../src/image/spooled-file.js";
import { plainOctal } from "../../src/image/tar-index.js";
import { tempDir } from "../helpers/temp-dir.js";

/**
 * The walker's per-entry fast paths (names already in normal form, octal fields written the usual
 * way, small files held in one buffer) must give exactly what the general code gives. Expected
 * values are written out by hand from the tar and path rules, not computed by the code under test.
 */
describe("normalizeEntryPath", () => {
  it.each([
    ["usr/bin/env", "usr/bin/env"],
    ["usr/share/doc/", "usr/share/doc"],
    ["etc", "etc"],
    ["./etc/os-release", "etc/os-release"],
    ["/etc/os-release", "etc/os-release"],
    ["usr//lib///x", "usr/lib/x"],
    ["usr/./lib/./x/.", "usr/lib/x"],
    ["usr/lib//", "usr/lib"],
    [".", ""],
    ["./", ""],
    ["/", ""],
    ["", ""],
    ["a/.hidden", "a/.hidden"],
    ["a/..b/c", "a/..b/c"],
    ["...", "..."],
    ["a/.wh..wh..opq", "a/.wh..wh..opq"],
  ])("%j -> %j", (name, expected) => {
    expect(normalizeEntryPath(name, "layer")).toBe(expected);
  });

  it.each(["../x", "a/../../x", "a/b/..", "a/b/../", ".."])("refuses %j", (name) => {
    expect(() => normalizeEntryPath(name, "layer")).toThrow(/climbs out of the image root/);
  });
});

describe("plainOctal", () => {
  const field = (text: string, length = 8): Buffer => {
    const block = Buffer.alloc(length);
    block.write(text, "latin1");
    return block;
  };
  it.each([
    ["0000644\0", 0o644],
    ["0000644 ", 0o644],
    ["  644 \0\0", 0o644],
    ["00000000", 0],
    ["17777777", 0o17777777],
  ])("reads %j", (text, expected) => {
    expect(plainOctal(field(text), 0, 8)).toBe(expected);
  });
  it.each(["\0\0\0\0\0\0\0\0", "        ", "0000648\0", "12 34\0\0\0", "\t644\0\0\0\0", "0x1f\0\0\0\0"])(
    "leaves %j to the general parser",
    (text) => {
      expect(plainOctal(field(text), 0, 8)).toBe(-1);
    },
  );
  it("stops at the field's end", () => {
    const block = Buffer.from("0000644100000", "latin1");
    expect(plainOctal(block, 0, 7)).toBe(0o644);
  });
});

describe("SpooledFile with a known size", () => {
  const parts = [Buffer.from("Package: a\n"), Buffer.from("Version: 1\n"), Buffer.from("\n")];
  const whole = "Package: a\nVersion: 1\n\n";

  it("holds a small file as one buffer and hands it back whole and in ranges", async () => {
    const spool = new SpooledFile(tempDir("stowaway-spool-"), undefined, whole.length);
    for (const part of parts) expect(spool.write(part)).toBeUndefined();
    expect(spool.head(7).toString()).toBe("Package");
    const content = await spool.content("var/lib/dpkg/status", 0o644);
    expect(content.size).toBe(whole.length);
    expect((await content.readAll()).toString()).toBe(whole);
    expect((await content.read(11, 10)).toString()).toBe("Version: 1");
    expect((await content.read(20, 100)).toString()).toBe("1\n\n");
    expect((await content.read(100, 5)).length).toBe(0);
    await spool.dispose();
  });

  it("keeps every byte when more arrive than the size given", async () => {
    const spool = new SpooledFile(tempDir("stowaway-spool-"), undefined, 5);
    for (const part of parts) spool.write(part);
    const content = await spool.content("f", 0o644);
    expect(content.size).toBe(whole.length);
    expect((await content.readAll()).toString()).toBe(whole);
    await spool.dispose();
  });

  it("spills a file above the memory limit even when its size was given", async () => {
    const spool = new SpooledFile(tempDir("stowaway-spool-"), 16, whole.length);
    for (const part of parts) await spool.write(part);
    const content = await spool.content("f", 0o644);
    expect((await content.readAll()).toString()).toBe(whole);
    await spool.dispose();
  });
});
