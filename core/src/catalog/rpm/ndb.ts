/**
 * Header blobs of an rpm NDB database (`Packages.db`, rpm's own format since 4.16, used by SUSE).
 * Layout facts from rpm's lib/backend/ndb/rpmpkg.c: the file starts with slot pages (4096 bytes;
 * the first opens with a 32-byte header whose magic is "RpmP"), each slot (16 bytes, magic "Slot")
 * names a package index and the 16-byte blocks its blob occupies; a blob starts with a 16-byte
 * header (magic "BlbS", package index, generation, length) and its last 12 bytes are a tail
 * (checksum, length, magic "BlbE"). All integers are little-endian.
 */

import type { BlobRead } from "./blobs.js";

const PAGE_SIZE = 4096;
const DB_HEADER = 32;
const SLOT_SIZE = 16;
const BLOCK = 16;
const BLOB_HEAD = 16;
const BLOB_TAIL = 12;
const MAX_PROBLEMS = 5;

interface Slot {
  pkgIndex: number;
  blockOffset: number;
  blockCount: number;
}

export function readNdbBlobs(db: Buffer): BlobRead {
  const fail = (message: string): BlobRead => ({ blobs: [], problems: [message] });
  if (db.length < DB_HEADER || db.toString("latin1", 0, 4) !== "RpmP") return fail("not an rpm NDB database");
  const version = db.readUInt32LE(4);
  if (version !== 0) return fail(`unsupported NDB version ${version}`);
  const slotPages = db.readUInt32LE(12);
  if (slotPages === 0 || slotPages * PAGE_SIZE > db.length) return fail(`implausible slot page count ${slotPages}`);

  const problems: string[] = [];
  const problem = (message: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(message);
  };

  const slots: Slot[] = [];
  slotLoop: for (let page = 0; page < slotPages; page++) {
    for (let at = page === 0 ? DB_HEADER : 0; at < PAGE_SIZE; at += SLOT_SIZE) {
      const offset = page * PAGE_SIZE + at;
      if (db.toString("latin1", offset, offset + 4) !== "Slot") {
        problem(`slot at byte ${offset} has no slot magic; later slots skipped`);
        break slotLoop;
      }
      const pkgIndex = db.readUInt32LE(offset + 4);
      // A zero package index marks a free slot.
      if (pkgIndex === 0) continue;
      slots.push({ pkgIndex, blockOffset: db.readUInt32LE(offset + 8), blockCount: db.readUInt32LE(offset + 12) });
    }
  }

  const blobs: Buffer[] = [];
  const firstBlobBlock = (slotPages * PAGE_SIZE) / BLOCK;
  for (const slot of slots.sort((a, b) => a.pkgIndex - b.pkgIndex)) {
    const start = slot.blockOffset * BLOCK;
    const end = start + slot.blockCount * BLOCK;
    if (slot.blockOffset < firstBlobBlock || end > db.length || slot.blockCount * BLOCK < BLOB_HEAD + BLOB_TAIL) {
      problem(`package ${slot.pkgIndex}: blob location outside the file`);
      continue;
    }
    if (db.toString("latin1", start, start + 4) !== "BlbS" || db.readUInt32LE(start + 4) !== slot.pkgIndex) {
      problem(`package ${slot.pkgIndex}: no blob header where its slot points`);
      continue;
    }
    const length = db.readUInt32LE(start + 12);
    if (BLOB_HEAD + length + BLOB_TAIL > end - start) {
      problem(`package ${slot.pkgIndex}: blob length ${length} exceeds its ${slot.blockCount} blocks`);
      continue;
    }
    if (db.toString("latin1", end - 4, end) !== "BlbE" || db.readUInt32LE(end - 8) !== length) {
      problem(`package ${slot.pkgIndex}: blob tail missing or inconsistent`);
      continue;
    }
    blobs.push(Buffer.from(db.subarray(start + BLOB_HEAD, start + BLOB_HEAD + length)));
  }
  return { blobs, problems };
}
