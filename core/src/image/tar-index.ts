import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import path from "node:path";
import { HostileInputError, ImageError, quoteInput } from "../errors.js";

export type TarMemberType = "file" | "dir" | "symlink" | "hardlink" | "other";

export interface TarMember {
  name: string;
  type: TarMemberType;
  /** Byte offset of the member's data in the archive file. */
  offset: number;
  size: number;
  linkname?: string;
}

const BLOCK = 512;
/** PAX and GNU long-name records are tiny in practice; anything bigger is an attack on our memory. */
const MAX_META_RECORD = 1 << 20;

/**
 * Indexes a tar file by reading only its headers, so members can later be opened by byte range
 * without unpacking or loading the archive. It is synchronous because it reads just 512-byte
 * headers (and tiny PAX/GNU records), and the target auto-detection in parseTarget needs it
 * without an event-loop round trip.
 */
export function indexTarFile(file: string, label = file): Map<string, TarMember> {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (error) {
    throw new ImageError(`${label}: cannot open the archive (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  try {
    return indexFd(fd, fstatSync(fd).size, label);
  } finally {
    closeSync(fd);
  }
}

function indexFd(fd: number, fileSize: number, label: string): Map<string, TarMember> {
  const members = new Map<string, TarMember>();
  const header = Buffer.alloc(BLOCK);
  let position = 0;
  let pending: { path?: string; linkpath?: string; size?: number } = {};
  for (;;) {
    const got = readAt(fd, header, position);
    if (got === 0) break; // no end-of-archive blocks: tolerated, as GNU tar does
    const partial = got < BLOCK;
    if (partial && position > 0) throw truncated(label, `a header at offset ${position}`);
    if (!partial && header.every((byte) => byte === 0)) break;
    if (partial || !checksumMatches(header)) {
      throw new ImageError(
        position === 0
          ? `${label}: not a tar archive (no valid tar header at the start); pass an image archive from docker save, skopeo or an OCI layout`
          : `${label}: corrupt tar header at offset ${position}; the archive is damaged, re-export it`,
      );
    }
    const typeflag = String.fromCharCode(header[156]!);
    let size = parseNumeric(header, 124, 12, label, position);
    if (pending.size !== undefined) size = pending.size;
    const dataStart = position + BLOCK;
    const headerName = readString(header, 0, 100);
    if (dataStart + size > fileSize) throw truncated(label, `member ${quoteInput(pending.path ?? headerName)}`);
    const next = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    if (typeflag === "x" || typeflag === "L" || typeflag === "K") {
      if (size > MAX_META_RECORD) {
        throw new HostileInputError(
          `${label}: a ${size}-byte tar metadata record at offset ${position} is implausibly large; refusing the archive`,
        );
      }
      const data = Buffer.alloc(size);
      if (readAt(fd, data, dataStart) < size) throw truncated(label, `a metadata record at offset ${position}`);
      if (typeflag === "x") pending = { ...pending, ...parsePax(data, label, position) };
      else if (typeflag === "L") pending.path = readString(data, 0, size);
      else pending.linkpath = readString(data, 0, size);
      position = next;
      continue;
    }
    if (typeflag === "g") {
      position = next;
      continue;
    }

    const rawName = pending.path ?? ustarName(header, headerName);
    const linkname = pending.linkpath ?? readString(header, 157, 100);
    pending = {};
    position = next;
    const name = normalizeMemberName(rawName, label);
    if (name === "") continue; // the archive root ("./")
    const type = memberType(typeflag);
    members.set(name, {
      name,
      type,
      offset: dataStart,
      size: type === "file" ? size : 0,
      ...(type === "symlink" || type === "hardlink" ? { linkname } : {}),
    });
  }
  return members;
}

function readAt(fd: number, buffer: Buffer, position: number): number {
  let total = 0;
  while (total < buffer.length) {
    const n = readSync(fd, buffer, total, buffer.length - total, position + total);
    if (n === 0) break;
    total += n;
  }
  return total;
}

function truncated(label: string, what: string): ImageError {
  return new ImageError(`${label}: the archive ends inside ${what}; it is truncated, re-export or re-download it`);
}

/**
 * The value of a header's octal field when it is written the usual way (optional leading spaces,
 * octal digits, then NULs or spaces to the end of the field), read straight from the bytes; -1 for
 * anything else, which the caller then parses the general way. Every layer entry reads two or three
 * of these, so the common case builds no string.
 */
export function plainOctal(header: Buffer, offset: number, length: number): number {
  const end = offset + length;
  let i = offset;
  while (i < end && header[i] === 0x20) i++;
  const first = i;
  let value = 0;
  for (; i < end; i++) {
    const byte = header[i]!;
    if (byte < 0x30 || byte > 0x37) break;
    value = value * 8 + (byte - 0x30);
  }
  if (i === first) return -1;
  for (; i < end; i++) {
    const byte = header[i]!;
    if (byte === 0) return value;
    if (byte !== 0x20) return -1;
  }
  return value;
}

export function checksumMatches(header: Buffer): boolean {
  const plain = plainOctal(header, 148, 8);
  const stored = plain >= 0 ? plain : Number.parseInt(readString(header, 148, 8).trim() || "NaN", 8);
  // Every layer entry passes here, so no per-byte branch: the checksum field counts as 8 spaces.
  let unsigned = 8 * 0x20;
  for (let i = 0; i < 148; i++) unsigned += header[i]!;
  for (let i = 156; i < BLOCK; i++) unsigned += header[i]!;
  if (stored === unsigned) return true;
  // Some old tar implementations summed signed chars; accept either.
  let signed = unsigned;
  for (let i = 0; i < BLOCK; i++) {
    if ((i < 148 || i >= 156) && header[i]! > 127) signed -= 256;
  }
  return stored === signed;
}

/**
 * The NUL-terminated string in `buffer[offset, offset + length)`. Decoded straight from the
 * buffer: every tar header reads several fields, and a subarray per field was a Buffer object each.
 */
export function readString(buffer: Buffer, offset: number, length: number): string {
  const limit = Math.min(offset + length, buffer.length);
  let end = offset;
  while (end < limit && buffer[end] !== 0) end++;
  return end > offset ? buffer.toString("utf8", offset, end) : "";
}

export function parseNumeric(header: Buffer, offset: number, length: number, label: string, position: number): number {
  const lead = header[offset]!;
  if (lead & 0x80) {
    // GNU base-256 for sizes >= 8 GiB; a negative value (0xff lead) is never a valid size.
    if (lead === 0xff) throw new ImageError(`${label}: negative size in the tar header at offset ${position}`);
    let value = lead & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + header[offset + i]!;
    return value;
  }
  const plain = plainOctal(header, offset, length);
  if (plain >= 0) return plain;
  const text = readString(header, offset, length).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new ImageError(`${label}: bad size field in the tar header at offset ${position}`);
  return Number.parseInt(text, 8);
}

/** POSIX ustar splits long names into prefix + name; GNU tar reuses the prefix bytes for other data. */
export function ustarName(header: Buffer, name: string): string {
  // "ustar\0" (POSIX); GNU tar writes "ustar " there and uses the prefix bytes for other data.
  if (
    header[257] !== 0x75 ||
    header[258] !== 0x73 ||
    header[259] !== 0x74 ||
    header[260] !== 0x61 ||
    header[261] !== 0x72 ||
    header[262] !== 0
  ) {
    return name;
  }
  const prefix = readString(header, 345, 155);
  return prefix ? `${prefix}/${name}` : name;
}

export function parsePax(
  data: Buffer,
  label: string,
  position: number,
): { path?: string; linkpath?: string; size?: number } {
  const result: { path?: string; linkpath?: string; size?: number } = {};
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const length = space === -1 ? NaN : Number.parseInt(data.subarray(offset, space).toString("ascii"), 10);
    if (!Number.isInteger(length) || length <= 0 || offset + length > data.length) {
      if (data.subarray(offset).every((byte) => byte === 0)) break;
      throw new ImageError(`${label}: malformed PAX header at offset ${position}; the archive is damaged`);
    }
    const record = data.subarray(space + 1, offset + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === "path") result.path = value;
    else if (key === "linkpath") result.linkpath = value;
    else if (key === "size" && /^\d+$/.test(value)) result.size = Number(value);
    offset += length;
  }
  return result;
}

function memberType(typeflag: string): TarMemberType {
  switch (typeflag) {
    case "0":
    case "\0":
    case "7":
      return "file";
    case "1":
      return "hardlink";
    case "2":
      return "symlink";
    case "5":
      return "dir";
    default:
      return "other";
  }
}

/**
 * Member names are relative paths; a leading "./" is common (tar -C dir .) and harmless. An
 * absolute name or a ".." component has no business in an image archive and would let a crafted
 * archive name files outside it, so the whole archive is refused.
 */
export function normalizeMemberName(raw: string, label: string): string {
  let name = raw.replace(/\/+$/, "");
  while (name.startsWith("./")) name = name.slice(2);
  if (name === ".") return "";
  if (name.startsWith("/") || /^[A-Za-z]:[\\/]/.test(name)) {
    throw new HostileInputError(`${label}: member ${quoteInput(raw)} has an absolute path; refusing a crafted archive`);
  }
  if (name.split(/[\\/]/).includes("..")) {
    throw new HostileInputError(
      `${label}: member ${quoteInput(raw)} climbs out of the archive with ".."; refusing a crafted archive`,
    );
  }
  return path.posix.normalize(name);
}
