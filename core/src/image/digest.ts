import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { ImageError, quoteInput } from "../errors.js";

const DIGEST_PATTERN = /^(sha256|sha512):([a-f0-9]+)$/;
const HEX_LENGTH: Record<string, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest {
  algorithm: "sha256" | "sha512";
  hex: string;
}

/** Parses `sha256:<hex>`; throws ImageError naming `what` when malformed or unsupported. */
export function parseDigest(digest: string, what: string): ParsedDigest {
  const match = DIGEST_PATTERN.exec(digest);
  if (!match || match[2]!.length !== HEX_LENGTH[match[1]!]) {
    throw new ImageError(`${what}: ${quoteInput(digest)} is not a valid sha256/sha512 digest`);
  }
  return { algorithm: match[1] as ParsedDigest["algorithm"], hex: match[2]! };
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** Throws when `data` does not hash to `digest`. */
export function verifyDigest(data: Buffer, digest: string, what: string): void {
  const check = new DigestCheck(digest, what);
  check.update(data);
  check.finish();
}

/**
 * Hashes bytes as they are read and, at the end, refuses them unless they hash to `digest`: the one
 * check behind verifyDigest, DigestVerifier (streams from a registry or an archive) and FileBlob
 * (blobs read by position from a file).
 */
export class DigestCheck {
  private readonly hash: Hash;
  private readonly algorithm: string;
  private readonly hex: string;

  constructor(
    private readonly digest: string,
    private readonly what: string,
  ) {
    const parsed = parseDigest(digest, what);
    this.algorithm = parsed.algorithm;
    this.hex = parsed.hex;
    this.hash = createHash(parsed.algorithm);
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  /** Throws an ImageError unless everything given to update() hashes to the digest. */
  finish(): void {
    const actual = this.hash.digest("hex");
    if (actual !== this.hex) {
      throw new ImageError(
        `${this.what}: content digest ${this.algorithm}:${actual} does not match ${this.digest}; the image is corrupt or was tampered with`,
      );
    }
  }
}

/** A blob that ended at `bytes` when its descriptor declares `declared`. */
export function truncatedBlobError(what: string, bytes: number, declared: number): ImageError {
  return new ImageError(
    `${what}: blob is ${bytes} bytes but its descriptor declares ${declared}; the download or archive is truncated`,
  );
}

/**
 * A pass-through stream that hashes what flows through it and fails at the end when the
 * content does not match `digest` (or `expectedSize`, when given). Consumers therefore see
 * every byte before the verdict, so they must not act on a result until the stream ends cleanly.
 */
export class DigestVerifier extends Transform {
  private readonly check: DigestCheck;
  private bytes = 0;

  constructor(
    digest: string,
    private readonly what: string,
    private readonly expectedSize?: number,
  ) {
    super();
    this.check = new DigestCheck(digest, what);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedSize !== undefined && this.bytes > this.expectedSize) {
      callback(
        new ImageError(`${this.what}: blob is larger than the ${this.expectedSize} bytes its descriptor declares`),
      );
      return;
    }
    this.check.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expectedSize !== undefined && this.bytes !== this.expectedSize) {
      callback(truncatedBlobError(this.what, this.bytes, this.expectedSize));
      return;
    }
    try {
      this.check.finish();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}
