import { describe, expect, it } from "vitest";
import { emptySnapshot, type LayerSnapshot } from "../../src/image/layer-walker.js";
import { SquashedFilesystem } from "../../src/image/squash.js";

/** A layer holding only symlinks (path -> target as written) and files. */
function layer(symlinks: Record<string, string>, files: string[] = []): LayerSnapshot {
  const snapshot = emptySnapshot("sha256:test");
  for (const file of files) snapshot.files.set(file, Buffer.from(file));
  for (const [link, target] of Object.entries(symlinks)) snapshot.symlinks.set(link, target);
  return snapshot;
}

/** Expected paths are worked out by hand from POSIX path resolution inside the image root. */
describe("symlink resolution in the squashed filesystem", () => {
  const filesystem = new SquashedFilesystem();
  filesystem.apply(
    layer(
      {
        lib: "usr/lib",
        "usr/lib/os-release": "../../etc/os-release-real",
        "usr/bin/python3": "/usr/local/bin/python3.12",
        "usr/local/bin/python3.12": "../../../../../opt/py/bin/python",
        "etc/alternatives/java": "/usr/lib/jvm/bin/java",
        "a/loop": "b/loop",
        "a/b": ".",
      },
      ["etc/os-release-real", "opt/py/bin/python"],
    ),
    0,
  );

  it.each([
    ["usr/share/doc/x", "usr/share/doc/x"],
    ["/usr//share/./doc/x", "usr/share/doc/x"],
    ["usr/share/../bin/ls", "usr/bin/ls"],
    ["lib/os-release", "etc/os-release-real"],
    ["lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libc.so.6"],
    ["usr/bin/python3", "opt/py/bin/python"],
    ["etc/alternatives/java", "usr/lib/jvm/bin/java"],
    ["lib/../etc/passwd", "usr/etc/passwd"],
    ["../../etc/passwd", "etc/passwd"],
    ["", ""],
  ])("%s resolves to %s", (path, expected) => {
    expect(filesystem.resolve(path)).toBe(expected);
  });

  it("treats a loop as absent, with a warning", () => {
    expect(filesystem.resolve("a/loop")).toBeUndefined();
    expect(filesystem.warnings.some((warning) => warning.includes("symlink loop"))).toBe(true);
  });

  it("reads a file through a chain of links", () => {
    expect(filesystem.read("lib/os-release")?.toString()).toBe("etc/os-release-real");
    expect(filesystem.layerOf("usr/bin/python3")).toBe(0);
  });
});

/** resolve() remembers directories it found plain; the answers must be those of a fresh walk. */
describe("symlink resolution below directories already resolved", () => {
  it("still follows a link in the last part, and dot parts, below a remembered directory", () => {
    const filesystem = new SquashedFilesystem();
    filesystem.apply(layer({ "usr/share/x": "y", "usr/share/up": "../lib" }, ["usr/share/z"]), 0);
    expect(filesystem.resolve("usr/share/z")).toBe("usr/share/z");
    expect(filesystem.resolve("usr/share/x")).toBe("usr/share/y");
    expect(filesystem.resolve("usr/share/up")).toBe("usr/lib");
    expect(filesystem.resolve("usr/share/..")).toBe("usr");
    expect(filesystem.resolve("usr/share/.")).toBe("usr/share");
    expect(filesystem.resolve("usr/share/")).toBe("usr/share");
    expect(filesystem.resolve("usr/share/.hidden")).toBe("usr/share/.hidden");
    expect(filesystem.resolve("usr/share/..x")).toBe("usr/share/..x");
  });

  it("resolves paths below linked directories as a fresh walk does, and warns about a loop for each path asked", () => {
    const filesystem = new SquashedFilesystem();
    filesystem.apply(layer({ lib: "usr/lib", "usr/lib/x.so": "x.so.1", "a/loop": "b/loop", "a/b": "." }), 0);
    for (let round = 0; round < 2; round++) {
      expect(filesystem.resolve("lib/y.so")).toBe("usr/lib/y.so");
      expect(filesystem.resolve("lib/x.so")).toBe("usr/lib/x.so.1");
      expect(filesystem.resolve("lib/../etc/z")).toBe("usr/etc/z");
      expect(filesystem.resolve("a/loop/one")).toBeUndefined();
      expect(filesystem.resolve("a/loop/two")).toBeUndefined();
    }
    expect(new Set(filesystem.warnings.map((warning) => warning.replace(/.* resolving /, "")))).toEqual(
      new Set(["/a/loop/one; treated as absent", "/a/loop/two; treated as absent"]),
    );
  });

  it("resolves consecutive paths of one directory, and of another directory of the same length, as a walk does", () => {
    const filesystem = new SquashedFilesystem();
    filesystem.apply(layer({ "usr/abc": "lib", "usr/lib/link": "target", "usr/lib/up": ".." }), 0);
    const asked = [
      ["usr/lib/a", "usr/lib/a"],
      ["usr/lib/b", "usr/lib/b"],
      ["usr/abc/a", "usr/lib/a"],
      ["usr/abc/link", "usr/lib/target"],
      ["usr/lib/link", "usr/lib/target"],
      ["usr/lib/up", "usr"],
      ["usr/lib/c", "usr/lib/c"],
      ["usr/libx/a", "usr/libx/a"],
      ["usr/lib/x/y", "usr/lib/x/y"],
      ["usr/lib/d", "usr/lib/d"],
    ];
    for (const [path, expected] of asked) expect(filesystem.resolve(path!), path).toBe(expected);
  });

  it("forgets what it remembered when a later layer turns a directory into a link", () => {
    const filesystem = new SquashedFilesystem();
    filesystem.apply(layer({}, ["usr/lib/a.so"]), 0);
    expect(filesystem.resolve("usr/lib/a.so")).toBe("usr/lib/a.so");
    filesystem.apply(layer({ "usr/lib": "../lib64" }), 1);
    expect(filesystem.resolve("usr/lib/a.so")).toBe("lib64/a.so");
    expect(filesystem.resolve("usr/lib/b.so")).toBe("lib64/b.so");
  });
});
