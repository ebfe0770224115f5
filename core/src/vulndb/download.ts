import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { Readable } from "node:stream";
import { rootCertificates } from "node:tls";
import { proxyFor } from "../image/registry/proxy.js";
import { Crc32c, parseGoogHash } from "./crc32c.js";

export interface DownloadOptions {
  env: NodeJS.ProcessEnv;
  /** Extra trusted CA certificates (PEM), e.g. a corporate TLS-inspecting proxy or an internal mirror. */
  caPem?: string;
  /** Time until response headers arrive; a body may then idle for the same time between chunks. */
  timeoutMs?: number;
  /** Refuse bodies larger than this (a hostile or broken mirror must not fill the disk). */
  maxBytes?: number;
  /** Further attempts after HTTP 429 or 5xx, waiting as Retry-After says (default 2). */
  retries?: number;
  /** Extra request headers (e.g. NVD's `apiKey`). Never logged: outcomes carry no request data. */
  headers?: Record<string, string>;
}

export type DownloadOutcome =
  | { kind: "not-modified" }
  | { kind: "downloaded"; bytes: number; etag?: string; lastModified?: string }
  | { kind: "failed"; reason: string; status?: number; retryAfterMs?: number };

/** Conditional-GET validators remembered from the previous download of the same URL. */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

const DEFAULT_MAX_BYTES = 8 * 1024 * 1024 * 1024;

function header(headers: Record<string, unknown>, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined || value === null) return undefined;
  return Array.isArray(value) ? value.join(", ") : String(value);
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" ? code : ((error as Error)?.message ?? "unknown error");
}

/** URLs are shown without credentials or query strings, which may carry tokens. */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** The longest Retry-After honoured; a server asking for more is treated as down (next mirror). */
const MAX_RETRY_WAIT_MS = 60_000;

/** Retry-After as delay-seconds or an HTTP date; a missing or unreadable value means a short back-off. */
export function retryDelayMs(value: string | undefined, attempt: number, now = Date.now()): number {
  const fallback = 1000 * 2 ** attempt;
  if (!value) return fallback;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? fallback : Math.max(0, date - now);
}

/**
 * Downloads `url` into `file` (see downloadOnce), again after HTTP 429 (rate limited) or 5xx, as
 * long as the server's Retry-After stays within a minute: a mirror that is merely busy is waited
 * for, one that is down is left for the next mirror.
 */
export async function download(
  url: URL,
  file: string,
  validators: Validators,
  options: DownloadOptions,
): Promise<DownloadOutcome> {
  const retries = options.retries ?? 2;
  for (let attempt = 0; ; attempt++) {
    const outcome = await downloadOnce(url, file, validators, options, attempt);
    if (outcome.kind !== "failed" || outcome.retryAfterMs === undefined || attempt >= retries) return outcome;
    if (outcome.retryAfterMs > MAX_RETRY_WAIT_MS) {
      return { kind: "failed", reason: `${outcome.reason}, Retry-After ${Math.round(outcome.retryAfterMs / 1000)} s` };
    }
    await new Promise((resolve) => setTimeout(resolve, outcome.retryAfterMs));
  }
}

/**
 * Downloads `url` into `file`, sending If-None-Match / If-Modified-Since when validators are given.
 * Verifies Content-Length and, when the server sends `x-goog-hash` (Google Cloud Storage, OSV's
 * bucket), the CRC32C and MD5 of the bytes received. Never throws for network or HTTP failures: the
 * caller moves on to the next mirror.
 */
async function downloadOnce(
  url: URL,
  file: string,
  validators: Validators,
  options: DownloadOptions,
  attempt = 0,
): Promise<DownloadOutcome> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const ca = options.caPem ? [...rootCertificates, options.caPem] : undefined;
  const httpAgent = new http.Agent({ keepAlive: false });
  const httpsAgent = new https.Agent({ keepAlive: false, ca });
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const headers: Record<string, string> = {
    ...options.headers,
    "User-Agent": "stowaway",
    "Accept-Encoding": "identity",
  };
  if (validators.etag) headers["If-None-Match"] = validators.etag;
  if (validators.lastModified) headers["If-Modified-Since"] = validators.lastModified;
  try {
    let response;
    try {
      // Loaded on first download only: axios costs ~0.1 s of start-up that offline scans never need.
      const { default: axios } = await import("axios");
      response = await axios.request<Readable>({
        url: url.toString(),
        method: "GET",
        headers,
        responseType: "stream",
        decompress: false,
        maxRedirects: 5,
        validateStatus: () => true,
        maxContentLength: -1,
        httpAgent,
        httpsAgent,
        proxy: proxyFor(url, options.env) ?? false,
        signal: controller.signal,
      });
    } catch (error) {
      return {
        kind: "failed",
        reason: controller.signal.aborted ? "timed out waiting for a response" : errorCode(error),
      };
    } finally {
      clearTimeout(timer);
    }
    const body = response.data;
    const responseHeaders = response.headers as Record<string, unknown>;
    if (response.status === 304) {
      body.destroy();
      return { kind: "not-modified" };
    }
    if (response.status !== 200) {
      body.destroy();
      const transient = response.status === 429 || response.status >= 500;
      return {
        kind: "failed",
        reason: `HTTP ${response.status}`,
        status: response.status,
        ...(transient ? { retryAfterMs: retryDelayMs(header(responseHeaders, "retry-after"), attempt) } : {}),
      };
    }
    const expectedLength = Number(header(responseHeaders, "content-length") ?? NaN);
    if (Number.isFinite(expectedLength) && expectedLength > maxBytes) {
      body.destroy();
      return { kind: "failed", reason: `${expectedLength} bytes exceeds the ${maxBytes}-byte limit` };
    }
    const crc = new Crc32c();
    const md5 = createHash("md5");
    let bytes = 0;
    const out = createWriteStream(file);
    try {
      (body as Readable & { setTimeout?: (ms: number, cb: () => void) => void }).setTimeout?.(timeoutMs, () =>
        body.destroy(Object.assign(new Error("the download stalled"), { code: "ETIMEDOUT" })),
      );
      for await (const chunk of body) {
        const buffer = chunk as Buffer;
        bytes += buffer.length;
        if (bytes > maxBytes) throw Object.assign(new Error("too large"), { code: "EFBIG" });
        crc.update(buffer);
        md5.update(buffer);
        if (!out.write(buffer)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
      }
    } catch (error) {
      return { kind: "failed", reason: `the download broke off after ${bytes} bytes (${errorCode(error)})` };
    } finally {
      await new Promise<void>((resolve) => out.end(resolve));
    }
    if (Number.isFinite(expectedLength) && bytes !== expectedLength) {
      return { kind: "failed", reason: `received ${bytes} of ${expectedLength} bytes` };
    }
    const goog = parseGoogHash(header(responseHeaders, "x-goog-hash"));
    if (goog.crc32c && goog.crc32c !== crc.digestBase64()) {
      return { kind: "failed", reason: `CRC32C mismatch (server ${goog.crc32c}, received ${crc.digestBase64()})` };
    }
    if (goog.md5 && goog.md5 !== md5.digest("base64")) {
      return { kind: "failed", reason: "MD5 mismatch with the server's x-goog-hash" };
    }
    const etag = header(responseHeaders, "etag");
    const lastModified = header(responseHeaders, "last-modified");
    return { kind: "downloaded", bytes, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
  } finally {
    httpAgent.destroy();
    httpsAgent.destroy();
  }
}
