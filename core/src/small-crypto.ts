import type { BinaryToTextEncoding, Hash } from "node:crypto";

/*
 * createHash and randomBytes as node:crypto has them, for the few modules whose calls a warm rescan
 * makes (the inventory cache key, the manifest and config digest checks, the temp area's name):
 * core/scripts/bundle-scan.mjs points their imports here. A warm rescan then never loads node:crypto,
 * which is some fifteen internal modules (ciphers, key objects, X.509, HKDF ...) for three hashes of
 * a few hundred bytes each and four random bytes. Anything else, or any more than SMALL bytes, goes to
 * node:crypto itself, loaded on that first call.
 */

const nodeCrypto = () => process.getBuiltinModule("node:crypto");

/** Up to this many bytes a SHA-256 is computed here: a manifest, a config, a cache key. */
const SMALL = 16 * 1024;

/** SHA-256 round constants and initial hash value (FIPS 180-4, 4.2.2 and 5.3.3). */
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/** SHA-256 of `message` (FIPS 180-4, 6.2), as the 32 digest bytes. */
export function sha256(message: Uint8Array): Buffer {
  // Padding: 0x80, zeros, then the length in bits as a 64-bit big-endian number, to a multiple of 64 bytes.
  const blocks = Math.ceil((message.length + 9) / 64);
  const padded = new Uint8Array(blocks * 64);
  padded.set(message);
  padded[message.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(message.length / 0x20000000));
  view.setUint32(padded.length - 4, (message.length * 8) >>> 0);
  const h = [...H0];
  const w = new Uint32Array(64);
  for (let block = 0; block < blocks; block++) {
    for (let t = 0; t < 16; t++) w[t] = view.getUint32(block * 64 + t * 4);
    for (let t = 16; t < 64; t++) {
      const w15 = w[t - 15]!;
      const w2 = w[t - 2]!;
      const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
      const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
      w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h as [number, number, number, number, number, number, number, number];
    for (let t = 0; t < 64; t++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + s1 + ch + K[t]! + w[t]!) >>> 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (s0 + maj) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] = (h[0]! + a) >>> 0;
    h[1] = (h[1]! + b) >>> 0;
    h[2] = (h[2]! + c) >>> 0;
    h[3] = (h[3]! + d) >>> 0;
    h[4] = (h[4]! + e) >>> 0;
    h[5] = (h[5]! + f) >>> 0;
    h[6] = (h[6]! + g) >>> 0;
    h[7] = (h[7]! + hh) >>> 0;
  }
  const digest = Buffer.alloc(32);
  h.forEach((word, index) => digest.writeUInt32BE(word, index * 4));
  return digest;
}

/**
 * A SHA-256 that stays here while its input is small (copied, since callers may reuse their buffers)
 * and hands everything to node:crypto's own once it is not: only update() and digest() are offered,
 * which is all the redirected modules call.
 */
class SmallSha256 {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private native: Hash | undefined;

  update(data: string | Uint8Array, encoding?: BufferEncoding): this {
    if (this.native) {
      this.native.update(data as string, encoding as BufferEncoding);
      return this;
    }
    const chunk = typeof data === "string" ? Buffer.from(data, encoding ?? "utf8") : Buffer.from(data);
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes > SMALL) {
      this.native = nodeCrypto().createHash("sha256");
      for (const held of this.chunks) this.native.update(held);
      this.chunks = [];
    }
    return this;
  }

  digest(): Buffer;
  digest(encoding: BinaryToTextEncoding): string;
  digest(encoding?: BinaryToTextEncoding): Buffer | string {
    if (this.native) return encoding === undefined ? this.native.digest() : this.native.digest(encoding);
    const digest = sha256(Buffer.concat(this.chunks));
    return encoding === undefined ? digest : digest.toString(encoding);
  }
}

/** node:crypto's createHash; a SHA-256 without options is computed here while its input is small. */
export function createHash(algorithm: string, options?: object): Hash {
  if (algorithm !== "sha256" || options !== undefined) return nodeCrypto().createHash(algorithm, options);
  return new SmallSha256() as unknown as Hash;
}

/**
 * node:crypto's randomBytes (synchronous form): on Linux a few bytes are read from /dev/urandom, the
 * kernel's CSPRNG that node:crypto's own generator is seeded from; elsewhere, for a callback, or if
 * the device cannot be read, node:crypto answers.
 */
export function randomBytes(size: number, ...rest: unknown[]): Buffer {
  if (rest.length === 0 && process.platform === "linux" && Number.isInteger(size) && size > 0 && size <= 256) {
    const fs = process.getBuiltinModule("node:fs");
    let fd: number | undefined;
    try {
      fd = fs.openSync("/dev/urandom", "r");
      const bytes = Buffer.alloc(size);
      if (fs.readSync(fd, bytes, 0, size, null) === size) return bytes;
    } catch {
      // Falls through to node:crypto.
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }
  return (nodeCrypto().randomBytes as (size: number, ...rest: unknown[]) => Buffer)(size, ...rest);
}
