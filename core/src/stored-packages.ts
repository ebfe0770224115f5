import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { withPackagesJson } from "./catalog/packages-json.js";
import { StowawayError } from "./errors.js";
import type { Package } from "./catalog/types.js";

/**
 * A package list left where the inventory cache stored it (inventory-cache.ts): the JSON text the
 * report writes for it, `size` bytes of `file` from byte `start`, already checked to be log-safe JSON
 * of an array (`logSafe`, else the report neutralises it on its string path), in the file whose
 * identity (device, inode, size, modification time) was `identity` when it was checked.
 *
 * A warm rescan's JSON report copies these bytes from the cache file into the report through one
 * small buffer (writeTo) rather than reading the whole list (~1.4 MB on the issue-sized image) into
 * memory first: every megabyte a process touches for the first time costs it page faults, several
 * milliseconds per megabyte on a virtual machine, and the list is read only to be written out again.
 * Code that reads `packages` gets the array as always, read and parsed on that first read.
 */
export interface StoredPackages {
  readonly file: string;
  readonly start: number;
  readonly size: number;
  readonly logSafe: boolean;
  readonly identity: string;
}

/** The size of the one buffer stored packages are scanned and copied through. */
export const STORED_CHUNK_BYTES = 64 * 1024;

const stored = new WeakMap<object, StoredPackages>();

/** A file's identity as fstat tells it (the same file, not rewritten since), and its size. */
export function fileIdentity(fd: number): { identity: string; size: number } {
  const stat = fstatSync(fd, { bigint: true });
  return { identity: `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}`, size: Number(stat.size) };
}

/**
 * Makes `target.packages` (which must already be a key of it, so the key order stays) come from
 * `packages`: read from the file and handed to withPackagesJson (as bytes, parsed when read) on the
 * first read of `packages`; assigning it replaces it. Until either, storedPackagesOf returns it.
 */
export function withStoredPackages<T extends { packages: Package[] }>(target: T, packages: StoredPackages): T {
  Object.defineProperty(target, "packages", {
    enumerable: true,
    configurable: true,
    get() {
      stored.delete(target);
      withPackagesJson(target, readStoredPackages(packages), undefined, packages.logSafe);
      return target.packages;
    },
    set(value: Package[]) {
      stored.delete(target);
      Object.defineProperty(target, "packages", { value, writable: true, enumerable: true, configurable: true });
    },
  });
  stored.set(target, packages);
  return target;
}

/** The stored package list `target.packages` still comes from, unread, if any. */
export function storedPackagesOf(target: object): StoredPackages | undefined {
  return stored.get(target);
}

/** `to.packages` becomes `from.packages` still unread, when `from`'s is stored packages; false otherwise. */
export function carryStoredPackages<T extends { packages: Package[] }>(from: object, to: T): boolean {
  const packages = stored.get(from);
  if (packages === undefined) return false;
  withStoredPackages(to, packages);
  return true;
}

/** Runs `use` on the stored packages' file, refused unless it is still the file that was checked. */
function withStoredFile<R>(packages: StoredPackages, use: (fd: number) => R): R {
  let fd: number;
  try {
    fd = openSync(packages.file, "r");
  } catch (error) {
    throw changedError(packages, (error as NodeJS.ErrnoException).code ?? String(error));
  }
  try {
    if (fileIdentity(fd).identity !== packages.identity) throw changedError(packages, "rewritten");
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

function changedError(packages: StoredPackages, why: string): StowawayError {
  return new StowawayError(
    `${packages.file}: the inventory cache entry changed while this scan used it (${why}); run the scan again`,
  );
}

/** Reads `length` bytes of `fd` from `position` into `buffer`, failing on a short file. */
function readFully(fd: number, buffer: Uint8Array, length: number, position: number, packages: StoredPackages): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) throw changedError(packages, "truncated");
    done += n;
  }
}

/** The stored packages' bytes, read whole. */
export function readStoredPackages(packages: StoredPackages): Buffer {
  return withStoredFile(packages, (fd) => {
    const bytes = Buffer.allocUnsafeSlow(packages.size);
    readFully(fd, bytes, packages.size, packages.start, packages);
    return bytes;
  });
}

/** Writes the stored packages' bytes to `out` (a file descriptor) through one small buffer. */
export function copyStoredPackages(packages: StoredPackages, out: number): void {
  withStoredFile(packages, (fd) => {
    const buffer = Buffer.allocUnsafeSlow(Math.min(STORED_CHUNK_BYTES, packages.size));
    for (let offset = 0; offset < packages.size;) {
      const length = Math.min(buffer.length, packages.size - offset);
      readFully(fd, buffer, length, packages.start + offset, packages);
      for (let written = 0; written < length;) written += writeSync(out, buffer, written, length - written);
      offset += length;
    }
  });
}
