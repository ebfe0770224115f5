import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { ApiTokenRecord, ServiceState, TokenScope } from "../store/service-state.js";

/** Tokens read `stw_<id>_<secret>`: the id finds the record, the secret is checked against its hash. */
const TOKEN_PATTERN = /^stw_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface CreatedToken {
  /** The whole token, shown once: only its hash is stored. */
  token: string;
  record: ApiTokenRecord;
}

function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** Creates a token (256 random bits) and stores its SHA-256; the token itself is returned once. */
export async function createApiToken(
  state: ServiceState,
  options: { scope: TokenScope; name?: string; expiresAt?: Date; now?: Date },
): Promise<CreatedToken> {
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  const record: ApiTokenRecord = {
    id,
    name: options.name ?? "",
    scope: options.scope,
    secretHash: hashSecret(secret),
    createdAt: (options.now ?? new Date()).toISOString(),
    ...(options.expiresAt ? { expiresAt: options.expiresAt.toISOString() } : {}),
    revoked: false,
  };
  await state.createToken(record);
  return { token: `stw_${id}_${secret}`, record };
}

export type TokenCheck =
  { ok: true; record: ApiTokenRecord } | { ok: false; reason: "malformed" | "unknown" | "revoked" | "expired" };

/**
 * Checks a presented token: same-length hashes compared in constant time (timingSafeEqual), so
 * the time taken says nothing about how much of the secret matched. Records are cached briefly
 * (revocation takes effect within `cacheMs`).
 */
export class TokenVerifier {
  private readonly cache = new Map<string, { record: ApiTokenRecord | undefined; at: number }>();

  constructor(
    private readonly state: ServiceState,
    private readonly cacheMs = 5_000,
  ) {}

  async verify(token: string, now: Date): Promise<TokenCheck> {
    const match = TOKEN_PATTERN.exec(token);
    if (!match) return { ok: false, reason: "malformed" };
    const [, id, secret] = match;
    const record = await this.lookup(id!, now.getTime());
    const presented = Buffer.from(hashSecret(secret!), "hex");
    // An unknown id still costs one comparison, against a hash no secret has.
    const expected = Buffer.from(record?.secretHash ?? "0".repeat(64), "hex");
    const equal = presented.length === expected.length && timingSafeEqual(presented, expected);
    if (!record || !equal) return { ok: false, reason: "unknown" };
    if (record.revoked) return { ok: false, reason: "revoked" };
    if (record.expiresAt && Date.parse(record.expiresAt) <= now.getTime()) return { ok: false, reason: "expired" };
    return { ok: true, record };
  }

  private async lookup(id: string, nowMs: number): Promise<ApiTokenRecord | undefined> {
    const cached = this.cache.get(id);
    if (cached && nowMs - cached.at < this.cacheMs) return cached.record;
    const record = await this.state.getToken(id);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { record, at: nowMs });
    return record;
  }
}

/** Token bucket per token: `burst` requests at once, refilled at `perSecond`. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
  ) {}

  /** 0 when the request may go; otherwise the seconds to wait (for Retry-After). */
  take(key: string, nowMs: number): number {
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: nowMs };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((nowMs - bucket.at) / 1000) * this.perSecond);
    bucket.at = nowMs;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }
}
