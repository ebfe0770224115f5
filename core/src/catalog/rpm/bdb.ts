/**
 * Values of a Berkeley DB hash database (the format of rpm's legacy `Packages` file), read without
 * libdb. Layout facts from the Berkeley DB file format (db_page.h): page 0 is the hash metadata
 * page, bucket N lives on page N + spares[ceil(log2(N + 1))] and chains through next_pgno, and
 * values too big for a page sit on a chain of overflow pages. Every field is written in the byte
 * order of the machine that created the file, which the magic number reveals.
 */

import type { BlobRead } from "./blobs.js";

const HASH_MAGIC = 0x061561;
const P_HASH_UNSORTED = 2;
const P_OVERFLOW = 7;
const P_HASHMETA = 8;
const P_HASH = 13;
const H_KEYDATA = 1;
const H_DUPLICATE = 2;
const H_OFFPAGE = 3;
const H_OFFDUP = 4;
const DBMETA_CHKSUM = 0x01;
/** lsn(8) pgno(4) prev_pgno(4) next_pgno(4) entries(2) hf_offset(2) level(1) type(1). */
const PAGE_HEADER = 26;
const MAX_PROBLEMS = 5;

export function readBdbHashValues(db: Buffer): BlobRead {
  const problems: string[] = [];
  const fail = (message: string): BlobRead => ({ blobs: [], problems: [message] });
  if (db.length < 512) return fail("file too short for a Berkeley DB metadata page");

  let littleEndian: boolean;
  if (db.readUInt32LE(12) === HASH_MAGIC) littleEndian = true;
  else if (db.readUInt32BE(12) === HASH_MAGIC) littleEndian = false;
  else return fail("not a Berkeley DB hash database");
  const u32 = (at: number): number => (littleEndian ? db.readUInt32LE(at) : db.readUInt32BE(at));
  const u16 = (at: number): number => (littleEndian ? db.readUInt16LE(at) : db.readUInt16BE(at));

  const pageSize = u32(20);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    return fail(`implausible page size ${pageSize}`);
  }
  if (db[25] !== P_HASHMETA) return fail(`page 0 is not a hash metadata page (type ${db[25]})`);
  if (db[24] !== 0) return fail("encrypted databases are not supported");
  // Checksummed pages carry the checksum inside the page header area, shifting every offset.
  if ((db[26]! & DBMETA_CHKSUM) !== 0) return fail("checksummed databases are not supported");

  const pageCount = Math.min(Math.floor(db.length / pageSize), u32(32) + 1);
  const maxBucket = u32(72);
  if (maxBucket >= pageCount) return fail(`bucket count ${maxBucket + 1} exceeds the ${pageCount} pages in the file`);
  const spares = Array.from({ length: 32 }, (_, index) => u32(96 + index * 4));

  const pageOf = (pgno: number): Buffer | undefined =>
    pgno > 0 && pgno < pageCount ? db.subarray(pgno * pageSize, (pgno + 1) * pageSize) : undefined;
  const problem = (message: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(message);
  };

  const readOverflow = (first: number, total: number): Buffer | undefined => {
    if (total > db.length) return undefined;
    const parts: Buffer[] = [];
    let collected = 0;
    const seen = new Set<number>();
    for (let pgno = first; collected < total;) {
      const page = pageOf(pgno);
      if (!page || seen.has(pgno) || page[25] !== P_OVERFLOW) return undefined;
      seen.add(pgno);
      // On overflow pages hf_offset holds the number of value bytes stored on the page.
      const length = Math.min(u16(pgno * pageSize + 22), pageSize - PAGE_HEADER, total - collected);
      parts.push(page.subarray(PAGE_HEADER, PAGE_HEADER + length));
      collected += length;
      const next = u32(pgno * pageSize + 16);
      if (collected < total && next === 0) return undefined;
      pgno = next;
    }
    return Buffer.concat(parts, total);
  };

  const blobs: Buffer[] = [];
  const visited = new Set<number>();
  for (let bucket = 0; bucket <= maxBucket; bucket++) {
    const spare = spares[Math.ceil(Math.log2(bucket + 1))] ?? 0;
    for (let pgno = bucket + spare; pgno !== 0;) {
      const page = pageOf(pgno);
      if (!page) {
        problem(`bucket ${bucket} points at page ${pgno}, outside the file`);
        break;
      }
      if (visited.has(pgno)) {
        problem(`page ${pgno} is linked twice`);
        break;
      }
      visited.add(pgno);
      const type = page[25];
      if (type !== P_HASH && type !== P_HASH_UNSORTED) {
        problem(`page ${pgno} is not a hash page (type ${type})`);
        break;
      }
      const base = pgno * pageSize;
      const entries = u16(base + 20);
      const indexEnd = PAGE_HEADER + entries * 2;
      if (indexEnd > pageSize) {
        problem(`page ${pgno} claims ${entries} entries`);
        break;
      }
      const offsetAt = (index: number): number => u16(base + PAGE_HEADER + index * 2);
      // Items alternate key, value; rpm's keys are package numbers and only the values matter.
      for (let index = 1; index < entries; index += 2) {
        const keyOffset = offsetAt(index - 1);
        const keyEnd = index - 1 === 0 ? pageSize : offsetAt(index - 2);
        // Package number 0 holds rpm's next-number counter, not a header.
        if (page[keyOffset] === H_KEYDATA && keyEnd - keyOffset === 5 && page.readUInt32LE(keyOffset + 1) === 0)
          continue;
        const offset = offsetAt(index);
        if (offset < indexEnd || offset >= pageSize) {
          problem(`page ${pgno} item ${index} lies outside the page`);
          continue;
        }
        const kind = page[offset];
        if (kind === H_KEYDATA) {
          const end = offsetAt(index - 1);
          if (end <= offset || end > pageSize) {
            problem(`page ${pgno} item ${index} has no room`);
            continue;
          }
          blobs.push(Buffer.from(page.subarray(offset + 1, end)));
        } else if (kind === H_OFFPAGE) {
          if (offset + 12 > pageSize) {
            problem(`page ${pgno} item ${index} is truncated`);
            continue;
          }
          const value = readOverflow(u32(base + offset + 4), u32(base + offset + 8));
          if (value) blobs.push(value);
          else problem(`page ${pgno} item ${index}: broken overflow chain`);
        } else if (kind === H_DUPLICATE || kind === H_OFFDUP) {
          problem(`page ${pgno} item ${index}: duplicate values are not used by rpm and were skipped`);
        } else {
          problem(`page ${pgno} item ${index} has unknown type ${kind}`);
        }
      }
      pgno = u32(base + 16);
    }
  }
  return { blobs, problems };
}
