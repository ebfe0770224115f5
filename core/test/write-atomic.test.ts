import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../src/write-atomic.js";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "stowaway-write-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("writeFileAtomic", () => {
  it("replaces a regular file whole, leaving no temp file beside it", async () => {
    const dir = tempDir();
    const target = path.join(dir, "report.json");
    await writeFileAtomic(target, "old");
    await writeFileAtomic(target, "new");
    expect(readFileSync(target, "utf8")).toBe("new");
    expect(readdirSync(dir)).toEqual(["report.json"]);
  });

  it("writes several byte runs one after the other, as one file", async () => {
    const dir = tempDir();
    const target = path.join(dir, "report.json");
    const big = Buffer.alloc(3 << 20, 0x61);
    await writeFileAtomic(target, [Buffer.from("{"), new Uint8Array(0), big.subarray(1), Buffer.from("}\n")]);
    const written = readFileSync(target);
    expect(written.length).toBe(1 + big.length - 1 + 2);
    expect(written.subarray(0, 2).toString()).toBe("{a");
    expect(written.subarray(-3).toString()).toBe("a}\n");
    expect(readdirSync(dir)).toEqual(["report.json"]);
  });

  // `-o /dev/null` once renamed a plain file over the device. A named pipe is the same kind of
  // target (not a regular file) that a test can create and check without touching /dev.
  it("writes into a target that is not a regular file instead of renaming over it", async () => {
    const dir = tempDir();
    const fifo = path.join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    const reader = spawn("cat", [fifo]);
    let received = "";
    reader.stdout.on("data", (chunk: Buffer) => (received += chunk.toString()));
    const closed = new Promise((resolve) => reader.on("close", resolve));
    await writeFileAtomic(fifo, "through the pipe");
    await closed;
    expect(received).toBe("through the pipe");
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(dir)).toEqual(["pipe"]);
  });

  // `-o /dev/null` is what benchmarks and CI jobs give: written in place and synchronously, with no
  // thread-pool round trip. /dev/full is the character device whose write answers (ENOSPC), so the
  // test sees the write happen (without writing to /dev/null, which other processes rely on).
  it("writes a character device in place and synchronously", async () => {
    const device = "/dev/full";
    if (!statSync(device, { throwIfNoEntry: false })?.isCharacterDevice()) return;
    let error: NodeJS.ErrnoException | undefined;
    const written = writeFileAtomic(device, [Buffer.from("a"), Buffer.from("b")]).catch((caught) => {
      error = caught as NodeJS.ErrnoException;
    });
    // Settled within the microtasks that follow the call: no I/O was waited for.
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(error?.code).toBe("ENOSPC");
    await written;
    expect(statSync(device).isCharacterDevice()).toBe(true);
  });
});
