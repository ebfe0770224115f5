import { readFile } from "node:fs/promises";
import path from "node:path";
import { VulnDbError, type WarningSink } from "../errors.js";
import { download, displayUrl, type DownloadOptions } from "../download.js";
import { looksLikeNvdPage } from "../sources/nvd.js";

/** NVD CVE API 2.0 endpoint. */
export const DEFAULT_NVD_URL = "https://services.nvd.nist.gov/rest/json/cves/2.0";
/** Where a mirror serves the same API (same query parameters) below its base URL. */
export const MIRROR_NVD_PATH = "nvd/cves/2.0";
/** The environment variable holding an NVD API key; sent as the `apiKey` header, never logged. */
export const NVD_API_KEY_ENV = "STOWAWAY_NVD_API_KEY";

/** NVD allows lastModStartDate..lastModEndDate ranges of at most 120 consecutive days. */
export const NVD_MAX_WINDOW_MS = 120 * 24 * 60 * 60 * 1000;
/** NVD's maximum (and recommended) page size. */
export const NVD_MAX_RESULTS_PER_PAGE = 2000;

export interface RateLimit {
  requests: number;
  windowMs: number;
}

/** NVD's published limits: 5 requests in a rolling 30 s window without a key, 50 with one. */
export function nvdRateLimit(withKey: boolean): RateLimit {
  return { requests: withKey ? 50 : 5, windowMs: 30_000 };
}

export interface NvdFetchOptions {
  /** API endpoints tried in order (the first that answers is used for every page). */
  endpoints: URL[];
  /** Directory the pages are saved to (inside the staging generation). */
  downloads: string;
  /** Fetch only CVEs modified since then; undefined fetches every CVE. */
  since?: Date;
  now: Date;
  apiKey?: string;
  resultsPerPage?: number;
  rateLimit?: RateLimit;
  /** Waits after a 403/429/503 before the same request is retried; NVD asks clients to back off. */
  backoffMs?: readonly number[];
  download: DownloadOptions;
  warn: WarningSink;
  log: (line: string) => void;
}

export interface NvdFetchResult {
  endpoint: URL;
  files: string[];
  requests: number;
  cves: number;
}

/** `YYYY-MM-DDTHH:mm:ss.sss+00:00`, the extended ISO-8601 form NVD documents for its date parameters. */
function nvdDate(date: Date): string {
  return date.toISOString().replace("Z", "+00:00");
}

/** The lastModified windows covering since..now, each at most 120 days. */
export function nvdWindows(since: Date, now: Date): Array<{ start: Date; end: Date }> {
  const windows: Array<{ start: Date; end: Date }> = [];
  let start = since.getTime();
  const end = now.getTime();
  while (start < end) {
    const stop = Math.min(start + NVD_MAX_WINDOW_MS, end);
    windows.push({ start: new Date(start), end: new Date(stop) });
    start = stop;
  }
  return windows;
}

/** Sliding-window limiter: never more than `requests` starts in any `windowMs`. */
class Limiter {
  private readonly starts: number[] = [];
  constructor(private readonly limit: RateLimit) {}

  async take(): Promise<void> {
    for (;;) {
      const now = Date.now();
      while (this.starts.length > 0 && now - this.starts[0]! >= this.limit.windowMs) this.starts.shift();
      if (this.starts.length < this.limit.requests) {
        this.starts.push(now);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, this.starts[0]! + this.limit.windowMs - now));
    }
  }
}

const RETRY_STATUSES = new Set([403, 429, 503]);
const DEFAULT_BACKOFF_MS = [6_000, 30_000, 60_000];

/**
 * Fetches NVD CVE API 2.0 pages into `downloads`: every CVE (startIndex paging) or, with `since`,
 * the CVEs modified since then in windows of at most 120 days. Honours the rate limit, backs off
 * and retries on 403/429/503, and moves to the next endpoint when one keeps failing. Throws a
 * VulnDbError when no endpoint delivers a page, so the caller keeps the existing database.
 */
export async function fetchNvd(options: NvdFetchOptions): Promise<NvdFetchResult> {
  const perPage = Math.min(options.resultsPerPage ?? NVD_MAX_RESULTS_PER_PAGE, NVD_MAX_RESULTS_PER_PAGE);
  const limiter = new Limiter(options.rateLimit ?? nvdRateLimit(Boolean(options.apiKey)));
  const backoff = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  const download_: DownloadOptions = {
    ...options.download,
    headers: { ...options.download.headers, ...(options.apiKey ? { apiKey: options.apiKey } : {}) },
    // Every request must pass the rate limiter below, so retries happen here, never inside download().
    retries: 0,
  };
  const windows = options.since ? nvdWindows(options.since, options.now) : [undefined];
  const files: string[] = [];
  let requests = 0;
  let cves = 0;
  let endpointIndex = 0;

  const fetchPage = async (params: URLSearchParams): Promise<{ total: number; count: number }> => {
    const failures: string[] = [];
    for (; endpointIndex < options.endpoints.length; endpointIndex++) {
      const endpoint = options.endpoints[endpointIndex]!;
      const url = new URL(endpoint);
      url.search = params.toString();
      const file = path.join(options.downloads, `nvd-${String(files.length).padStart(5, "0")}.json`);
      for (let attempt = 0; ; attempt++) {
        await limiter.take();
        requests++;
        const outcome = await download(url, file, {}, download_);
        if (outcome.kind === "downloaded") {
          let page: unknown;
          try {
            page = JSON.parse(await readFile(file, "utf8"));
          } catch (error) {
            failures.push(`${displayUrl(url)}: not JSON (${(error as Error).message.split("\n")[0]})`);
            break;
          }
          if (!looksLikeNvdPage(page)) {
            failures.push(`${displayUrl(url)}: not an NVD CVE API 2.0 page`);
            break;
          }
          files.push(file);
          const total = Number(page.totalResults);
          return { total: Number.isFinite(total) ? total : 0, count: page.vulnerabilities.length };
        }
        if (
          outcome.kind === "failed" &&
          outcome.status &&
          RETRY_STATUSES.has(outcome.status) &&
          attempt < backoff.length
        ) {
          const wait = Math.max(outcome.retryAfterMs ?? 0, backoff[attempt]!);
          options.warn(
            `nvd: ${displayUrl(url)} answered ${outcome.reason}; waiting ${Math.round(wait / 1000)} s before retrying`,
          );
          await new Promise((resolve) => setTimeout(resolve, wait));
          continue;
        }
        failures.push(`${displayUrl(url)}: ${outcome.kind === "failed" ? outcome.reason : "unexpected 304"}`);
        break;
      }
      options.warn(`nvd: ${failures.at(-1)}; trying the next mirror`);
    }
    throw new VulnDbError(
      `nvd: no mirror delivered the CVE API page (${failures.join("; ")}); the existing database is unchanged`,
    );
  };

  for (const window of windows) {
    let startIndex = 0;
    for (;;) {
      const params = new URLSearchParams();
      if (window) {
        params.set("lastModStartDate", nvdDate(window.start));
        params.set("lastModEndDate", nvdDate(window.end));
      }
      params.set("resultsPerPage", String(perPage));
      params.set("startIndex", String(startIndex));
      const { total, count } = await fetchPage(params);
      cves += count;
      startIndex += count;
      // An empty page ends the window even if totalResults promised more, so a broken server cannot loop us.
      if (count === 0 || startIndex >= total) break;
    }
  }
  const endpoint = options.endpoints[Math.min(endpointIndex, options.endpoints.length - 1)]!;
  options.log(`nvd: ${cves} CVE records in ${files.length} pages from ${displayUrl(endpoint)}`);
  return { endpoint, files, requests, cves };
}
