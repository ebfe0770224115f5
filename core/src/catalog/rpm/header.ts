/**
 * rpm header blobs as the package databases store them (rpm's headerExport without lead or magic):
 * big-endian entry count and data length, then 16-byte index entries (tag, type, offset, count) and
 * a data store the offsets point into.
 */

export const TAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  SIZE: 1009,
  VENDOR: 1011,
  LICENSE: 1014,
  ARCH: 1022,
  OLDFILENAMES: 1027,
  FILEMODES: 1030,
  SOURCERPM: 1044,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  LONGSIZE: 5009,
  MODULARITYLABEL: 5096,
} as const;

const TYPE = {
  CHAR: 1,
  INT8: 2,
  INT16: 3,
  INT32: 4,
  INT64: 5,
  STRING: 6,
  BIN: 7,
  STRING_ARRAY: 8,
  I18NSTRING: 9,
} as const;

/** rpm's own sanity limits (hdrchkTags / hdrchkData): anything larger is a damaged header. */
const MAX_ENTRIES = 0xffff;
const MAX_DATA = 0x0fffffff;
const ENTRY_SIZE = 16;

interface Entry {
  type: number;
  offset: number;
  count: number;
}

export type HeaderResult = { header: RpmHeader } | { error: string };

/** Read access to the tags of one header; every accessor is bounds-checked and never throws. */
export class RpmHeader {
  private constructor(
    private readonly data: Buffer,
    private readonly entries: Map<number, Entry>,
  ) {}

  static parse(blob: Uint8Array): HeaderResult {
    const buffer = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
    if (buffer.length < 8) return { error: "header shorter than its preamble" };
    const count = buffer.readUInt32BE(0);
    const dataLength = buffer.readUInt32BE(4);
    if (count === 0 || count > MAX_ENTRIES) return { error: `implausible header entry count ${count}` };
    if (dataLength > MAX_DATA) return { error: `implausible header data length ${dataLength}` };
    const dataStart = 8 + count * ENTRY_SIZE;
    if (dataStart + dataLength > buffer.length) {
      return { error: `header needs ${dataStart + dataLength} bytes but the blob has ${buffer.length}` };
    }
    const data = buffer.subarray(dataStart, dataStart + dataLength);
    const entries = new Map<number, Entry>();
    for (let index = 0; index < count; index++) {
      const at = 8 + index * ENTRY_SIZE;
      const tag = buffer.readInt32BE(at);
      const entry = {
        type: buffer.readUInt32BE(at + 4),
        offset: buffer.readInt32BE(at + 8),
        count: buffer.readUInt32BE(at + 12),
      };
      if (entry.offset < 0 || entry.offset > dataLength) return { error: `tag ${tag} points outside the data store` };
      // Entries appended after the immutable region ("dribbles") replace the region's copy, as in rpm.
      entries.set(tag, entry);
    }
    return { header: new RpmHeader(data, entries) };
  }

  has(tag: number): boolean {
    return this.entries.has(tag);
  }

  string(tag: number): string | undefined {
    const entry = this.entries.get(tag);
    if (!entry) return undefined;
    if (entry.type === TYPE.STRING || entry.type === TYPE.I18NSTRING || entry.type === TYPE.STRING_ARRAY) {
      // An i18n string holds one translation per locale; the first is the untranslated one.
      return this.strings(entry, 1)[0];
    }
    return undefined;
  }

  stringArray(tag: number): string[] | undefined {
    const entry = this.entries.get(tag);
    if (!entry) return undefined;
    if (entry.type !== TYPE.STRING_ARRAY && entry.type !== TYPE.STRING && entry.type !== TYPE.I18NSTRING)
      return undefined;
    return this.strings(entry, entry.count);
  }

  /** Integer values of INT8/16/32/64 tags; INT64 values beyond 2^53 lose precision, which no tag read here reaches. */
  integers(tag: number): number[] | undefined {
    const entry = this.entries.get(tag);
    if (!entry) return undefined;
    const width =
      entry.type === TYPE.INT8 || entry.type === TYPE.CHAR
        ? 1
        : entry.type === TYPE.INT16
          ? 2
          : entry.type === TYPE.INT32
            ? 4
            : entry.type === TYPE.INT64
              ? 8
              : 0;
    if (width === 0 || entry.offset + entry.count * width > this.data.length) return undefined;
    const values: number[] = [];
    for (let index = 0; index < entry.count; index++) {
      const at = entry.offset + index * width;
      values.push(
        width === 1
          ? this.data.readUInt8(at)
          : width === 2
            ? this.data.readUInt16BE(at)
            : width === 4
              ? this.data.readUInt32BE(at)
              : Number(this.data.readBigUInt64BE(at)),
      );
    }
    return values;
  }

  integer(tag: number): number | undefined {
    return this.integers(tag)?.[0];
  }

  /** NUL-terminated strings from the entry's offset; stops early (short result) at the end of the data store. */
  private strings(entry: Entry, wanted: number): string[] {
    const result: string[] = [];
    let at = entry.offset;
    for (let index = 0; index < wanted && at < this.data.length; index++) {
      const end = this.data.indexOf(0, at);
      if (end < 0) break;
      result.push(this.data.toString("utf8", at, end));
      at = end + 1;
    }
    return result;
  }
}

/** An installed rpm package as its header records it. */
export interface RpmEntry {
  name: string;
  /** Absent when the package has no EPOCH tag; distinct from 0 (docs/matching-rules.md P7). */
  epoch?: number;
  version: string;
  release: string;
  arch?: string;
  /** The SOURCERPM file name, `name-version-release.src.rpm`. */
  sourceRpm?: string;
  vendor?: string;
  license?: string;
  modularityLabel?: string;
  /** Installed size in bytes. */
  size?: number;
  /** Regular files and links the package installs, relative to the image root; directories left out. */
  files: string[];
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

export type EntryResult = { entry: RpmEntry } | { skip: string } | { error: string };

/**
 * The package a header describes. gpg-pubkey headers are the keys rpm imported, not software, and
 * are skipped; a header without name, version or release cannot be matched and is reported.
 */
export function toRpmEntry(blob: Uint8Array): EntryResult {
  const parsed = RpmHeader.parse(blob);
  if ("error" in parsed) return parsed;
  const { header } = parsed;
  const name = header.string(TAG.NAME);
  const version = header.string(TAG.VERSION);
  const release = header.string(TAG.RELEASE);
  if (name === "gpg-pubkey") return { skip: "gpg-pubkey" };
  if (!name || !version || !release) return { error: "header lacks NAME, VERSION or RELEASE" };

  const entry: RpmEntry = { name, version, release, files: ownedFiles(header) };
  const epoch = header.integer(TAG.EPOCH);
  if (epoch !== undefined) entry.epoch = epoch;
  const optional: Array<[keyof RpmEntry, number]> = [
    ["arch", TAG.ARCH],
    ["sourceRpm", TAG.SOURCERPM],
    ["vendor", TAG.VENDOR],
    ["license", TAG.LICENSE],
    ["modularityLabel", TAG.MODULARITYLABEL],
  ];
  for (const [field, tag] of optional) {
    const value = header.string(tag);
    if (value) (entry as unknown as Record<string, string>)[field] = value;
  }
  const size = header.integer(TAG.LONGSIZE) ?? header.integer(TAG.SIZE);
  if (size !== undefined) entry.size = size;
  return { entry };
}

function ownedFiles(header: RpmHeader): string[] {
  const modes = header.integers(TAG.FILEMODES);
  const isDirectory = (index: number): boolean => {
    const mode = modes?.[index];
    return mode !== undefined && (mode & S_IFMT) === S_IFDIR;
  };
  const basenames = header.stringArray(TAG.BASENAMES);
  let paths: string[] = [];
  if (basenames) {
    const dirnames = header.stringArray(TAG.DIRNAMES) ?? [];
    const indexes = header.integers(TAG.DIRINDEXES) ?? [];
    paths = basenames.map((base, index) => {
      const dir = dirnames[indexes[index] ?? -1];
      return dir === undefined ? "" : `${dir}${base}`;
    });
  } else {
    // Headers written before rpm 4 compressed file names into dirnames/basenames.
    paths = header.stringArray(TAG.OLDFILENAMES) ?? [];
  }
  const files: string[] = [];
  paths.forEach((path, index) => {
    const relative = path.replace(/^\/+/, "");
    if (relative && !isDirectory(index)) files.push(relative);
  });
  return files;
}

/**
 * Splits a source rpm file name, `name-version-release.src.rpm`, into its parts. The name may
 * contain dashes; version and release may not, so the last two dashes separate them.
 */
export function parseSourceRpm(sourceRpm: string): { name: string; version: string; release: string } | undefined {
  const match = /^(.+)-([^-]+)-([^-]+)\.(?:no)?src\.rpm$/.exec(sourceRpm.trim());
  if (!match) return undefined;
  return { name: match[1]!, version: match[2]!, release: match[3]! };
}
