import { createHash } from "node:crypto";
import { ImageError, RegistryAuthError, quoteInput } from "../../errors.js";
import type { Credential } from "./credentials.js";
import { readLimited, type RegistryTransport } from "./http.js";

export interface Challenge {
  /** Lower-cased auth scheme: "bearer", "basic" ... */
  scheme: string;
  params: Record<string, string>;
}

/** Parses WWW-Authenticate (RFC 7235), where quoted values may contain commas (scope lists). */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let current: Challenge | undefined;
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < header.length && chars.test(header[i]!)) i++;
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const start = i;
    while (i < header.length && !/[\s=,]/.test(header[i]!)) i++;
    const word = header.slice(start, i);
    if (word === "") break;
    skip(/\s/);
    if (header[i] !== "=") {
      current = { scheme: word.toLowerCase(), params: {} };
      challenges.push(current);
      continue;
    }
    i++;
    skip(/\s/);
    let value = "";
    if (header[i] === '"') {
      i++;
      while (i < header.length && header[i] !== '"') {
        if (header[i] === "\\") i++;
        value += header[i] ?? "";
        i++;
      }
      i++;
    } else {
      const valueStart = i;
      while (i < header.length && !/[\s,]/.test(header[i]!)) i++;
      value = header.slice(valueStart, i);
    }
    if (current) current.params[word.toLowerCase()] = value;
  }
  return challenges;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Bearer tokens by (registry, scope, credential); shared by every client in the process. */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();

  get(key: string, now: number): string | undefined {
    const entry = this.tokens.get(key);
    if (!entry) return undefined;
    if (now >= entry.expiresAt) {
      this.tokens.delete(key);
      return undefined;
    }
    return entry.token;
  }

  set(key: string, token: string, expiresAt: number): void {
    this.tokens.set(key, { token, expiresAt });
  }

  delete(key: string): void {
    this.tokens.delete(key);
  }

  clear(): void {
    this.tokens.clear();
  }
}

export const sharedTokenCache = new TokenCache();

/** Renew a tenth of the lifetime (at most 30 s) early, so a token does not expire mid-request. */
function renewalMargin(expiresInSeconds: number): number {
  return Math.min(30_000, expiresInSeconds * 100);
}

function credentialFingerprint(credential: Credential): string {
  const material =
    credential.kind === "basic"
      ? `basic\0${credential.username}\0${credential.password}`
      : credential.kind === "refresh"
        ? `refresh\0${credential.refreshToken}`
        : credential.kind === "bearer"
          ? `bearer\0${credential.token}`
          : "anonymous";
  return createHash("sha256").update(material).digest("hex").slice(0, 16);
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

export interface AuthContext {
  /** `host/repository`, named in errors. */
  target: string;
  scope: string;
}

export const AUTH_ADVICE = "pass --username/--password, --registry-token or log in with docker login";

/**
 * Decides the Authorization header for registry requests: static bearer or Basic as configured,
 * else tokens from the challenge's realm, cached per scope and renewed on expiry.
 */
export class RegistryAuthenticator {
  private basicRequested = false;
  private readonly fingerprint: string;
  /** Token requests sent, for diagnostics and tests. */
  tokenRequests = 0;

  constructor(
    private readonly host: string,
    private readonly credential: Credential,
    private readonly transport: RegistryTransport,
    private readonly cache: TokenCache = sharedTokenCache,
    private readonly now: () => number = Date.now,
  ) {
    this.fingerprint = credentialFingerprint(credential);
  }

  get hasCredential(): boolean {
    return this.credential.kind !== "anonymous";
  }

  /** The header to send before any challenge was seen for this scope. */
  headerFor(scope: string): string | undefined {
    if (this.credential.kind === "bearer") return `Bearer ${this.credential.token}`;
    if (this.basicRequested && this.credential.kind === "basic") {
      return basicHeader(this.credential.username, this.credential.password);
    }
    const token = this.cache.get(this.cacheKey(scope), this.now());
    return token ? `Bearer ${token}` : undefined;
  }

  /** Forgets a token the registry just refused, so the next try fetches a fresh one. */
  invalidate(scope: string): void {
    this.cache.delete(this.cacheKey(scope));
  }

  /** Answers a 401 challenge with a header to retry with, or throws a RegistryAuthError. */
  async answer(wwwAuthenticate: string | undefined, context: AuthContext): Promise<string> {
    const challenges = parseWwwAuthenticate(wwwAuthenticate ?? "");
    const bearer = challenges.find((c) => c.scheme === "bearer");
    const basic = challenges.find((c) => c.scheme === "basic");
    if (this.credential.kind === "bearer") throw this.rejected(context);
    if (bearer?.params["realm"]) return `Bearer ${await this.fetchToken(bearer, context)}`;
    if (basic || challenges.length === 0) {
      if (this.credential.kind !== "basic") throw this.required(context);
      if (this.basicRequested) throw this.rejected(context);
      this.basicRequested = true;
      return basicHeader(this.credential.username, this.credential.password);
    }
    throw new RegistryAuthError(
      `${context.target}: the registry asks for unsupported authentication ${quoteInput(challenges[0]!.scheme)}`,
    );
  }

  required(context: AuthContext): RegistryAuthError {
    return new RegistryAuthError(`authentication required for ${context.target}: ${AUTH_ADVICE}`);
  }

  rejected(context: AuthContext): RegistryAuthError {
    if (this.credential.kind === "anonymous") return this.required(context);
    return new RegistryAuthError(
      `authentication failed for ${context.target}: the registry rejected the credentials from ${this.credential.source}; check them or ${AUTH_ADVICE}`,
    );
  }

  denied(context: AuthContext): RegistryAuthError {
    if (this.credential.kind === "anonymous") return this.required(context);
    return new RegistryAuthError(
      `access denied to ${context.target}: the credentials from ${this.credential.source} do not grant pull access; check the repository name and permissions`,
    );
  }

  private cacheKey(scope: string): string {
    return `${this.host}\0${scope}\0${this.fingerprint}`;
  }

  private async fetchToken(challenge: Challenge, context: AuthContext): Promise<string> {
    const scope = challenge.params["scope"] || context.scope;
    const key = this.cacheKey(scope);
    const cached = this.cache.get(key, this.now());
    if (cached) return cached;
    let realm: URL;
    try {
      realm = new URL(challenge.params["realm"]!);
    } catch {
      throw new ImageError(`${context.target}: the registry's token realm is not a valid URL`);
    }
    if (realm.protocol !== "https:" && realm.protocol !== "http:") {
      throw new ImageError(`${context.target}: the registry's token realm uses unsupported scheme ${realm.protocol}`);
    }
    const service = challenge.params["service"];
    const credential = this.credential;
    this.tokenRequests++;
    let response;
    if (credential.kind === "refresh") {
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: credential.refreshToken,
        client_id: "stowaway",
      });
      if (service) form.set("service", service);
      for (const s of scope.split(" ").filter(Boolean)) form.append("scope", s);
      response = await this.transport.send({
        method: "POST",
        url: realm,
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: form.toString(),
        followRedirects: true,
        what: `a token from ${realm.host}`,
      });
    } else {
      const url = new URL(realm);
      if (service) url.searchParams.set("service", service);
      for (const s of scope.split(" ").filter(Boolean)) url.searchParams.append("scope", s);
      const headers: Record<string, string> = {};
      if (credential.kind === "basic") headers["Authorization"] = basicHeader(credential.username, credential.password);
      response = await this.transport.send({
        method: "GET",
        url,
        headers,
        followRedirects: true,
        what: `a token from ${realm.host}`,
      });
    }
    const body = await readLimited(response.body, 1024 * 1024, `token response from ${realm.host}`);
    if (response.status === 401) throw this.rejected(context);
    if (response.status === 403) throw this.denied(context);
    if (response.status < 200 || response.status >= 300) {
      throw new RegistryAuthError(
        `${context.target}: the token service ${realm.host} answered HTTP ${response.status}; try again later or check the credentials`,
      );
    }
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(body.toString("utf8")) as typeof parsed;
    } catch {
      throw new RegistryAuthError(
        `${context.target}: the token service ${realm.host} returned something other than JSON`,
      );
    }
    const token =
      typeof parsed.token === "string" && parsed.token !== ""
        ? parsed.token
        : typeof parsed.access_token === "string"
          ? parsed.access_token
          : "";
    if (token === "")
      throw new RegistryAuthError(`${context.target}: the token service ${realm.host} returned no token`);
    // The token spec makes 60 s the default lifetime when expires_in is absent.
    const expiresIn =
      typeof parsed.expires_in === "number" && Number.isFinite(parsed.expires_in) && parsed.expires_in > 0
        ? parsed.expires_in
        : 60;
    this.cache.set(key, token, this.now() + expiresIn * 1000 - renewalMargin(expiresIn));
    return token;
  }
}
