/**
 * The dashboard's read model: what the overview, image, CVE and registries pages show, computed
 * from the inventory store (results by manifest digest, sightings, runs and their changes) and
 * served as JSON under /api/v1 (docs/dashboard.md "Read-model endpoints"). Nothing here writes.
 *
 * `readModelOpenApiPaths` describes these endpoints (OpenAPI 3.1 path items with JSON Schema
 * 2020-12 bodies); the service merges it into /openapi.json.
 */
import {
  clusterImageReport,
  exposedWorkloads,
  recordedContainers,
  runningSummary,
  type ClusterLookup,
  type RunningContainer,
  type RunningSummary,
  type RunningWorkload,
} from "../inventory/cluster.js";
import type { Finding, MatchDetails, PolicyVerdict } from "../result.js";
import {
  currentReferences,
  findingsTally,
  trendFromChanges,
  worstSeverity,
  type SeverityTally,
  type TrendPoint,
} from "../store/queries.js";
import type { FindingChange, InventoryStore, RunRecord, Sighting, StoredImage } from "../store/types.js";
import { SEVERITY_ORDER, type Severity } from "../vulndb/osv.js";

export type { SeverityTally, TrendPoint } from "../store/queries.js";

/** An image's worst severity, "none" when matched with no findings, "unchecked" when never matched. */
export type WorstSeverity = Severity | "none" | "unchecked";

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_LIMIT = 50;
/** Image summaries kept per snapshot: the pages being looked at now. */
const SUMMARY_CACHE = 64;
/** The longest a snapshot is re-dated without reading the store in full (default of `fullReadMs`). */
const FULL_READ_MS = 60_000;
const MAX_LIMIT = 500;
const SEVERITIES_DESC: Severity[] = [...SEVERITY_ORDER].reverse();
const WORST_VALUES: WorstSeverity[] = [...SEVERITIES_DESC, "none", "unchecked"];
/** Manifest digests as the OCI image spec defines them (algorithm ":" encoded). */
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** Vulnerability ids and aliases: CVE-2024-1, GHSA-xxxx-xxxx-xxxx, PYSEC-2021-1, DSA-5000-1 ... */
const VULN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{1,127}$/;

/** A request the read model refuses (400) or cannot answer (404); the handler turns it into problem details. */
export class ReadModelError extends Error {
  constructor(
    readonly status: 400 | 404,
    readonly title: string,
    message: string,
  ) {
    super(message);
    this.name = "ReadModelError";
  }
}

export interface Overview {
  generatedAt: string;
  images: number;
  repositories: number;
  registries: number;
  /** Images by their worst severity; images never matched are counted in `unchecked` instead. */
  bySeverity: SeverityTally & { none: number };
  unchecked: number;
  /**
   * Running images by flag, from the latest recorded `cluster inventory` of each cluster (what
   * `GET /api/v1/cluster/images` lists); all zero when none was recorded.
   */
  running: RunningSummary;
  /** Findings first recorded by runs started in the last 24 hours, and images first scanned then. */
  newSinceYesterday: { findings: number; images: number };
  lastRun?: RunRecord;
  /** Findings by severity after each finished run, oldest first. */
  trend: TrendPoint[];
}

export interface ImageListItem {
  digest: string;
  /** registry/repository the image is tagged in now. */
  repositories: string[];
  /** registry/repository:tag references pointing at it now. */
  tags: string[];
  reference: string;
  platform: string;
  worstSeverity: WorstSeverity;
  counts: SeverityTally;
  findings: number;
  verdict?: PolicyVerdict["outcome"];
  lastMatched: string;
}

export interface ImageList {
  total: number;
  limit: number;
  offset: number;
  items: ImageListItem[];
}

export interface ImageQuery {
  severity?: string;
  repository?: string;
  q?: string;
  limit?: string;
  offset?: string;
}

export interface FindingView {
  findingId: string;
  id: string;
  aliases: string[];
  packageName: string;
  installedVersion: string;
  fixedVersion?: string;
  status: string;
  severity: Severity;
  severitySource: string;
  kev: boolean;
  epss?: { score: number; percentile: number };
  layerIndex: number;
  summary?: string;
  match: MatchDetails;
  /** One sentence saying why the finding matched (docs/dashboard.md "Why it matched"). */
  why: string;
  /** Set when the policy suppressed the finding (exception, VEX, ignore file). */
  suppressed?: { source: string; reason: string };
}

export interface ImageSummary {
  digest: string;
  reference: string;
  platform: string;
  os: { family: string; version?: string; prettyName?: string };
  created?: string;
  firstScanned: string;
  lastMatched: string;
  dbBuiltAt?: string;
  worstSeverity: WorstSeverity;
  counts: SeverityTally;
  layers: {
    index: number;
    digest: string;
    size: number;
    createdBy?: string;
    packages: number;
    findings: number;
  }[];
  packages: {
    id: string;
    name: string;
    version: string;
    type: string;
    ecosystem: string;
    purl: string;
    layerIndex: number;
    source?: { name: string; version: string };
  }[];
  findings: FindingView[];
  verdict?: PolicyVerdict;
  sightings: Omit<Sighting, "digest">[];
  warnings: string[];
}

export interface CveImage {
  digest: string;
  repositories: string[];
  tags: string[];
  packages: { name: string; installedVersion: string; fixedVersion?: string; layerIndex: number }[];
}

export interface CveView {
  id: string;
  /** Absent when no stored image has the vulnerability. */
  severity?: Severity;
  aliases: string[];
  summary?: string;
  fixedVersions: string[];
  images: CveImage[];
  counts: { images: number; repositories: number; tags: number; registries: number };
  /** The recorded running containers whose image has it; `clusters` is how many clusters were inventoried. */
  running: { clusters: number; workloads: RunningWorkload[] };
}

export interface RegistrySummaryItem {
  registry: string;
  repositories: number;
  images: number;
  worstSeverity: WorstSeverity;
  lastSeen: string;
  repositoryDetails: {
    repository: string;
    tags: number;
    images: number;
    worstSeverity: WorstSeverity;
    lastSeen: string;
  }[];
}

export interface RegistriesSummary {
  items: RegistrySummaryItem[];
}

function resultWorst(findings: Pick<Finding, "severity">[] | undefined): WorstSeverity {
  if (!findings) return "unchecked";
  return worstSeverity(findings.map((finding) => finding.severity)) ?? "none";
}

const worstRank = (value: WorstSeverity): number => {
  const index = WORST_VALUES.indexOf(value);
  return index < 0 ? WORST_VALUES.length : index;
};

function worstOfWorst(values: WorstSeverity[]): WorstSeverity {
  let best: WorstSeverity = "unchecked";
  for (const value of values) if (worstRank(value) < worstRank(best)) best = value;
  return best;
}

function platformOf(image: StoredImage): string {
  const platform = image.result.artifact.platform;
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/");
}

function repositoriesOf(sightings: Sighting[]): string[] {
  return [...new Set(sightings.map((row) => `${row.registry}/${row.repository}`))].sort();
}

function tagsOf(sightings: Sighting[]): string[] {
  return [...new Set(sightings.map((row) => `${row.registry}/${row.repository}:${row.tag}`))].sort();
}

/** What the list, overview, CVE and registries answers need of one image: no packages, no full findings. */
interface ImageDigest {
  item: ImageListItem;
  firstScanned: string;
  /** Lower-cased text the `q` filter searches. */
  search: string;
  findings: Pick<
    Finding,
    "id" | "aliases" | "severity" | "summary" | "packageName" | "installedVersion" | "fixedVersion" | "layerIndex"
  >[];
}

/** One consistent reading of the store, shared by every request until it is older than `maxAgeMs`. */
interface Snapshot {
  takenAt: number;
  /** When the store was last read in full (a snapshot whose fingerprint is unchanged is only re-dated). */
  readAt: number;
  /** Runs (and whether finished) and stored digests: what changes when anything is written through a run. */
  fingerprint: string;
  images: ImageDigest[];
  sightings: Sighting[];
  current: Map<string, Sighting[]>;
  runs: RunRecord[];
  /** Vulnerability id or alias (upper case) -> the images and findings that have it. */
  byVulnerability: Map<string, { image: ImageDigest; finding: ImageDigest["findings"][number] }[]>;
  trend: TrendPoint[];
  /** "digest/findingId" of findings recorded as new, with the start of the run that recorded them. */
  newFindings: { key: string; startedAt: number }[];
  registries: RegistriesSummary;
  /** The containers of each cluster's latest recorded inventory, and the store as the cluster report reads it. */
  containers: RunningContainer[];
  lookup: ClusterLookup;
  running: RunningSummary;
}

export interface ReadModelOptions {
  store: InventoryStore;
  /**
   * How long one reading of the store answers requests (default 2000 ms): the pages' numbers are at
   * most this old (plus one rebuild), and a burst of requests costs one pass over the store, not one each.
   */
  maxAgeMs?: number;
  /**
   * The longest the store goes without a full read while its runs and digests stay the same (default
   * 60 s): the delay before a result replaced outside any run shows.
   */
  fullReadMs?: number;
  /** The clock (tests); the snapshot's age uses real time. */
  now?: () => Date;
}

/**
 * The read model over one store. Reads are served from a snapshot of the store (images reduced to
 * what the answers need, sightings, runs, the trend) refreshed when older than `maxAgeMs`; requests
 * arriving during a refresh share it. A refresh first reads the runs and digests only, and reads
 * everything again when they changed (or every `fullReadMs`). Image summaries are read one image at
 * a time and kept for the pages being looked at.
 */
export class ReadModel {
  private readonly store: InventoryStore;
  private readonly maxAgeMs: number;
  private readonly fullReadMs: number;
  private readonly now: () => Date;
  private snapshot: Snapshot | undefined;
  private building: Promise<Snapshot> | undefined;
  /** Changes of finished runs never change again: read once. */
  private readonly finishedChanges = new Map<string, FindingChange[]>();
  /** Image summaries of the current snapshot, most recently used last (at most SUMMARY_CACHE). */
  private readonly summaries = new Map<string, ImageSummary>();
  /** CVE exposures by upper-cased id, with the full reading they were computed from. */
  private readonly exposures = new Map<string, { snapshot: number; value: CveView }>();
  /** The overview of the current snapshot, for the second it was computed in. */
  private overviewMemo: { snapshot: Snapshot; second: number; value: Overview } | undefined;

  constructor(options: ReadModelOptions) {
    this.store = options.store;
    this.maxAgeMs = options.maxAgeMs ?? 2000;
    this.fullReadMs = options.fullReadMs ?? FULL_READ_MS;
    this.now = options.now ?? (() => new Date());
  }

  private async current(): Promise<Snapshot> {
    const fresh = this.snapshot && Date.now() - this.snapshot.takenAt < this.maxAgeMs;
    if (fresh) return this.snapshot!;
    if (!this.building) {
      this.building = this.build().finally(() => {
        this.building = undefined;
      });
      this.building.then(
        (snapshot) => {
          if (snapshot.readAt !== this.snapshot?.readAt) this.summaries.clear();
          this.snapshot = snapshot;
        },
        () => undefined,
      );
    }
    return this.building;
  }

  private async runChanges(run: RunRecord): Promise<FindingChange[]> {
    const known = this.finishedChanges.get(run.id);
    if (known) return known;
    const changes = await this.store.changes(run.id);
    if (run.finishedAt) this.finishedChanges.set(run.id, changes);
    return changes;
  }

  private async build(): Promise<Snapshot> {
    const takenAt = Date.now();
    const [runs, digests] = await Promise.all([this.store.runs(), this.store.digests()]);
    const fingerprint = `${runs.map((run) => `${run.id}:${run.finishedAt ?? ""}`).join(",")}|${digests.length}|${digests[0] ?? ""}|${digests.at(-1) ?? ""}`;
    const previous = this.snapshot;
    // Nothing was written through a run and no image came or went: the last full reading stands,
    // for up to fullReadMs (a result replaced outside any run shows within that time).
    if (previous && previous.fingerprint === fingerprint && takenAt - previous.readAt < this.fullReadMs) {
      return { ...previous, takenAt };
    }
    const [stored, sightings, containers] = await Promise.all([
      this.store.listImages(),
      this.store.sightings(),
      recordedContainers(this.store),
    ]);
    const storedDigests = new Set(stored.map((image) => image.digest));
    const current = currentReferences(sightings.filter((row) => storedDigests.has(row.digest)));
    const images: ImageDigest[] = stored.map((image) => {
      const seen = current.get(image.digest) ?? [];
      const findings = image.result.findings;
      const item: ImageListItem = {
        digest: image.digest,
        repositories: repositoriesOf(seen),
        tags: tagsOf(seen),
        reference: image.result.artifact.reference,
        platform: platformOf(image),
        worstSeverity: resultWorst(findings),
        counts: findingsTally(findings ?? []),
        findings: findings?.length ?? 0,
        ...(image.result.policy ? { verdict: image.result.policy.outcome } : {}),
        lastMatched: image.lastMatched,
      };
      return {
        item,
        firstScanned: image.firstScanned,
        search: [item.digest, item.reference, ...item.tags].join("\n").toLowerCase(),
        findings: (findings ?? []).map((finding) => ({
          id: finding.id,
          aliases: finding.aliases,
          severity: finding.severity,
          packageName: finding.packageName,
          installedVersion: finding.installedVersion,
          layerIndex: finding.layerIndex,
          ...(finding.fixedVersion ? { fixedVersion: finding.fixedVersion } : {}),
          ...(finding.summary ? { summary: finding.summary } : {}),
        })),
      };
    });
    images.sort(
      (a, b) =>
        worstRank(a.item.worstSeverity) - worstRank(b.item.worstSeverity) ||
        b.item.findings - a.item.findings ||
        a.item.digest.localeCompare(b.item.digest),
    );
    const byVulnerability: Snapshot["byVulnerability"] = new Map();
    for (const image of images) {
      for (const finding of image.findings) {
        for (const name of new Set([finding.id, ...finding.aliases].map((id) => id.toUpperCase()))) {
          const list = byVulnerability.get(name);
          if (list) list.push({ image, finding });
          else byVulnerability.set(name, [{ image, finding }]);
        }
      }
    }
    // Where images run: the cluster report of the service's /api/v1/cluster/images, answered from this reading.
    const byDigest = new Map(images.map((image) => [image.item.digest, image]));
    const lookup: ClusterLookup = {
      getImage: async (digest) => {
        const image = byDigest.get(digest);
        if (!image) return undefined;
        const verdict = image.item.verdict;
        return {
          result: {
            ...(verdict ? { policy: { outcome: verdict } } : {}),
            ...(image.item.worstSeverity === "unchecked" ? {} : { findings: image.findings }),
          },
        };
      },
      sightings: async () => sightings,
    };
    const running = runningSummary(containers, await clusterImageReport(containers, { store: lookup }));
    const changesByRun = new Map<string, FindingChange[]>();
    for (const run of runs) changesByRun.set(run.id, await this.runChanges(run));
    const newFindings = runs.flatMap((run) =>
      (changesByRun.get(run.id) ?? [])
        .filter((change) => change.kind === "new")
        .map((change) => ({ key: `${change.digest}/${change.findingId}`, startedAt: Date.parse(run.startedAt) })),
    );
    return {
      takenAt,
      readAt: takenAt,
      fingerprint,
      images,
      sightings,
      current,
      runs,
      byVulnerability,
      trend: trendFromChanges(runs, changesByRun),
      newFindings,
      registries: registriesSummary(images, current),
      containers,
      lookup,
      running,
    };
  }

  /** "/api/v1/overview" */
  async overview(): Promise<Overview> {
    const snapshot = await this.current();
    const now = this.now();
    const second = Math.floor(now.getTime() / 1000);
    const memo = this.overviewMemo;
    if (memo && memo.snapshot === snapshot && memo.second === second) return memo.value;
    const value = this.computeOverview(snapshot, now);
    this.overviewMemo = { snapshot, second, value };
    return value;
  }

  private computeOverview(snapshot: Snapshot, now: Date): Overview {
    const bySeverity = { ...findingsTally([]), none: 0 };
    let unchecked = 0;
    for (const { item } of snapshot.images) {
      if (item.worstSeverity === "unchecked") unchecked += 1;
      else bySeverity[item.worstSeverity] += 1;
    }
    const since = now.getTime() - DAY_MS;
    const rows = [...snapshot.current.values()].flat();
    const finished = snapshot.runs.find((run) => run.finishedAt);
    return {
      generatedAt: now.toISOString(),
      images: snapshot.images.length,
      repositories: repositoriesOf(rows).length,
      registries: new Set(rows.map((row) => row.registry)).size,
      bySeverity,
      unchecked,
      running: snapshot.running,
      newSinceYesterday: {
        findings: new Set(snapshot.newFindings.filter((entry) => entry.startedAt >= since).map((entry) => entry.key))
          .size,
        images: snapshot.images.filter((image) => Date.parse(image.firstScanned) >= since).length,
      },
      ...(finished ? { lastRun: finished } : {}),
      trend: snapshot.trend,
    };
  }

  /** "/api/v1/images": filtered by worst severity, repository and free text, worst first, paged. */
  async images(query: ImageQuery): Promise<ImageList> {
    const severity = query.severity || undefined;
    if (severity && !WORST_VALUES.includes(severity as WorstSeverity)) {
      throw new ReadModelError(400, "Invalid query parameter", `severity must be one of ${WORST_VALUES.join(", ")}`);
    }
    const limit = intParam("limit", query.limit, DEFAULT_LIMIT, MAX_LIMIT);
    const offset = intParam("offset", query.offset, 0, 1_000_000_000);
    const text = query.q?.trim().toLowerCase();
    const repository = query.repository?.trim();
    const snapshot = await this.current();
    const items = snapshot.images
      .filter(
        (image) =>
          (!severity || image.item.worstSeverity === severity) &&
          (!repository ||
            image.item.repositories.some(
              (name) => name === repository || name.slice(name.indexOf("/") + 1) === repository,
            )) &&
          (!text || image.search.includes(text)),
      )
      .map((image) => image.item);
    return { total: items.length, limit, offset, items: items.slice(offset, offset + limit) };
  }

  /** "/api/v1/images/{digest}/summary" */
  async imageSummary(digest: string): Promise<ImageSummary> {
    if (!DIGEST.test(digest)) {
      throw new ReadModelError(400, "Invalid digest", "the path must name a manifest digest such as sha256:<64 hex>");
    }
    const snapshot = await this.current();
    const cached = this.summaries.get(digest);
    if (cached) {
      this.summaries.delete(digest);
      this.summaries.set(digest, cached);
      return cached;
    }
    const image = await this.store.getImage(digest);
    if (!image) throw new ReadModelError(404, "Image not found", `no stored image has digest ${digest}`);
    const summary = summarize(
      image,
      snapshot.sightings.filter((row) => row.digest === digest),
    );
    if (this.snapshot === snapshot) {
      this.summaries.set(digest, summary);
      if (this.summaries.size > SUMMARY_CACHE) this.summaries.delete(this.summaries.keys().next().value!);
    }
    return summary;
  }

  /** "/api/v1/cves/{id}": every stored image with the vulnerability (by id or alias), and how widespread. */
  async cve(id: string): Promise<CveView> {
    if (!VULN_ID.test(id)) {
      throw new ReadModelError(
        400,
        "Invalid vulnerability id",
        "the path must name a vulnerability id such as CVE-2024-3094",
      );
    }
    const snapshot = await this.current();
    const key = id.toUpperCase();
    const cached = this.exposures.get(key);
    if (cached?.snapshot === snapshot.readAt) return cached.value;
    const value = await this.exposure(snapshot, id);
    this.exposures.set(key, { snapshot: snapshot.readAt, value });
    if (this.exposures.size > SUMMARY_CACHE) this.exposures.delete(this.exposures.keys().next().value!);
    return value;
  }

  private async exposure(snapshot: Snapshot, id: string): Promise<CveView> {
    const hits = snapshot.byVulnerability.get(id.toUpperCase()) ?? [];
    const byImage = new Map<string, { image: ImageDigest; findings: ImageDigest["findings"] }>();
    for (const { image, finding } of hits) {
      const entry = byImage.get(image.item.digest) ?? { image, findings: [] };
      entry.findings.push(finding);
      byImage.set(image.item.digest, entry);
    }
    const affected: CveImage[] = [...byImage.values()]
      .map(({ image, findings }) => ({
        digest: image.item.digest,
        repositories: image.item.repositories,
        tags: image.item.tags,
        packages: findings.map((finding) => ({
          name: finding.packageName,
          installedVersion: finding.installedVersion,
          ...(finding.fixedVersion ? { fixedVersion: finding.fixedVersion } : {}),
          layerIndex: finding.layerIndex,
        })),
      }))
      .sort((a, b) => a.digest.localeCompare(b.digest));
    const matched = hits.map((hit) => hit.finding);
    const seen = affected.flatMap((image) => snapshot.current.get(image.digest) ?? []);
    const severity = worstSeverity(matched.map((finding) => finding.severity));
    const summary = matched.find((finding) => finding.summary)?.summary;
    const canonical = matched[0]?.id ?? id;
    return {
      id: canonical,
      ...(severity ? { severity } : {}),
      aliases: [...new Set(matched.flatMap((finding) => [finding.id, ...finding.aliases]))]
        .filter((alias) => alias !== canonical)
        .sort(),
      ...(summary ? { summary } : {}),
      fixedVersions: [
        ...new Set(matched.flatMap((finding) => (finding.fixedVersion ? [finding.fixedVersion] : []))),
      ].sort(),
      images: affected,
      counts: {
        images: affected.length,
        repositories: repositoriesOf(seen).length,
        tags: tagsOf(seen).length,
        registries: new Set(seen.map((row) => row.registry)).size,
      },
      running: {
        clusters: snapshot.running.clusters,
        workloads: affected.length ? await exposedWorkloads(snapshot.containers, snapshot.lookup, id) : [],
      },
    };
  }

  /** "/api/v1/registries/summary" */
  async registries(): Promise<RegistriesSummary> {
    return (await this.current()).registries;
  }
}

function intParam(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  if (!/^\d{1,10}$/.test(value) || Number(value) > max) {
    throw new ReadModelError(400, "Invalid query parameter", `${name} must be a whole number from 0 to ${max}`);
  }
  return Number(value);
}

/** Why a finding matched, in one sentence built from its match details. */
export function whyMatched(finding: Pick<Finding, "packageName" | "installedVersion" | "match">): string {
  const { match } = finding;
  const subject =
    match.type === "source"
      ? `${finding.packageName} ${finding.installedVersion} is built from source package ${match.name} ${match.version}, which`
      : `${match.name} ${match.version}`;
  return `${subject} is in the affected range ${match.constraint} of ${match.recordId} (${match.ecosystem}, from ${match.dataSource})`;
}

function summarize(image: StoredImage, sightings: Sighting[]): ImageSummary {
  const { result, digest } = image;
  const findings = result.findings ?? [];
  const suppressed = new Map((result.policy?.suppressed ?? []).map((entry) => [entry.findingId, entry]));
  const os = result.artifact.os;
  return {
    digest,
    reference: result.artifact.reference,
    platform: platformOf(image),
    os: {
      family: os.family,
      ...(os.version ? { version: os.version } : {}),
      ...(os.prettyName ? { prettyName: os.prettyName } : {}),
    },
    ...(result.artifact.created ? { created: result.artifact.created } : {}),
    firstScanned: image.firstScanned,
    lastMatched: image.lastMatched,
    ...(image.dbBuiltAt ? { dbBuiltAt: image.dbBuiltAt } : {}),
    worstSeverity: resultWorst(result.findings),
    counts: findingsTally(findings),
    layers: result.artifact.layers.map((layer) => ({
      index: layer.index,
      digest: layer.digest,
      size: layer.size,
      ...(layer.createdBy ? { createdBy: layer.createdBy } : {}),
      packages: result.packages.filter((pkg) => pkg.layerIndex === layer.index).length,
      findings: findings.filter((finding) => finding.layerIndex === layer.index).length,
    })),
    packages: result.packages.map((pkg) => ({
      id: pkg.id,
      name: pkg.name,
      version: pkg.version,
      type: pkg.type,
      ecosystem: pkg.ecosystem,
      purl: pkg.purl,
      layerIndex: pkg.layerIndex,
      ...(pkg.source ? { source: pkg.source } : {}),
    })),
    findings: findings
      .map((finding): FindingView => {
        const suppression = suppressed.get(finding.findingId);
        return {
          findingId: finding.findingId,
          id: finding.id,
          aliases: finding.aliases,
          packageName: finding.packageName,
          installedVersion: finding.installedVersion,
          ...(finding.fixedVersion ? { fixedVersion: finding.fixedVersion } : {}),
          status: finding.status,
          severity: finding.severity,
          severitySource: finding.severitySource,
          kev: finding.kev,
          ...(finding.epss ? { epss: finding.epss } : {}),
          layerIndex: finding.layerIndex,
          ...(finding.summary ? { summary: finding.summary } : {}),
          match: finding.match,
          why: whyMatched(finding),
          ...(suppression ? { suppressed: { source: suppression.source, reason: suppression.reason } } : {}),
        };
      })
      .sort(
        (a, b) =>
          SEVERITY_ORDER.indexOf(b.severity) - SEVERITY_ORDER.indexOf(a.severity) ||
          a.id.localeCompare(b.id) ||
          a.packageName.localeCompare(b.packageName),
      ),
    ...(result.policy ? { verdict: result.policy } : {}),
    sightings: sightings.map(({ digest: _digest, ...row }) => row),
    warnings: result.warnings,
  };
}

/** Per registry (and repository): what is tagged there now and how bad it is. */
function registriesSummary(images: ImageDigest[], current: Map<string, Sighting[]>): RegistriesSummary {
  const worst = new Map(images.map((image) => [image.item.digest, image.item.worstSeverity]));
  const registries = new Map<string, Map<string, Sighting[]>>();
  for (const row of [...current.values()].flat()) {
    const repositories = registries.get(row.registry) ?? new Map<string, Sighting[]>();
    const rows = repositories.get(row.repository);
    if (rows) rows.push(row);
    else repositories.set(row.repository, [row]);
    registries.set(row.registry, repositories);
  }
  const latest = (rows: Sighting[]): string =>
    rows
      .map((row) => row.lastSeen)
      .sort()
      .at(-1) ?? "";
  const items = [...registries.entries()]
    .map(([registry, repositories]): RegistrySummaryItem => {
      const rows = [...repositories.values()].flat();
      const digests = [...new Set(rows.map((row) => row.digest))];
      return {
        registry,
        repositories: repositories.size,
        images: digests.length,
        worstSeverity: worstOfWorst(digests.map((digest) => worst.get(digest) ?? "unchecked")),
        lastSeen: latest(rows),
        repositoryDetails: [...repositories.entries()]
          .map(([repository, repoRows]) => {
            const repoDigests = [...new Set(repoRows.map((row) => row.digest))];
            return {
              repository,
              tags: new Set(repoRows.map((row) => row.tag)).size,
              images: repoDigests.length,
              worstSeverity: worstOfWorst(repoDigests.map((digest) => worst.get(digest) ?? "unchecked")),
              lastSeen: latest(repoRows),
            };
          })
          .sort((a, b) => a.repository.localeCompare(b.repository)),
      };
    })
    .sort((a, b) => a.registry.localeCompare(b.registry));
  return { items };
}

// ---------------------------------------------------------------------------------------------
// OpenAPI 3.1 path items (JSON Schema 2020-12), merged by the service into /openapi.json. They name
// no security scheme of their own: the document's (the service's bearer tokens, read scope) applies.

type Schema = Record<string, unknown>;

const str: Schema = { type: "string" };
const int: Schema = { type: "integer", minimum: 0 };
const time: Schema = { type: "string", format: "date-time" };
const severityEnum: Schema = { type: "string", enum: [...SEVERITIES_DESC] };
const worstEnum: Schema = { type: "string", enum: WORST_VALUES };
const strings: Schema = { type: "array", items: str };

function object(properties: Record<string, Schema>, optional: string[] = []): Schema {
  return {
    type: "object",
    properties,
    required: Object.keys(properties).filter((key) => !optional.includes(key)),
  };
}

const tallyProperties = Object.fromEntries(SEVERITIES_DESC.map((severity) => [severity, int]));
const tally = object(tallyProperties);
const runRecord = object(
  {
    id: str,
    kind: { type: "string", enum: ["scan", "rescan"] },
    startedAt: time,
    finishedAt: time,
    target: str,
    dbBuiltAt: str,
    summary: object({ images: int, failed: int, newFindings: int, fixedFindings: int, newlyFixable: int }),
  },
  ["finishedAt", "dbBuiltAt", "summary"],
);
const matchDetails = object(
  {
    type: { type: "string", enum: ["direct", "source"] },
    ecosystem: str,
    name: str,
    version: str,
    constraint: str,
    recordId: str,
    dataSource: str,
  },
  [],
);
const verdict = object(
  {
    outcome: { type: "string", enum: ["pass", "warn", "fail"] },
    violations: { type: "array", items: object({ rule: str, message: str, findingIds: strings }) },
    suppressed: {
      type: "array",
      items: object({ findingId: str, source: str, reason: str, expires: str }, ["expires"]),
    },
    warnings: strings,
  },
  [],
);

const problem: Schema = {
  description: "RFC 9457 problem details",
  content: {
    "application/problem+json": {
      schema: object({ type: str, title: str, status: { type: "integer" }, detail: str }, ["type"]),
    },
  },
};

function ok(description: string, schema: Schema): Schema {
  return { description, content: { "application/json": { schema } } };
}

function get(operationId: string, summary: string, response: Schema, extra: Schema = {}, errors = ["401"]): Schema {
  const responses: Record<string, Schema> = { "200": response };
  for (const code of errors) responses[code] = problem;
  return {
    get: { operationId, summary, tags: ["dashboard"], ...extra, responses },
  };
}

const queryParam = (name: string, description: string, schema: Schema): Schema => ({
  name,
  in: "query",
  required: false,
  description,
  schema,
});

export const readModelOpenApiPaths: Record<string, Schema> = {
  "/api/v1/overview": get(
    "getOverview",
    "Images by worst severity, what is new since yesterday, the last run and the trend over runs",
    ok(
      "The overview",
      object(
        {
          generatedAt: time,
          images: int,
          repositories: int,
          registries: int,
          bySeverity: object({ ...tallyProperties, none: int }),
          unchecked: int,
          running: object({
            clusters: int,
            containers: int,
            images: int,
            exposed: int,
            drift: int,
            neverScanned: int,
            denied: int,
          }),
          newSinceYesterday: object({ findings: int, images: int }),
          lastRun: runRecord,
          trend: {
            type: "array",
            items: object({
              runId: str,
              kind: { type: "string", enum: ["scan", "rescan"] },
              at: time,
              ...tallyProperties,
            }),
          },
        },
        ["lastRun"],
      ),
    ),
  ),
  "/api/v1/images": get(
    "listImages",
    "Stored images, worst first, filtered by worst severity, repository and free text",
    ok(
      "A page of images",
      object({
        total: int,
        limit: int,
        offset: int,
        items: {
          type: "array",
          items: object(
            {
              digest: str,
              repositories: strings,
              tags: strings,
              reference: str,
              platform: str,
              worstSeverity: worstEnum,
              counts: tally,
              findings: int,
              verdict: { type: "string", enum: ["pass", "warn", "fail"] },
              lastMatched: time,
            },
            ["verdict"],
          ),
        },
      }),
    ),
    {
      parameters: [
        queryParam("severity", "Only images whose worst severity is this", worstEnum),
        queryParam("repository", "registry/repository or repository", str),
        queryParam("q", "Substring of the digest, reference or a tag", str),
        queryParam("limit", `Page size (default ${DEFAULT_LIMIT})`, {
          type: "integer",
          minimum: 0,
          maximum: MAX_LIMIT,
        }),
        queryParam("offset", "Items to skip", int),
      ],
    },
    ["400", "401"],
  ),
  "/api/v1/images/{digest}/summary": get(
    "getImageSummary",
    "One image: layers, packages, findings with why each matched, verdict and where it was seen",
    ok(
      "The image",
      object(
        {
          digest: str,
          reference: str,
          platform: str,
          os: object({ family: str, version: str, prettyName: str }, ["version", "prettyName"]),
          created: str,
          firstScanned: time,
          lastMatched: time,
          dbBuiltAt: str,
          worstSeverity: worstEnum,
          counts: tally,
          layers: {
            type: "array",
            items: object({ index: int, digest: str, size: int, createdBy: str, packages: int, findings: int }, [
              "createdBy",
            ]),
          },
          packages: {
            type: "array",
            items: object(
              {
                id: str,
                name: str,
                version: str,
                type: str,
                ecosystem: str,
                purl: str,
                layerIndex: int,
                source: object({ name: str, version: str }),
              },
              ["source"],
            ),
          },
          findings: {
            type: "array",
            items: object(
              {
                findingId: str,
                id: str,
                aliases: strings,
                packageName: str,
                installedVersion: str,
                fixedVersion: str,
                status: str,
                severity: severityEnum,
                severitySource: str,
                kev: { type: "boolean" },
                epss: object({ score: { type: "number" }, percentile: { type: "number" } }),
                layerIndex: int,
                summary: str,
                match: matchDetails,
                why: str,
                suppressed: object({ source: str, reason: str }),
              },
              ["fixedVersion", "epss", "summary", "suppressed"],
            ),
          },
          verdict,
          sightings: {
            type: "array",
            items: object(
              {
                registry: str,
                repository: str,
                tag: str,
                indexDigest: str,
                firstSeen: time,
                lastSeen: time,
                current: { type: "boolean" },
              },
              ["indexDigest"],
            ),
          },
          warnings: strings,
        },
        ["created", "dbBuiltAt", "verdict"],
      ),
    ),
    { parameters: [{ name: "digest", in: "path", required: true, schema: str, description: "sha256:<64 hex>" }] },
    ["400", "401", "404"],
  ),
  "/api/v1/cves/{id}": get(
    "getCveExposure",
    "Which stored images have a vulnerability (by id or alias), and how widespread it is",
    ok(
      "The exposure (zero counts when no stored image has it)",
      object(
        {
          id: str,
          severity: severityEnum,
          aliases: strings,
          summary: str,
          fixedVersions: strings,
          images: {
            type: "array",
            items: object({
              digest: str,
              repositories: strings,
              tags: strings,
              packages: {
                type: "array",
                items: object({ name: str, installedVersion: str, fixedVersion: str, layerIndex: int }, [
                  "fixedVersion",
                ]),
              },
            }),
          },
          counts: object({ images: int, repositories: int, tags: int, registries: int }),
          running: object({
            clusters: int,
            workloads: {
              type: "array",
              items: object({ cluster: str, namespace: str, workload: str, container: str, image: str, digest: str }),
            },
          }),
        },
        ["severity", "summary"],
      ),
    ),
    {
      parameters: [{ name: "id", in: "path", required: true, schema: str, description: "CVE-…, GHSA-… or any alias" }],
    },
    ["400", "401"],
  ),
  "/api/v1/registries/summary": get(
    "getRegistriesSummary",
    "Per registry and repository: images tagged there now, their worst severity and when last seen",
    ok(
      "The registries",
      object({
        items: {
          type: "array",
          items: object({
            registry: str,
            repositories: int,
            images: int,
            worstSeverity: worstEnum,
            lastSeen: str,
            repositoryDetails: {
              type: "array",
              items: object({ repository: str, tags: int, images: int, worstSeverity: worstEnum, lastSeen: str }),
            },
          }),
        },
      }),
    ),
  ),
};
