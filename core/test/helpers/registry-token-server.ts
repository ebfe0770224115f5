/**
 * A token server for distribution's `auth: token:` mode (docs: distribution "Token Authentication
 * Specification" and "Token Authentication Implementation"): GET with Basic credentials or an
 * OAuth2 refresh-token POST, answering RS256 JWTs whose `x5c` header carries the signing
 * certificate that the registry trusts as its rootcertbundle.
 */
import { createPrivateKey, randomUUID, sign, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { startHttpServer, type TestHttpServer } from "./registry-server.js";

export interface TokenServerOptions {
  certFile: string;
  keyFile: string;
  service: string;
  issuer: string;
  /** user -> password accepted on GET. */
  users: Record<string, string>;
  /** refresh token -> user accepted on the OAuth2 POST. */
  refreshTokens?: Record<string, string>;
  /** expires_in announced to clients (the JWT itself stays valid for 5 minutes). */
  expiresIn?: number;
  /** Answer `access_token` instead of `token`, as OAuth2 endpoints do. */
  useAccessTokenField?: boolean;
}

export interface TokenRequestRecord {
  method: string;
  scopes: string[];
  user?: string;
  grant?: string;
}

export interface TokenServer {
  realm: string;
  /** The live options; tests may flip fields such as useAccessTokenField between requests. */
  settings: TokenServerOptions;
  server: TestHttpServer;
  /** Every token request, in order. */
  issued: TokenRequestRecord[];
  /** Mints a token directly (the tests' own push client and static --registry-token cases). */
  mint(subject: string, scopes: string[]): string;
  close(): Promise<void>;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

function certDerBase64(pem: string): string {
  return pem.replace(/-----BEGIN CERTIFICATE-----|-----END CERTIFICATE-----|\s+/g, "").trim();
}

function accessFor(scopes: string[]): Array<{ type: string; name: string; actions: string[] }> {
  return scopes.map((scope) => {
    // scope = type:name:actions, where name may itself contain ':' (registry:catalog:*).
    const first = scope.indexOf(":");
    const last = scope.lastIndexOf(":");
    return {
      type: scope.slice(0, first),
      name: scope.slice(first + 1, last),
      actions: scope.slice(last + 1).split(","),
    };
  });
}

function jwt(key: KeyObject, x5c: string, claims: Record<string, unknown>): string {
  const header = base64url(JSON.stringify({ typ: "JWT", alg: "RS256", x5c: [x5c] }));
  const payload = base64url(JSON.stringify(claims));
  const signature = sign("sha256", Buffer.from(`${header}.${payload}`), key);
  return `${header}.${payload}.${base64url(signature)}`;
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const key = createPrivateKey(readFileSync(options.keyFile));
  const x5c = certDerBase64(readFileSync(options.certFile, "utf8"));
  const issued: TokenRequestRecord[] = [];

  const mint = (subject: string, scopes: string[]): string => {
    const now = Math.floor(Date.now() / 1000);
    return jwt(key, x5c, {
      iss: options.issuer,
      sub: subject,
      aud: options.service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access: accessFor(scopes),
    });
  };

  const server = await startHttpServer((req, res, body) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    let user: string | undefined;
    let scopes: string[];
    let grant: string | undefined;
    if (req.method === "POST") {
      const form = new URLSearchParams(body.toString("utf8"));
      grant = form.get("grant_type") ?? undefined;
      scopes = form.getAll("scope");
      const refresh = form.get("refresh_token") ?? "";
      user = grant === "refresh_token" ? options.refreshTokens?.[refresh] : undefined;
      if (form.get("service") !== options.service) user = undefined;
    } else {
      scopes = url.searchParams.getAll("scope");
      const header = req.headers.authorization ?? "";
      if (header.startsWith("Basic ")) {
        const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        const name = decoded.slice(0, colon);
        if (options.users[name] !== undefined && options.users[name] === decoded.slice(colon + 1)) user = name;
      }
      if (url.searchParams.get("service") !== options.service) user = undefined;
    }
    issued.push({ method: req.method ?? "", scopes, ...(user ? { user } : {}), ...(grant ? { grant } : {}) });
    if (!user) {
      res.writeHead(401, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] }));
      return;
    }
    const token = mint(user, scopes);
    const field = options.useAccessTokenField ? "access_token" : "token";
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(
      JSON.stringify({ [field]: token, expires_in: options.expiresIn ?? 300, issued_at: new Date().toISOString() }),
    );
  });

  return {
    realm: `${server.baseUrl}/token`,
    settings: options,
    server,
    issued,
    mint,
    close: () => server.close(),
  };
}
