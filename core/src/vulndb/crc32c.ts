// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): what Google Cloud Storage reports in
// `x-goog-hash: crc32c=<base64 big-endian>`. Node 20 has no built-in for it.
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export class Crc32c {
  private state = 0xffffffff;

  update(data: Uint8Array): this {
    let crc = this.state;
    for (let i = 0; i < data.length; i++) crc = TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
    this.state = crc;
    return this;
  }

  digest(): number {
    return (this.state ^ 0xffffffff) >>> 0;
  }

  /** The value as GCS encodes it: base64 of the 4 big-endian bytes. */
  digestBase64(): string {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(this.digest());
    return bytes.toString("base64");
  }
}

/** `x-goog-hash: crc32c=AAAAAA==,md5=…` → { crc32c, md5 } (base64 values). */
export function parseGoogHash(header: string | undefined): { crc32c?: string; md5?: string } {
  const result: { crc32c?: string; md5?: string } = {};
  for (const part of (header ?? "").split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (key === "crc32c") result.crc32c = value;
    if (key === "md5") result.md5 = value;
  }
  return result;
}
