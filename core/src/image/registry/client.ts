import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { ImageError } from "../../errors.js";
import { DigestVerifier, parseDigest, verifyDigest } from "../digest.js";
import type { RegistryOptions } from "../types.js";
import { RegistryAuthenticator, sharedTokenCache, type AuthContext, type TokenCache } from "./auth.js";
import { isDockerHub, resolveCredential, type HelperRunner } from "./credentials.js";
import {
  BodyBrokenError,
  NetworkError,
  StallError,
  readErrorCodes,
  readLimited,
  RegistryTransport,
  stallError,
  type HttpRequest,
  type HttpResponse,
  type RetryPolicy,
} from "./http.js";
import { ResumableBody, type BodyContinuation } from "./resumable-body.js";

export const MEDIA_TYPES = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerList,
  MEDIA_TYPES.dockerManifest,
].join(", ");

export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_BLOB_BYTES = 16 * 1024 * 1024 * 1024;
const MAX_TAG_PAGES = 1000;
/** Continuations of one blob body after it broke off (resets, early ends) and after it went silent. */
export const MAX_BLOB_RESUMES = 3;
export const MAX_BLOB_STALL_RESUMES = 1;
/** Whole reads of a manifest whose body broke off or stalled. */
const MAX_MANIFEST_READS = 2;

export interface RegistryClientOptions extends RegistryOptions {
  retry?: Partial<RetryPolicy>;
  /** Defaults to the process-wide cache so repeated scans reuse tokens. */
  tokenCache?: TokenCache;
  /** Clock for token expiry. */
  now?: () => number;
  runCredentialHelper?: HelperRunner;
  maxManifestBytes?: number;
  maxBlobBytes?: number;
  /** `n` asked of /v2/_catalog and tags/list per page (default 1000); the Link header leads on. */
  pageSize?: number;
}

export interface FetchedManifest {
  /** The verified digest of `body`. */
  digest: string;
  mediaType: string;
  body: Buffer;
  json: Record<string, unknown>;
}

/** Docker Hub is addressed as docker.io by users but served from registry-1.docker.io. */
export function registryApiHost(registry: string): string {
  return isDockerHub(registry) ? "registry-1.docker.io" : registry.toLowerCase();
}

function isLoopbackHost(host: string): boolean {
  const name = host
    .replace(/:\d+$/, "")
    .replace(/^\[|\]$/g, "")
    .toLowerCase();
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  if (isIP(name) === 4) return name.startsWith("127.");
  return name === "::1";
}

function limitStream(maxBytes: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > maxBytes) callback(new ImageError(`${what} is larger than the ${maxBytes}-byte limit`));
      else callback(null, chunk);
    },
  });
}

/**
 * A pull-only client for one registry over the OCI distribution API: manifests, blobs, tags and
 * the catalog, with authentication, retries and size limits handled underneath.
 */
export class RegistryClient {
  readonly host: string;
  private readonly transport: RegistryTransport;
  private readonly maxManifestBytes: number;
  private readonly maxBlobBytes: number;
  private base?: Promise<string>;
  private authenticator?: Promise<RegistryAuthenticator>;

  constructor(
    registry: string,
    private readonly options: RegistryClientOptions = {},
  ) {
    this.host = registryApiHost(registry);
    this.maxManifestBytes = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    this.maxBlobBytes = options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
    let caPem: string | undefined;
    if (options.caFile) {
      try {
        caPem = readFileSync(options.caFile, "utf8");
      } catch (error) {
        throw new ImageError(
          `cannot read --ca-file ${options.caFile} (${(error as NodeJS.ErrnoException).code ?? "error"}); pass a readable PEM file`,
        );
      }
      if (!caPem.includes("-----BEGIN CERTIFICATE-----")) {
        throw new ImageError(`--ca-file ${options.caFile} holds no PEM certificate`);
      }
    }
    this.transport = new RegistryTransport({
      registryHost: this.host,
      insecure: options.insecure,
      caPem,
      env: options.env ?? process.env,
      retry: options.retry,
      timeouts: options.timeouts,
    });
  }

  /** Docker Hub keeps official images under `library/`. */
  repositoryPath(repository: string): string {
    return this.host === "registry-1.docker.io" && !repository.includes("/") ? `library/${repository}` : repository;
  }

  /** Token requests sent so far by this client. */
  async tokenRequestCount(): Promise<number> {
    return (await this.auth()).tokenRequests;
  }

  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    return (await this.readManifest(repository, reference, false))!;
  }

  /** Like getManifest, but a manifest the registry does not have is `undefined` rather than an error. */
  async findManifest(repository: string, reference: string): Promise<FetchedManifest | undefined> {
    return this.readManifest(repository, reference, true);
  }

  /**
   * The OCI 1.1 referrers of `digest` (GET /v2/<name>/referrers/<digest>): the image index the
   * registry answers, or `undefined` when the registry does not offer the API (404), in which case
   * callers fall back to the referrers tag schema (tag `sha256-<hex>`).
   */
  async getReferrers(repository: string, digest: string): Promise<Record<string, unknown> | undefined> {
    const repo = this.repositoryPath(repository);
    const shown = `${this.host}/${repo}@${digest}`;
    parseDigest(digest, shown);
    const response = await this.request(
      repo,
      "GET",
      `/v2/${repo}/referrers/${digest}`,
      { Accept: MEDIA_TYPES.ociIndex },
      { what: `the referrers of ${shown}` },
    );
    if (response.status === 404) {
      await readErrorCodes(response.body);
      return undefined;
    }
    await this.expectOk(response, `the referrers of ${shown}`);
    const body = await readLimited(response.body, this.maxManifestBytes, `referrers of ${shown}`);
    const contentType = (response.headers["content-type"] ?? "").split(";")[0]!.trim();
    // A registry without the API may answer 200 with something else (an HTML page, a JSON error).
    if (contentType !== "" && contentType !== MEDIA_TYPES.ociIndex && contentType !== "application/json") {
      return undefined;
    }
    const json = this.parseJson(body, `referrers of ${shown}`);
    return Array.isArray(json["manifests"]) ? json : undefined;
  }

  private async readManifest(
    repository: string,
    reference: string,
    missingOk: boolean,
  ): Promise<FetchedManifest | undefined> {
    const repo = this.repositoryPath(repository);
    const byDigest = reference.includes(":");
    if (byDigest) parseDigest(reference, `${this.host}/${repo}@${reference}`);
    const shown = `${this.host}/${repo}${byDigest ? "@" : ":"}${reference}`;
    // A manifest body that breaks off or stalls is small enough to fetch again whole, once.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.fetchManifest(repo, reference, byDigest, shown, missingOk);
      } catch (error) {
        const bodyFailed = error instanceof BodyBrokenError || (error instanceof StallError && error.phase === "idle");
        if (!bodyFailed || attempt >= MAX_MANIFEST_READS) throw error;
      }
    }
  }

  private async fetchManifest(
    repo: string,
    reference: string,
    byDigest: boolean,
    shown: string,
    missingOk = false,
  ): Promise<FetchedManifest | undefined> {
    const response = await this.request(
      repo,
      "GET",
      `/v2/${repo}/manifests/${reference}`,
      { Accept: MANIFEST_ACCEPT },
      { what: `the manifest of ${shown}` },
    );
    if (response.status === 404) {
      await readErrorCodes(response.body);
      if (missingOk) return undefined;
      throw new ImageError(
        `manifest unknown: ${shown} was not found in the registry; check the repository name and tag`,
      );
    }
    await this.expectOk(response, `the manifest of ${shown}`);
    const declared = Number(response.headers["content-length"]);
    if (Number.isFinite(declared) && declared > this.maxManifestBytes) {
      response.body.destroy();
      throw new ImageError(`manifest of ${shown} is ${declared} bytes, over the ${this.maxManifestBytes}-byte limit`);
    }
    const body = await readLimited(response.body, this.maxManifestBytes, `manifest of ${shown}`);
    const digest = this.verifyManifestDigest(body, byDigest ? reference : undefined, response, shown);
    let json: Record<string, unknown>;
    try {
      const parsed = JSON.parse(body.toString("utf8")) as unknown;
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
      json = parsed as Record<string, unknown>;
    } catch {
      throw new ImageError(`manifest of ${shown} is not valid JSON`);
    }
    const contentType = (response.headers["content-type"] ?? "").split(";")[0]!.trim();
    const mediaType = typeof json["mediaType"] === "string" ? json["mediaType"] : contentType;
    if (json["schemaVersion"] === 1 || mediaType.startsWith("application/vnd.docker.distribution.manifest.v1")) {
      throw new ImageError(
        `${shown} uses the Docker schema 1 manifest format, which is deprecated and unsupported; re-push it with a current docker or buildx`,
      );
    }
    return { digest, mediaType, body, json };
  }

  /** The blob as a stream that fails at its end unless it hashes to `digest` (and has `size` bytes). */
  async openBlob(repository: string, digest: string, size?: number): Promise<Readable> {
    const repo = this.repositoryPath(repository);
    const what = `${this.host}/${repo}@${digest}`;
    parseDigest(digest, what);
    if (size !== undefined && size > this.maxBlobBytes) {
      throw new ImageError(`blob ${what} declares ${size} bytes, over the ${this.maxBlobBytes}-byte limit`);
    }
    const path = `/v2/${repo}/blobs/${digest}`;
    const label = { followRedirects: true, streaming: true, what: `blob ${digest}` };
    const response = await this.request(repo, "GET", path, {}, label);
    if (response.status === 404) {
      await readErrorCodes(response.body);
      throw new ImageError(
        `blob unknown: ${what} is missing from the registry; the image was deleted or pushed incompletely`,
      );
    }
    await this.expectOk(response, `blob ${what}`);
    const declared = Number(response.headers["content-length"]);
    const limit = size ?? this.maxBlobBytes;
    if (Number.isFinite(declared) && declared > limit) {
      response.body.destroy();
      throw new ImageError(`blob ${what} is ${declared} bytes, more than the ${limit} expected`);
    }
    const verifier = new DigestVerifier(digest, `blob ${what}`, size);
    const expectedBytes = size ?? (Number.isFinite(declared) && declared >= 0 ? declared : undefined);
    const reopen = async (offset: number): Promise<BodyContinuation> => {
      const again = await this.request(repo, "GET", path, { Range: `bytes=${offset}-` }, label);
      if (again.status === 206) {
        const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec((again.headers["content-range"] ?? "").trim());
        if (!range) {
          again.body.destroy();
          throw new ImageError(`blob ${what}: the registry answered a range request without a usable Content-Range`);
        }
        return { body: again.body, start: Number(range[1]) };
      }
      await this.expectOk(again, `blob ${what}`);
      return { body: again.body, start: 0 };
    };
    const source = new ResumableBody({
      first: response.body,
      ...(expectedBytes !== undefined ? { expectedBytes } : {}),
      reopen,
      idleMs: this.transport.timeouts.idleMs,
      stalled: (bytes) =>
        stallError("idle", response.url, `blob ${digest}`, this.transport.timeouts.idleMs, this.host, bytes),
      what: `blob ${what}`,
      maxResumes: MAX_BLOB_RESUMES,
      maxStallResumes: MAX_BLOB_STALL_RESUMES,
    });
    source.on("error", (error: NodeJS.ErrnoException) => {
      if (error instanceof ImageError) verifier.destroy(error);
      else
        verifier.destroy(
          new ImageError(`blob ${what}: the download failed (${error.code ?? "connection error"}); try again`),
        );
    });
    verifier.on("close", () => source.destroy());
    if (size === undefined) {
      const limiter = limitStream(this.maxBlobBytes, `blob ${what}`);
      limiter.on("error", (error) => verifier.destroy(error));
      source.pipe(limiter).pipe(verifier);
    } else {
      source.pipe(verifier);
    }
    return verifier;
  }

  /** A small blob (image config) read whole, verified and capped. */
  async getBlob(repository: string, digest: string, size: number | undefined, maxBytes: number): Promise<Buffer> {
    const what = `blob ${this.host}/${this.repositoryPath(repository)}@${digest}`;
    if (size !== undefined && size > maxBytes) {
      throw new ImageError(`${what} declares ${size} bytes, over the ${maxBytes}-byte limit for this kind of blob`);
    }
    return readLimited(await this.openBlob(repository, digest, size), maxBytes, what);
  }

  /** Every tag of `repository`, following `Link: <...>; rel="next"` pagination. */
  async listTags(repository: string): Promise<string[]> {
    const repo = this.repositoryPath(repository);
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repo}/tags/list?n=${this.options.pageSize ?? 1000}`;
    for (let page = 0; path && page < MAX_TAG_PAGES; page++) {
      const response = await this.request(
        repo,
        "GET",
        path,
        { Accept: "application/json" },
        { what: `the tag list of ${this.host}/${repo}` },
      );
      if (response.status === 404) {
        await readErrorCodes(response.body);
        throw new ImageError(`repository ${this.host}/${repo} was not found; check the repository name`);
      }
      await this.expectOk(response, `the tag list of ${this.host}/${repo}`);
      const body = await readLimited(response.body, this.maxManifestBytes, `tag list of ${this.host}/${repo}`);
      const parsed = this.parseJson(body, `tag list of ${this.host}/${repo}`) as { tags?: unknown };
      if (Array.isArray(parsed.tags)) tags.push(...parsed.tags.filter((t): t is string => typeof t === "string"));
      path = this.nextPage(response.headers["link"]);
    }
    return tags;
  }

  /** Repository names from `/v2/_catalog`, which many registries restrict to administrators. */
  async listRepositories(): Promise<string[]> {
    const repositories: string[] = [];
    let path: string | undefined = `/v2/_catalog?n=${this.options.pageSize ?? 1000}`;
    for (let page = 0; path && page < MAX_TAG_PAGES; page++) {
      const response = await this.request(
        undefined,
        "GET",
        path,
        { Accept: "application/json" },
        { what: `the repository catalog of ${this.host}` },
      );
      await this.expectOk(response, `the repository catalog of ${this.host}`);
      const body = await readLimited(response.body, this.maxManifestBytes, `catalog of ${this.host}`);
      const parsed = this.parseJson(body, `catalog of ${this.host}`) as { repositories?: unknown };
      if (Array.isArray(parsed.repositories)) {
        repositories.push(...parsed.repositories.filter((r): r is string => typeof r === "string"));
      }
      path = this.nextPage(response.headers["link"]);
    }
    return repositories;
  }

  /** Releases pooled connections. Safe to call twice. */
  close(): void {
    this.transport.close();
  }

  private parseJson(body: Buffer, what: string): Record<string, unknown> {
    try {
      return JSON.parse(body.toString("utf8")) as Record<string, unknown>;
    } catch {
      throw new ImageError(`${what} is not valid JSON`);
    }
  }

  private nextPage(link: string | undefined): string | undefined {
    const match = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
    if (!match) return undefined;
    const next = new URL(match[1]!, `https://${this.host}`);
    // Only follow pagination on the registry itself, never to a host the registry names.
    return next.host === this.host ? `${next.pathname}${next.search}` : undefined;
  }

  private verifyManifestDigest(
    body: Buffer,
    wanted: string | undefined,
    response: HttpResponse,
    shown: string,
  ): string {
    if (wanted) {
      verifyDigest(body, wanted, `manifest of ${shown}`);
      return wanted;
    }
    const computed = `sha256:${createHash("sha256").update(body).digest("hex")}`;
    const header = response.headers["docker-content-digest"]?.trim();
    if (!header) return computed;
    const { algorithm } = parseDigest(header, `Docker-Content-Digest of ${shown}`);
    if (algorithm === "sha256") {
      if (header !== computed) {
        throw new ImageError(
          `manifest of ${shown}: the registry announced ${header} but the content hashes to ${computed}; the registry or a proxy altered it`,
        );
      }
      return computed;
    }
    verifyDigest(body, header, `manifest of ${shown}`);
    return header;
  }

  private async expectOk(response: HttpResponse, what: string): Promise<void> {
    if (response.status >= 200 && response.status < 300) return;
    await readErrorCodes(response.body);
    if (response.status === 429) {
      throw new ImageError(
        `registry ${this.host} is rate-limiting requests for ${what} (HTTP 429) even after retries; wait and try again, or log in for a higher limit`,
      );
    }
    throw new ImageError(`registry ${this.host} answered HTTP ${response.status} for ${what}; try again later`);
  }

  private auth(): Promise<RegistryAuthenticator> {
    this.authenticator ??= resolveCredential({
      host: this.host,
      options: this.options,
      env: this.options.env ?? process.env,
      runHelper: this.options.runCredentialHelper,
    }).then(
      (credential) =>
        new RegistryAuthenticator(
          this.host,
          credential,
          this.transport,
          this.options.tokenCache ?? sharedTokenCache,
          this.options.now,
        ),
    );
    return this.authenticator;
  }

  /**
   * `https://host`, except that loopback and --insecure registries fall back to plain HTTP when
   * TLS fails, as docker and go-containerregistry do.
   */
  private baseUrl(): Promise<string> {
    this.base ??= (async () => {
      const https = `https://${this.host}`;
      if (!this.options.insecure && !isLoopbackHost(this.host)) return https;
      try {
        const response = await this.transport.send({
          method: "GET",
          url: new URL(`${https}/v2/`),
          noRetry: true,
          what: "the API root /v2/",
        });
        response.body.destroy();
        return https;
      } catch (error) {
        // A stall proves nothing about TLS: report it rather than guess plain HTTP.
        if (error instanceof StallError) throw error;
        // A certificate complaint proves the server speaks TLS; the real request reports it with advice.
        if (error instanceof NetworkError && !error.isCertificate) return `http://${this.host}`;
        if (error instanceof NetworkError) return https;
        throw error;
      }
    })();
    return this.base;
  }

  private async request(
    repository: string | undefined,
    method: "GET" | "HEAD",
    path: string,
    headers: Record<string, string>,
    extra: Pick<HttpRequest, "followRedirects" | "streaming" | "what"> = {},
  ): Promise<HttpResponse> {
    const url = new URL(`${await this.baseUrl()}${path}`);
    const auth = await this.auth();
    const context: AuthContext = repository
      ? { target: `${this.host}/${repository}`, scope: `repository:${repository}:pull` }
      : { target: this.host, scope: "registry:catalog:*" };
    let authorization = auth.headerFor(context.scope);
    const send = () =>
      this.transport.send({
        method,
        url,
        headers: authorization ? { ...headers, Authorization: authorization } : headers,
        ...extra,
      });
    let response = await send();
    if (response.status === 401) {
      response.body.destroy();
      if (authorization?.startsWith("Bearer ")) auth.invalidate(context.scope);
      authorization = await auth.answer(response.headers["www-authenticate"], context);
      response = await send();
      if (response.status === 401) {
        response.body.destroy();
        throw auth.rejected(context);
      }
    }
    if (response.status === 403) {
      response.body.destroy();
      throw auth.denied(context);
    }
    return response;
  }
}
