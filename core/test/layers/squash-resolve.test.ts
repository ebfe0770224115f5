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
