import yazl from "yazl";

/**
 * A zip built in memory by yazl (an independent writer, not the reader under test). Entries are
 * deflated unless `store` is set (jars nest jars stored, as build tools write them).
 */
export function buildZip(entries: Record<string, Buffer | string>, options: { store?: boolean } = {}): Promise<Buffer> {
  const file = new yazl.ZipFile();
  for (const [name, content] of Object.entries(entries))
    file.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content), name, { compress: !options.store });
  file.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    file.outputStream.on("data", (chunk: Buffer) => chunks.push(chunk));
    file.outputStream.on("end", () => resolve(Buffer.concat(chunks)));
    file.outputStream.on("error", reject);
  });
}
