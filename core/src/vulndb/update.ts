import { readFile } from "node:fs/promises";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import type { DatabaseMetadata, DatabaseSource } from "./types.js";
import { VulnDbError, type WarningSink } from "./errors.js";
import { readExistingDatabase, withStagedDatabase } from "./build.js";
import { download, displayUrl, type DownloadOptions, type Validators } from "./download.js";
import { Ingestor } from "./ingest/index.js";
import { DEFAULT_ZIP_LIMITS, readZipMembers, type ZipLimits } from "./ingest/zip.js";
import { normalizeEcosystem } from "./normalize.js";
import { recentEcosystems } from "./recent.js";
import { carrySources } from "./store/carry.js";
import { looksLikeKevCatalog } from "./sources/kev.js";
import { looksLikeEpssCsv } from "./sources/epss.js";
import { REDHAT_SOURCE, looksLikeCsaf } from "./sources/redhat.js";
import { readTarMembers } from "./ingest/tar.js";
import { NVD_SOURCE } from "./sources/nvd.js";
import { DEBIAN_TRACKER_SOURCE, looksLikeDebianTracker } from "./sources/debian.js";
import { ALPINE_SECDB_SOURCE, looksLikeAlpineSecdb } from "./sources/alpine.js";
import { DEFAULT_NVD_URL, fetchNvd, MIRROR_NVD_PATH, NVD_API_KEY_ENV, type RateLimit } from "./fetch/nvd.js";
import { CVE5_SOURCE } from "./sources/cve5.js";
import { cve5Endpoints, fetchCve5 } from "./fetch/cve5.js";
import { addCve5Zip } from "./ingest/cve5.js";

export const DEFAULT_OSV_BASE = "https://osv-vulnerabilities.storage.googleapis.com";
export const DEFAULT_KEV_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json";
export const DEFAULT_EPSS_URL = "https://epss.cyentia.com/epss_scores-current.csv.gz";
/** Paths of KEV and EPSS below a mirror base URL (next to `<ECOSYSTEM>/all.zip`). */
export const MIRROR_KEV_PATH = "cisa-kev/known_exploited_vulnerabilities.json";
export const MIRROR_EPSS_PATH = "epss/epss_scores-current.csv.gz";
/** Red Hat's CSAF VEX directory: `archive_latest.txt` names the current `csaf_vex_<date>.tar.zst` beside it. */
export const DEFAULT_REDHAT_VEX_BASE = "https://security.access.redhat.com/data/csaf/v2/vex/";
/** The same directory below a mirror base URL. */
export const MIRROR_REDHAT_VEX_PATH = "redhat/csaf/v2/vex/";
const REDHAT_POINTER = "archive_latest.txt";
const REDHAT_ARCHIVE_NAME = /^csaf_vex_\d{4}-\d{2}-\d{2}\.tar\.zst$/;
/** The Debian security tracker's JSON export (every source package, CVE and release). */
export const DEFAULT_DEBIAN_TRACKER_URL = "https://security-tracker.debian.org/tracker/data/json";
export const MIRROR_DEBIAN_TRACKER_PATH = "debian-security-tracker/json";
/** Alpine's secdb: `<base><release>/<main|community>.json`. */
export const DEFAULT_ALPINE_SECDB_BASE = "https://secdb.alpinelinux.org/";
export const MIRROR_ALPINE_SECDB_PATH = "alpine-secdb/";

export interface UpdateDatabaseOptions {
  dbDir: string;
  /** OSV feed names (PyPI, npm, Debian …). Default: ecosystems recent scans met, else those already in the DB. */
  ecosystems?: string[];
  /**
   * Base URLs tried in order for every feed. Default: OSV's bucket for OSV and the upstream CISA/FIRST
   * URLs for KEV/EPSS; with mirrors, everything comes from the mirrors only.
   */
  mirrors?: string[];
  kev?: boolean;
  epss?: boolean;
  /**
   * Red Hat's CSAF VEX archive (docs/distro-matching.md "Sources"). Default: only when the current
   * database already holds Red Hat data, since the archive is large.
   */
  redhat?: boolean;
  /**
   * NVD CVE API 2.0 (CVSS vectors per CVE). true: fetch (everything the first time, then what changed
   * since the last fetch); false: never. Default: refresh it when the database already holds NVD data
   * fetched by `db update`. The API key comes from STOWAWAY_NVD_API_KEY in `env`.
   */
  nvd?: boolean;
  /**
   * The Debian security tracker JSON. Default: refreshed when the database holds tracker data an
   * earlier `db update` fetched; `db build --from` imports are carried over as they are.
   */
  debianTracker?: boolean;
  /**
   * CVE List V5 (CNA and ADP CVSS vectors, docs/severity.md "CVE List V5"). true: fetch (the daily
   * baseline the first time, then only deltas); false: never. Default: refresh it when the database
   * holds CVE List data an earlier `db update` fetched.
   */
  cve5?: boolean;
  /** How many days behind the CVE List may be and still be caught up with end-of-day deltas. */
  cve5MaxCatchUpDays?: number;
  /** Alpine secdb releases to fetch ("v3.20", "edge"); default: those an earlier update fetched. */
  alpineSecdb?: string[];
  /** Test and tuning knobs for NVD: page size, rate limit, back-off waits. */
  nvdTuning?: { resultsPerPage?: number; rateLimit?: RateLimit; backoffMs?: number[] };
  env?: NodeJS.ProcessEnv;
  caPem?: string;
  timeoutMs?: number;
  warn?: WarningSink;
  /** Progress lines ("PyPI: unchanged (304)"). */
  log?: (line: string) => void;
  zipLimits?: ZipLimits;
  now?: Date;
}

export interface UpdateDatabaseResult {
  metadata: DatabaseMetadata;
  refreshed: string[];
  unchanged: string[];
}

interface Feed {
  source: string;
  kind: "osv-zip" | "kev" | "epss" | "redhat-vex" | "debian-tracker" | "alpine-secdb";
  urls: URL[];
  file: string;
  /** One of several files of one source: its validators are kept per URL. */
  perUrlValidators?: boolean;
}

interface Fetched {
  feed: Feed;
  url: URL;
  etag?: string;
  lastModified?: string;
}

const ALPINE_RELEASE = /^(?:v\d+\.\d+|edge)$/;
const ALPINE_REPOSITORIES = ["main", "community"] as const;

/** "v3.19", "3.19" or "edge" → the secdb directory name; throws one line otherwise. */
function alpineRelease(release: string): string {
  const trimmed = release.trim();
  const name = /^\d/.test(trimmed) ? `v${trimmed}` : trimmed;
  if (!ALPINE_RELEASE.test(name)) {
    throw new VulnDbError(
      `--alpine-secdb ${JSON.stringify(release.slice(0, 40))} is not an Alpine release; use e.g. v3.20 or edge`,
    );
  }
  return name;
}

/** The releases an earlier update fetched, from the per-URL validators it kept. */
function previousAlpineReleases(source: DatabaseSource | undefined): string[] {
  const releases = new Set<string>();
  for (const url of Object.keys(source?.validators ?? {})) {
    const match = /\/(v\d+\.\d+|edge)\/(?:main|community)\.json$/.exec(url);
    if (match) releases.add(match[1]!);
  }
  return [...releases].sort();
}

function parseBase(base: string): URL {
  let url: URL;
  try {
    url = new URL(base.endsWith("/") ? base : `${base}/`);
  } catch {
    throw new VulnDbError(
      `--mirror ${JSON.stringify(base)} is not a URL; give a base such as https://mirror.example/osv`,
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new VulnDbError(`--mirror ${displayUrl(url)}: only http(s) mirrors are supported`);
  }
  return url;
}

function feedName(ecosystem: string): string {
  const name = normalizeEcosystem(ecosystem);
  if (name.includes(":") || !/^[A-Za-z0-9][A-Za-z0-9 .-]*$/.test(name)) {
    throw new VulnDbError(
      `--ecosystem ${JSON.stringify(ecosystem)} is not an OSV feed name; use the name before any ":" (PyPI, npm, Debian, Alpine …)`,
    );
  }
  return name;
}

/** Full-content check before a download may replace anything: a zip that inflates completely, a parseable feed. */
async function verifyFeed(feed: Feed, limits: ZipLimits): Promise<string | undefined> {
  try {
    if (feed.kind === "osv-zip") {
      let members = 0;
      for await (const member of readZipMembers(feed.file, limits)) {
        if (member.name.endsWith(".json")) members++;
      }
      return members === 0 ? "the zip holds no OSV records" : undefined;
    }
    if (feed.kind === "redhat-vex") {
      let documents = 0;
      for await (const member of readTarMembers(feed.file, limits, (name) => name.endsWith(".json"))) {
        if (looksLikeCsaf(JSON.parse(member.data.toString("utf8")))) documents++;
      }
      return documents === 0 ? "the archive holds no CSAF documents" : undefined;
    }
    const raw = await readFile(feed.file);
    if (feed.kind === "debian-tracker") {
      return looksLikeDebianTracker(JSON.parse(raw.toString("utf8"))) ? undefined : "not the Debian tracker JSON";
    }
    if (feed.kind === "alpine-secdb") {
      return looksLikeAlpineSecdb(JSON.parse(raw.toString("utf8"))) ? undefined : "not an Alpine secdb file";
    }
    if (feed.kind === "kev") {
      return looksLikeKevCatalog(JSON.parse(raw.toString("utf8"))) ? undefined : "not a CISA KEV catalog";
    }
    const text = (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).toString("utf8");
    return looksLikeEpssCsv(text) ? undefined : "not an EPSS CSV";
  } catch (error) {
    return (error as Error).message.split("\n")[0];
  }
}

/** Reads `archive_latest.txt` below a Red Hat VEX directory URL: the archive's URL, or why not. */
async function redHatArchive(directory: URL, file: string, options: DownloadOptions): Promise<URL | string> {
  const pointer = new URL(REDHAT_POINTER, directory);
  const outcome = await download(pointer, file, {}, { ...options, maxBytes: 4096 });
  if (outcome.kind === "failed") return `${REDHAT_POINTER}: ${outcome.reason}`;
  if (outcome.kind === "not-modified") return `${REDHAT_POINTER}: unexpected 304`;
  const name = (await readFile(file, "utf8")).trim();
  if (!REDHAT_ARCHIVE_NAME.test(name)) {
    return `${REDHAT_POINTER} does not name a csaf_vex_<date>.tar.zst archive`;
  }
  return new URL(name, directory);
}

async function defaultEcosystems(dbDir: string, existing: DatabaseMetadata | undefined, now: Date): Promise<string[]> {
  const recent = await recentEcosystems(dbDir, now);
  if (recent.length > 0) return recent;
  return (existing?.sources ?? [])
    .filter((source) => source.name.startsWith("osv:"))
    .map((source) => source.name.slice(4));
}

/**
 * `stowaway db update`: downloads the OSV all.zip of each ecosystem plus KEV and EPSS, trying each
 * mirror in turn, with conditional GETs so unchanged feeds cost one round trip. All-or-nothing: if a
 * feed cannot be fetched from any mirror, or a download fails verification, nothing is replaced.
 * Sources not refreshed (304, or not part of this update, e.g. a Debian tracker import) are carried
 * over from the current database.
 */
export async function updateDatabase(options: UpdateDatabaseOptions): Promise<UpdateDatabaseResult> {
  const now = options.now ?? new Date();
  const warn = options.warn ?? (() => undefined);
  const log = options.log ?? (() => undefined);
  const limits = options.zipLimits ?? DEFAULT_ZIP_LIMITS;
  const existing = await readExistingDatabase(options.dbDir);
  const requested = options.ecosystems?.length
    ? options.ecosystems
    : await defaultEcosystems(options.dbDir, existing?.metadata, now);
  const ecosystems = [...new Set(requested.map(feedName))].sort();
  const wantKev = options.kev !== false;
  const wantEpss = options.epss !== false;
  const wantRedHat =
    options.redhat ?? (existing?.metadata.sources ?? []).some((source) => source.name === REDHAT_SOURCE);
  const previousNvd = existing?.metadata.sources.find((source) => source.name === NVD_SOURCE);
  const wantNvd = options.nvd ?? Boolean(previousNvd?.url);
  const previousDebian = existing?.metadata.sources.find((source) => source.name === DEBIAN_TRACKER_SOURCE);
  const wantDebian = options.debianTracker ?? Boolean(previousDebian?.url);
  const previousCve5 = existing?.metadata.sources.find((source) => source.name === CVE5_SOURCE);
  const wantCve5 = options.cve5 ?? Boolean(previousCve5?.url);
  const alpineReleases = [
    ...new Set(
      (
        options.alpineSecdb ??
        previousAlpineReleases(existing?.metadata.sources.find((source) => source.name === ALPINE_SECDB_SOURCE))
      ).map(alpineRelease),
    ),
  ].sort();
  if (
    ecosystems.length === 0 &&
    !wantKev &&
    !wantEpss &&
    !wantRedHat &&
    !wantNvd &&
    !wantDebian &&
    !wantCve5 &&
    alpineReleases.length === 0
  ) {
    throw new VulnDbError(
      "no feeds to update: pass --ecosystem (e.g. --ecosystem PyPI), or scan an image first so its ecosystems are remembered",
    );
  }
  const mirrors = (options.mirrors ?? []).map(parseBase);
  const osvBases = mirrors.length > 0 ? mirrors : [parseBase(DEFAULT_OSV_BASE)];
  const previous = new Map<string, DatabaseSource>((existing?.metadata.sources ?? []).map((s) => [s.name, s]));
  const downloadOptions: DownloadOptions = {
    env: options.env ?? process.env,
    ...(options.caPem ? { caPem: options.caPem } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  };

  const refreshed: string[] = [];
  const unchanged: string[] = [];
  const metadata = await withStagedDatabase(
    options.dbDir,
    async (writer, staging) => {
      const downloads = path.join(staging, "downloads");
      mkdirSync(downloads);
      const feeds: Feed[] = ecosystems.map((ecosystem, index) => ({
        source: `osv:${ecosystem}`,
        kind: "osv-zip",
        urls: osvBases.map((base) => new URL(`${encodeURIComponent(ecosystem)}/all.zip`, base)),
        file: path.join(downloads, `osv-${index}.zip`),
      }));
      if (wantKev) {
        feeds.push({
          source: "cisa-kev",
          kind: "kev",
          urls: mirrors.length > 0 ? mirrors.map((base) => new URL(MIRROR_KEV_PATH, base)) : [new URL(DEFAULT_KEV_URL)],
          file: path.join(downloads, "kev.json"),
        });
      }
      if (wantEpss) {
        feeds.push({
          source: "epss",
          kind: "epss",
          urls:
            mirrors.length > 0 ? mirrors.map((base) => new URL(MIRROR_EPSS_PATH, base)) : [new URL(DEFAULT_EPSS_URL)],
          file: path.join(downloads, "epss.csv.gz"),
        });
      }

      if (wantRedHat) {
        feeds.push({
          source: REDHAT_SOURCE,
          kind: "redhat-vex",
          urls:
            mirrors.length > 0
              ? mirrors.map((base) => new URL(MIRROR_REDHAT_VEX_PATH, base))
              : [new URL(DEFAULT_REDHAT_VEX_BASE)],
          file: path.join(downloads, "redhat-vex.tar.zst"),
        });
      }

      if (wantDebian) {
        feeds.push({
          source: DEBIAN_TRACKER_SOURCE,
          kind: "debian-tracker",
          urls:
            mirrors.length > 0
              ? mirrors.map((base) => new URL(MIRROR_DEBIAN_TRACKER_PATH, base))
              : [new URL(DEFAULT_DEBIAN_TRACKER_URL)],
          file: path.join(downloads, "debian-tracker.json"),
        });
      }
      for (const release of alpineReleases) {
        for (const repository of ALPINE_REPOSITORIES) {
          const file = `${release}/${repository}.json`;
          feeds.push({
            source: ALPINE_SECDB_SOURCE,
            kind: "alpine-secdb",
            urls:
              mirrors.length > 0
                ? mirrors.map((base) => new URL(`${MIRROR_ALPINE_SECDB_PATH}${file}`, base))
                : [new URL(file, DEFAULT_ALPINE_SECDB_BASE)],
            file: path.join(downloads, `alpine-${release}-${repository}.json`),
            perUrlValidators: true,
          });
        }
      }

      const fetchFeed = async (feed: Feed, conditional: boolean): Promise<Fetched | "unchanged"> => {
        const old = previous.get(feed.source);
        const failures: string[] = [];
        for (const listed of feed.urls) {
          let url = listed;
          if (feed.kind === "redhat-vex") {
            // The directory's pointer names today's archive; a new name is a new object (no validators).
            const archive = await redHatArchive(listed, `${feed.file}.pointer`, downloadOptions);
            if (typeof archive === "string") {
              failures.push(`${displayUrl(listed)}: ${archive}`);
              warn(`${feed.source}: ${displayUrl(listed)} failed (${archive}); trying the next mirror`);
              continue;
            }
            url = archive;
          }
          // Validators belong to the exact object they came from; another mirror gets a plain GET.
          const key = url.toString();
          const validators: Validators = !conditional
            ? {}
            : (old?.validators?.[key] ?? (old?.url === key ? { etag: old.etag, lastModified: old.lastModified } : {}));
          const outcome = await download(url, feed.file, validators, downloadOptions);
          if (outcome.kind === "not-modified") {
            log(`${feed.source}: unchanged at ${displayUrl(url)}`);
            return "unchanged";
          }
          if (outcome.kind === "failed") {
            failures.push(`${displayUrl(url)}: ${outcome.reason}`);
            warn(`${feed.source}: ${displayUrl(url)} failed (${outcome.reason}); trying the next mirror`);
            continue;
          }
          const problem = await verifyFeed(feed, limits);
          if (problem) {
            failures.push(`${displayUrl(url)}: ${problem}`);
            warn(`${feed.source}: ${displayUrl(url)} sent unusable data (${problem}); trying the next mirror`);
            continue;
          }
          log(`${feed.source}: downloaded ${outcome.bytes} bytes from ${displayUrl(url)}`);
          return {
            feed,
            url,
            ...(outcome.etag ? { etag: outcome.etag } : {}),
            ...(outcome.lastModified ? { lastModified: outcome.lastModified } : {}),
          };
        }
        throw new VulnDbError(
          `${feed.source}: no mirror delivered it (${failures.join("; ")}); the existing database is unchanged`,
        );
      };

      const outcomes = new Map<Feed, Fetched | "unchanged">();
      for (const feed of feeds) outcomes.set(feed, await fetchFeed(feed, true));
      // A source read from several files (Alpine secdb: a file per release and repository) is rebuilt
      // from all of them, so when one changed, the unchanged ones are fetched again without validators.
      for (const feed of feeds) {
        if (outcomes.get(feed) !== "unchanged") continue;
        const siblings = feeds.filter((other) => other.source === feed.source);
        if (siblings.some((other) => outcomes.get(other) !== "unchanged"))
          outcomes.set(feed, await fetchFeed(feed, false));
      }
      const fetched = [...outcomes.values()].filter((outcome): outcome is Fetched => outcome !== "unchanged");
      for (const name of new Set(feeds.map((feed) => feed.source))) {
        if (fetched.some((item) => item.feed.source === name)) refreshed.push(name);
        else unchanged.push(name);
      }

      let nvd: Awaited<ReturnType<typeof fetchNvd>> | undefined;
      if (wantNvd) {
        const env = options.env ?? process.env;
        const apiKey = env[NVD_API_KEY_ENV]?.trim();
        const endpoints =
          mirrors.length > 0 ? mirrors.map((base) => new URL(MIRROR_NVD_PATH, base)) : [new URL(DEFAULT_NVD_URL)];
        // Incremental only from data this endpoint delivered before; pages from `db build --from` say
        // nothing about what NVD changed since, so they start a full fetch.
        const since =
          previousNvd?.url && endpoints.some((e) => e.toString() === previousNvd.url)
            ? new Date(previousNvd.fetchedAt)
            : undefined;
        nvd = await fetchNvd({
          endpoints,
          downloads,
          ...(since && !Number.isNaN(since.getTime()) ? { since } : {}),
          now,
          ...(apiKey ? { apiKey } : {}),
          ...(options.nvdTuning?.resultsPerPage ? { resultsPerPage: options.nvdTuning.resultsPerPage } : {}),
          ...(options.nvdTuning?.rateLimit ? { rateLimit: options.nvdTuning.rateLimit } : {}),
          ...(options.nvdTuning?.backoffMs ? { backoffMs: options.nvdTuning.backoffMs } : {}),
          download: downloadOptions,
          warn,
          log,
        });
        refreshed.push(NVD_SOURCE);
      }

      let cve5: Awaited<ReturnType<typeof fetchCve5>> | undefined;
      if (wantCve5) {
        // Incremental only from data an endpoint delivered before: `db build --from` imports say
        // nothing about which day they hold, so they start from a baseline.
        cve5 = await fetchCve5({
          endpoints: cve5Endpoints(mirrors),
          downloads,
          previous: previousCve5?.url ? previousCve5 : undefined,
          ...(options.cve5MaxCatchUpDays !== undefined ? { maxCatchUpDays: options.cve5MaxCatchUpDays } : {}),
          download: downloadOptions,
          warn,
          log,
        });
        (cve5.unchanged ? unchanged : refreshed).push(CVE5_SOURCE);
      }

      // NVD and the CVE List's deltas are incremental: carried CVEs stay and fetched ones replace
      // the ones that changed. A CVE List baseline replaces everything the source held.
      const replaced = new Set(
        refreshed.filter((name) => name !== NVD_SOURCE && (name !== CVE5_SOURCE || cve5?.full === true)),
      );
      if (existing) {
        await carrySources(
          existing.generation,
          existing.metadata,
          existing.layout,
          writer,
          (name) => !replaced.has(name),
        );
      }
      const ingestor = new Ingestor(writer, warn, limits);
      for (const { feed, url, etag, lastModified } of fetched) {
        const validators = { ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
        await ingestor.addPath(feed.file, {
          name: feed.source,
          origin: displayUrl(url),
          url: url.toString(),
          fetchedAt: now.toISOString(),
          ...validators,
          ...(feed.perUrlValidators ? { validators: { [url.toString()]: validators } } : {}),
        });
      }
      for (const file of nvd?.files ?? []) {
        await ingestor.addPath(file, {
          name: NVD_SOURCE,
          origin: displayUrl(nvd!.endpoint),
          url: nvd!.endpoint.toString(),
          fetchedAt: now.toISOString(),
        });
      }
      if (cve5 && !cve5.unchanged) {
        const source = {
          name: CVE5_SOURCE,
          origin: displayUrl(cve5.endpoint.release),
          url: cve5.endpoint.release.toString(),
          fetchedAt: now.toISOString(),
        };
        writer.declareSource(source);
        for (const asset of cve5.assets) {
          const records = await addCve5Zip(asset.file, writer, source, warn, limits, downloads);
          log(`cve5: ${records} CVE records from the ${asset.kind} of ${asset.day}`);
        }
        writer.replaceValidators(CVE5_SOURCE, cve5.validators);
      }
      ingestor.finish();
      rmSync(downloads, { recursive: true, force: true });
    },
    now,
  );
  return { metadata, refreshed, unchanged };
}
