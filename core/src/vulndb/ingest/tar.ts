import { createReadStream } from "node:fs";
import { extract } from "tar-stream";
import { decompressAuto } from "../../image/decompress.js";
import { HostileVulnDataError, VulnDbError } from "../errors.js";
import type { ZipLimits, ZipMember } from "./zip.js";

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** A zstd frame: how Red Hat ships its CSAF/VEX archives (`csaf_vex_<date>.tar.zst`). */
export function looksLikeZstd(head: Buffer): boolean {
  return head.subarray(0, 4).equals(ZSTD_MAGIC);
}

/**
 * The regular-file members of a (gzip/zstd-compressed or plain) tar archive whose names `wanted`
 * accepts, one at a time, within the same limits as zip inputs. Streams the archive once.
 */
export async function* readTarMembers(
  file: string,
  limits: ZipLimits,
  wanted: (name: string) => boolean,
): AsyncGenerator<ZipMember> {
  const source = createReadStream(file);
  const tar = extract();
  const input = decompressAuto(source);
  input.on("error", (error) => tar.destroy(error));
  input.pipe(tar);
  let entries = 0;
  let total = 0;
  try {
    for await (const entry of tar) {
      const { name, type, size } = entry.header;
      if (++entries > limits.maxEntries) {
        throw new HostileVulnDataError(`${file}: more than ${limits.maxEntries} archive entries; refused`);
      }
      if (type !== "file" || !wanted(name)) {
        entry.resume();
        continue;
      }
      if ((size ?? 0) > limits.maxEntryBytes) {
        throw new HostileVulnDataError(`${file}!${name}: ${size} bytes is more than a feed member may hold; refused`);
      }
      total += size ?? 0;
      if (total > limits.maxTotalBytes) {
        throw new HostileVulnDataError(`${file}: more than ${limits.maxTotalBytes} bytes unpacked; refused`);
      }
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      yield { name, data: Buffer.concat(chunks) };
    }
  } catch (error) {
    if (error instanceof VulnDbError) throw error;
    throw new VulnDbError(`${file}: not a readable tar archive (${(error as Error).message.split("\n")[0]})`, {
      cause: error,
    });
  } finally {
    source.destroy();
    tar.destroy();
  }
}
