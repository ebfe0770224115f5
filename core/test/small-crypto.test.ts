/**
 * The warm path's SHA-256 and random bytes (src/small-crypto.ts), which the scan bundle uses instead of
 * node:crypto's for the inventory cache key, the manifest and config digest checks and the temp area's
 * name. Expected digests come from coreutils' sha256sum, never from the code under test.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createHash, randomBytes, sha256 } from "../src/small-crypto.js";
import { tempDir } from "./helpers/temp-dir.js";

const scratch = tempDir("stowaway-small-crypto-");

/** sha256sum's hex digest of `bytes`. */
function sha256sum(bytes: Uint8Array): string {
  const file = path.join(scratch, "input");
  writeFileSync(file, bytes);
  return execFileSync("sha256sum", [file], { encoding: "utf8" }).split(" ")[0]!;
}

/** Deterministic bytes of every value (a simple LCG), so each length is a different message. */
function bytesOf(length: number, seed = length): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

describe("small-crypto", () => {
  it("hashes as sha256sum does across the padding boundaries and past the size node:crypto takes over at", () => {
    // 55/56 and 119/120: the length field fits in the last block or needs another; 16384/16385: the hand-over.
    for (const length of [0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 1000, 16384, 16385, 100_000]) {
      const message = bytesOf(length);
      const expected = sha256sum(message);
      if (length <= 16384) expect(sha256(message).toString("hex"), `length ${length}`).toBe(expected);
      expect(createHash("sha256").update(message).digest("hex"), `length ${length}`).toBe(expected);
    }
  });

  it("takes several updates, strings in an encoding, and gives a Buffer or an encoded digest", () => {
    const parts = [bytesOf(10_000, 1), bytesOf(6000, 2), bytesOf(500, 3)];
    const whole = Buffer.concat(parts);
    const hash = createHash("sha256");
    for (const part of parts) hash.update(part);
    expect(hash.digest("hex")).toBe(sha256sum(whole));
    const text = "inventory\u00002\u0000fingerprint ÿ€";
    expect(createHash("sha256").update(text).digest("hex")).toBe(sha256sum(Buffer.from(text, "utf8")));
    expect(createHash("sha256").update("616263", "hex").digest().toString("hex")).toBe(sha256sum(Buffer.from("abc")));
    expect(createHash("sha256").update("abc").digest("base64")).toBe(
      Buffer.from(sha256sum(Buffer.from("abc")), "hex").toString("base64"),
    );
  });

  it("keeps what it was given although the caller reuses its buffer", () => {
    const buffer = bytesOf(4096, 7);
    const expected = sha256sum(buffer);
    const hash = createHash("sha256").update(buffer);
    buffer.fill(0);
    expect(hash.digest("hex")).toBe(expected);
  });

  it("leaves other algorithms to node:crypto", () => {
    const message = bytesOf(300);
    const md5 = execFileSync("md5sum", [], { input: message, encoding: "utf8" }).split(" ")[0];
    expect(createHash("md5").update(message).digest("hex")).toBe(md5);
  });

  it("gives random bytes of the size asked for", () => {
    const first = randomBytes(4);
    expect(first).toHaveLength(4);
    const many = new Set(Array.from({ length: 20 }, () => randomBytes(8).toString("hex")));
    expect(many.size).toBe(20);
    expect(randomBytes(1024)).toHaveLength(1024);
  });
});
