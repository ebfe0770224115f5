import { readFile } from "node:fs/promises";
import path from "node:path";
import { VulnDbError, type WarningSink } from "../errors.js";
import { download, displayUrl, type DownloadOptions, type Validators } from "../download.js";
import type { DatabaseSource } from "../types.js";

/**
 * CVE List V5 (github.com/CVEProject/cvelistV5) as `db update` fetches it (docs/severity.md
 * "CVE List V5"): the repository's latest GitHub release names a daily baseline
 * (`<date>_all_CVEs_at_midnight.zip`, published as a zip holding `cves.zip`) and an hourly delta
 * (`<date>_delta_CVEs_at_<HHMM>Z.zip`: every record added or changed since that midnight); each day
 * also ends with `<date>_delta_CVEs_at_end_of_day.zip` (release `cve_<date>_at_end_of_day`).
 */
export const DEFAULT_CVE5_RELEASE_URL = "https://api.github.com/repos/CVEProject/cvelistV5/releases/latest";
export const DEFAULT_CVE5_DOWNLOAD_BASE = "https://github.com/CVEProject/cvelistV5/releases/download/";
/** A mirror copies GitHub's layout below its base URL: the release JSON and the release assets. */
export const MIRROR_CVE5_RELEASE_PATH = "cvelistV5/releases/latest";
export const MIRROR_CVE5_DOWNLOAD_PATH = "cvelistV5/releases/download/";
/** Beyond this many days behind, one baseline is cheaper than a delta per day. */
export const CVE5_MAX_CATCH_UP_DAYS = 14;

const BASELINE = /^(\d{4}-\d{2}-\d{2})_all_CVEs_at_midnight\.zip(?:\.zip)?$/;
const DELTA = /^(\d{4}-\d{2}-\d{2})_delta_CVEs_at_(\d{4}Z|end_of_day)\.zip$/;
const TAG = /^[A-Za-z0-9_.-]{1,100}$/;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A GitHub token for api.github.com (60 unauthenticated requests an hour are shared per IP address). */
export const CVE5_GITHUB_TOKEN_ENV = ["STOWAWAY_GITHUB_TOKEN", "GITHUB_TOKEN"] as const;

/**
 * The Authorization header for a release JSON request: only to api.github.com over https, never to a
 * mirror, and never logged (download outcomes carry no request data).
 */
export function githubAuthHeaders(url: URL, env: NodeJS.ProcessEnv): Record<string, string> {
  if (url.protocol !== "https:" || url.hostname !== "api.github.com") return {};
  const token = CVE5_GITHUB_TOKEN_ENV.map((name) => env[name]?.trim()).find((value) => value);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export interface Cve5Endpoint {
  release: URL;
  downloads: URL;
}

export function cve5Endpoints(mirrors: URL[]): Cve5Endpoint[] {
  if (mirrors.length === 0) {
    return [{ release: new URL(DEFAULT_CVE5_RELEASE_URL), downloads: new URL(DEFAULT_CVE5_DOWNLOAD_BASE) }];
  }
  return mirrors.map((base) => ({
    release: new URL(MIRROR_CVE5_RELEASE_PATH, base),
    downloads: new URL(MIRROR_CVE5_DOWNLOAD_PATH, base),
  }));
}

export interface Cve5Asset {
  kind: "baseline" | "delta" | "end-of-day";
  /** The day the asset belongs to (UTC, YYYY-MM-DD). */
  day: string;
  url: URL;
  /** Where it was saved (inside the staging generation). */
  file: string;
  validators: Validators;
}

export interface Cve5FetchResult {
  endpoint: Cve5Endpoint;
  /** "unchanged": the release (or every asset) answered 304; nothing to ingest. */
  unchanged: boolean;
  /** true: a baseline was downloaded, so the previous CVE List data is replaced rather than added to. */
  full: boolean;
  /** In the order they must be applied: baseline or end-of-day deltas first, the latest delta last. */
  assets: Cve5Asset[];
  /** The per-URL validators describing what the database holds after this update. */
  validators: Record<string, Validators>;
}

interface Release {
  tag: string;
  baseline?: { name: string; day: string };
  delta?: { name: string; day: string };
}

function parseRelease(value: unknown): Release | string {
  const doc = value as { tag_name?: unknown; assets?: unknown } | null;
  if (!doc || typeof doc !== "object" || typeof doc.tag_name !== "string" || !Array.isArray(doc.assets)) {
    return "not a GitHub release (fields tag_name and assets)";
  }
  if (!TAG.test(doc.tag_name)) return "field tag_name is not a release tag";
  const release: Release = { tag: doc.tag_name };
  for (const asset of doc.assets) {
    const name = (asset as { name?: unknown } | null)?.name;
    if (typeof name !== "string") continue;
    const baseline = BASELINE.exec(name);
    if (baseline) release.baseline = { name, day: baseline[1]! };
    const delta = DELTA.exec(name);
    // The hourly delta of the release's day; an end-of-day delta in the latest release is as good.
    if (delta && (!release.delta || delta[2] === "end_of_day")) release.delta = { name, day: delta[1]! };
  }
  if (!release.baseline) return "the release has no <date>_all_CVEs_at_midnight.zip asset";
  if (release.delta && release.delta.day !== release.baseline.day) delete release.delta;
  return release;
}

function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The midnight the database's CVE List data is complete up to: a baseline of day D holds day D's
 * midnight, an end-of-day delta of day D the next midnight. Read from the validators an earlier
 * update kept (their URLs name the assets); undefined when there is none.
 */
export function cve5CoveredDay(source: DatabaseSource | undefined): string | undefined {
  let covered: string | undefined;
  for (const url of Object.keys(source?.validators ?? {})) {
    const name = decodeURIComponent(url.slice(url.lastIndexOf("/") + 1));
    const baseline = BASELINE.exec(name);
    const delta = DELTA.exec(name);
    const day = baseline ? baseline[1]! : delta?.[2] === "end_of_day" ? addDays(delta[1]!, 1) : undefined;
    if (day && (!covered || day > covered)) covered = day;
  }
  return covered;
}

export interface Cve5FetchOptions {
  endpoints: Cve5Endpoint[];
  downloads: string;
  previous: DatabaseSource | undefined;
  maxCatchUpDays?: number;
  download: DownloadOptions;
  warn: WarningSink;
  log: (line: string) => void;
}

/**
 * Fetches what the database lacks of the CVE List: nothing when the release JSON is unchanged
 * (304); the latest delta alone when the database already holds that day's baseline; the
 * end-of-day deltas of the days missed plus the latest delta when it is at most
 * `maxCatchUpDays` behind; otherwise the baseline and the latest delta. Conditional GETs use the
 * validators kept per URL. Throws a VulnDbError when no endpoint delivers, so nothing is replaced.
 */
export async function fetchCve5(options: Cve5FetchOptions): Promise<Cve5FetchResult> {
  const kept = options.previous?.validators ?? {};
  const failures: string[] = [];
  let counter = 0;
  const save = (name: string) => path.join(options.downloads, `cve5-${String(counter++).padStart(3, "0")}-${name}`);
  for (const endpoint of options.endpoints) {
    const releaseKey = endpoint.release.toString();
    const releaseFile = save("release.json");
    const outcome = await download(endpoint.release, releaseFile, kept[releaseKey] ?? {}, {
      ...options.download,
      maxBytes: 4 * 1024 * 1024,
      headers: {
        ...options.download.headers,
        Accept: "application/vnd.github+json",
        ...githubAuthHeaders(endpoint.release, options.download.env),
      },
    });
    if (outcome.kind === "not-modified") {
      options.log(`cve5: unchanged at ${displayUrl(endpoint.release)}`);
      return { endpoint, unchanged: true, full: false, assets: [], validators: { ...kept } };
    }
    if (outcome.kind === "failed") {
      failures.push(`${displayUrl(endpoint.release)}: ${outcome.reason}`);
      options.warn(`cve5: ${displayUrl(endpoint.release)} failed (${outcome.reason}); trying the next mirror`);
      continue;
    }
    let release: Release | string;
    try {
      release = parseRelease(JSON.parse(await readFile(releaseFile, "utf8")));
    } catch (error) {
      release = `not JSON (${(error as Error).message.split("\n")[0]})`;
    }
    if (typeof release === "string") {
      failures.push(`${displayUrl(endpoint.release)}: ${release}`);
      options.warn(`cve5: ${displayUrl(endpoint.release)} sent unusable data (${release}); trying the next mirror`);
      continue;
    }
    const releaseValidators: Validators = {
      ...(outcome.etag ? { etag: outcome.etag } : {}),
      ...(outcome.lastModified ? { lastModified: outcome.lastModified } : {}),
    };
    const result = await fetchAssets(endpoint, release, kept, save, options);
    if (typeof result === "string") {
      failures.push(result);
      options.warn(`cve5: ${result}; trying the next mirror`);
      continue;
    }
    result.validators[releaseKey] = releaseValidators;
    return result;
  }
  throw new VulnDbError(
    `cve5: no mirror delivered the CVE List (${failures.join("; ")}); the existing database is unchanged`,
  );
}

async function fetchAssets(
  endpoint: Cve5Endpoint,
  release: Release,
  kept: Record<string, Validators>,
  save: (name: string) => string,
  options: Cve5FetchOptions,
): Promise<Cve5FetchResult | string> {
  const baseline = release.baseline!;
  const assetUrl = (tag: string, name: string) =>
    new URL(`${encodeURIComponent(tag)}/${encodeURIComponent(name)}`, endpoint.downloads);
  const baselineUrl = assetUrl(release.tag, baseline.name);
  const covered = cve5CoveredDay(options.previous);
  const maxDays = options.maxCatchUpDays ?? CVE5_MAX_CATCH_UP_DAYS;
  const assets: Cve5Asset[] = [];
  const validators: Record<string, Validators> = {};

  const get = async (
    kind: Cve5Asset["kind"],
    day: string,
    url: URL,
    conditional: boolean,
  ): Promise<Cve5Asset | "unchanged" | { error: string }> => {
    const key = url.toString();
    const file = save(decodeURIComponent(url.pathname.slice(url.pathname.lastIndexOf("/") + 1)));
    const outcome = await download(url, file, conditional ? (kept[key] ?? {}) : {}, options.download);
    if (outcome.kind === "not-modified") return "unchanged";
    if (outcome.kind === "failed") return { error: `${displayUrl(url)}: ${outcome.reason}` };
    options.log(`cve5: downloaded ${outcome.bytes} bytes from ${displayUrl(url)}`);
    return {
      kind,
      day,
      url,
      file,
      validators: {
        ...(outcome.etag ? { etag: outcome.etag } : {}),
        ...(outcome.lastModified ? { lastModified: outcome.lastModified } : {}),
      },
    };
  };

  if (covered && covered > baseline.day) {
    // A lagging mirror must not take the database back to an older day.
    options.warn(
      `cve5: ${displayUrl(endpoint.release)} offers ${baseline.day}, older than the database's ${covered}; kept`,
    );
    return { endpoint, unchanged: true, full: false, assets: [], validators: { ...kept } };
  }
  let full = true;
  if (covered) {
    const missed: string[] = [];
    for (let day = covered; day < baseline.day && missed.length <= maxDays; day = addDays(day, 1)) missed.push(day);
    if (missed.length <= maxDays) {
      full = false;
      for (const day of missed) {
        const tag = `cve_${day}_at_end_of_day`;
        const got = await get("end-of-day", day, assetUrl(tag, `${day}_delta_CVEs_at_end_of_day.zip`), false);
        if (got === "unchanged" || "error" in got) {
          // A missing day cannot be skipped: the baseline is the only complete answer.
          options.warn(`cve5: end-of-day delta of ${day} unavailable; downloading the baseline instead`);
          full = true;
          assets.length = 0;
          break;
        }
        assets.push(got);
      }
    }
  }
  if (full) {
    const got = await get("baseline", baseline.day, baselineUrl, false);
    if (got === "unchanged") return `${displayUrl(baselineUrl)}: unexpected 304`;
    if ("error" in got) return got.error;
    assets.push(got);
  }
  // The database now holds the release day's midnight: its baseline URL records that.
  validators[baselineUrl.toString()] = full ? assets[0]!.validators : (kept[baselineUrl.toString()] ?? {});

  if (release.delta) {
    const deltaUrl = assetUrl(release.tag, release.delta.name);
    // The delta of a day the database already held can be conditional; after a catch-up it is new.
    const got = await get("delta", release.delta.day, deltaUrl, !full && assets.length === 0);
    if (got === "unchanged") validators[deltaUrl.toString()] = kept[deltaUrl.toString()] ?? {};
    else if ("error" in got) return got.error;
    else {
      assets.push(got);
      validators[deltaUrl.toString()] = got.validators;
    }
  }
  const unchanged = assets.length === 0;
  if (unchanged) options.log(`cve5: unchanged at ${displayUrl(endpoint.release)}`);
  return { endpoint, unchanged, full, assets, validators };
}
