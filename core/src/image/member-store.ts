import { closeSync, createReadStream, openSync, readFileSync, readSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { HostileInputError, ImageError, quoteInput } from "../errors.js";
import type { FileRange } from "./file-blob.js";
import { indexTarFile, type TarMember } from "./tar-index.js";

/** Layer blobs are read in 1 MiB chunks: 16x fewer stream callbacks and pipe writes than the 64 KiB default. */
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Read access to the named files of an image layout, whether they live in a tar archive or in a
 * directory, so the OCI-layout and docker-archive readers do not care which.
 */
export interface MemberStore {
  /** The archive or directory, as named in error messages. */
  readonly label: string;
  /** Byte size of a regular-file member (after following links), or undefined when absent. */
  size(name: string): number | undefined;
  /** Reads a whole member; refuses members bigger than `maxBytes`. */
  read(name: string, maxBytes: number): Promise<Buffer>;
  /** Streams a member without loading it. */
  open(name: string): Readable;
  /**
   * Where a member's bytes lie on disk, for a store that has them in a file: layer blobs are then
   * read by position into reused buffers (FileBlob) rather than streamed.
   */
  range?(name: string): FileRange;
}

const MAX_LINK_HOPS = 16;

export class TarStore implements MemberStore {
  private constructor(
    readonly label: string,
    private readonly file: string,
    private readonly members: Map<string, TarMember>,
  ) {}

  static open(file: string, label = file): TarStore {
    return new TarStore(label, file, indexTarFile(file, label));
  }

  /** Member names as they appear in the archive (used for format detection). */
  names(): Set<string> {
    return new Set(this.members.keys());
  }

  size(name: string): number | undefined {
    return this.resolve(name)?.size;
  }

  async read(name: string, maxBytes: number): Promise<Buffer> {
    const member = this.require(name);
    if (member.size > maxBytes) {
      throw new HostileInputError(
        `${this.label}: member ${quoteInput(name)} is ${member.size} bytes, over the ${maxBytes}-byte limit for metadata; refusing it`,
      );
    }
    // Metadata (index, manifest, config: a few KiB, capped) is read synchronously: a thread-pool round
    // trip per call costs more than the read, and a warm rescan has nothing else to do meanwhile.
    const buffer = Buffer.alloc(member.size);
    const fd = openSync(this.file, "r");
    try {
      let done = 0;
      while (done < member.size) {
        const bytesRead = readSync(fd, buffer, done, member.size - done, member.offset + done);
        if (bytesRead === 0)
          throw new ImageError(`${this.label}: member ${quoteInput(name)} is truncated; re-export the archive`);
        done += bytesRead;
      }
    } finally {
      closeSync(fd);
    }
    return buffer;
  }

  open(name: string): Readable {
    const member = this.require(name);
    if (member.size === 0) return Readable.from([]);
    return createReadStream(this.file, {
      start: member.offset,
      end: member.offset + member.size - 1,
      highWaterMark: READ_CHUNK_BYTES,
    });
  }

  range(name: string): FileRange {
    const member = this.require(name);
    return { file: this.file, start: member.offset, size: member.size };
  }

  private require(name: string): TarMember {
    const member = this.resolve(name);
    if (!member)
      throw new ImageError(
        `${this.label}: member ${quoteInput(name)} is missing; the archive is incomplete, re-export it`,
      );
    return member;
  }

  /**
   * Follows symlink and hardlink members (skopeo and old docker save link `<id>/layer.tar` to a
   * shared blob) but only to targets inside the archive.
   */
  private resolve(name: string): TarMember | undefined {
    let current = this.members.get(name);
    for (let hops = 0; current && hops <= MAX_LINK_HOPS; hops++) {
      if (current.type === "file") return current;
      if (current.type !== "symlink" && current.type !== "hardlink") {
        throw new ImageError(
          `${this.label}: member ${quoteInput(name)} is a ${current.type}, not a file; the archive is malformed`,
        );
      }
      const link = current.linkname ?? "";
      const target =
        current.type === "symlink"
          ? path.posix.join(path.posix.dirname(current.name), link)
          : path.posix.normalize(link);
      if (link.startsWith("/") || target === ".." || target.startsWith("../")) {
        throw new HostileInputError(
          `${this.label}: member ${quoteInput(current.name)} links to ${quoteInput(link)}, outside the archive; refusing a crafted archive`,
        );
      }
      current = this.members.get(target);
    }
    if (current) {
      throw new HostileInputError(
        `${this.label}: member ${quoteInput(name)} is part of a link loop; refusing a crafted archive`,
      );
    }
    return undefined;
  }
}

export class DirectoryStore implements MemberStore {
  private readonly root: string;
  /** Each name's resolved file: a scan asks for a blob's size, then its range or bytes. */
  private readonly located = new Map<string, string | undefined>();

  constructor(readonly label: string) {
    try {
      this.root = realpathSync.native(label);
    } catch {
      throw new ImageError(`${label}: no such directory`);
    }
  }

  size(name: string): number | undefined {
    const file = this.locate(name);
    if (!file) return undefined;
    const stat = statSync(file);
    if (!stat.isFile()) {
      throw new ImageError(
        `${this.label}: ${quoteInput(name)} is a ${stat.isDirectory() ? "directory" : "special file"}, not a file; the OCI layout is malformed`,
      );
    }
    return stat.size;
  }

  async read(name: string, maxBytes: number): Promise<Buffer> {
    const size = this.size(name);
    if (size === undefined) throw this.missing(name);
    if (size > maxBytes) {
      throw new HostileInputError(
        `${this.label}: ${quoteInput(name)} is ${size} bytes, over the ${maxBytes}-byte limit for metadata; refusing it`,
      );
    }
    // Synchronously, as TarStore.read.
    return readFileSync(this.locate(name)!);
  }

  open(name: string): Readable {
    if (this.size(name) === undefined) throw this.missing(name);
    return createReadStream(this.locate(name)!, { highWaterMark: READ_CHUNK_BYTES });
  }

  range(name: string): FileRange {
    const size = this.size(name);
    if (size === undefined) throw this.missing(name);
    return { file: this.locate(name)!, start: 0, size };
  }

  private missing(name: string): ImageError {
    return new ImageError(`${this.label}: ${quoteInput(name)} is missing; the OCI layout is incomplete`);
  }

  /**
   * Resolves `name` under the root; a symlink that leads outside the layout is refused. With the C
   * library's realpath: one system call, where Node's own resolves a path with an lstat per component.
   */
  private locate(name: string): string | undefined {
    if (this.located.has(name)) return this.located.get(name);
    const candidate = path.join(this.root, ...name.split("/"));
    let real: string | undefined;
    try {
      real = realpathSync.native(candidate);
    } catch {
      real = undefined; // missing, or a dangling symlink
    }
    if (real !== undefined && real !== this.root && !real.startsWith(this.root + path.sep)) {
      throw new HostileInputError(
        `${this.label}: ${quoteInput(name)} is a symlink to ${real}, outside the layout; refusing it`,
      );
    }
    this.located.set(name, real);
    return real;
  }
}
