import { StowawayError } from "../errors.js";
import type { Finding } from "../result.js";
import type { FindingChange, InventoryStore, RunRecord, Sighting, StoredImage } from "../store/types.js";
import { SEVERITY_ORDER, type Severity } from "../vulndb/osv.js";
import {
  clusterImageReport,
  exposedWorkloads,
  recordedContainers,
  runningSummary,
  type ClusterLookup,
  type RunningContainer,
  type RunningSummary,
  type RunningWorkload,
} from "./cluster.js";

export type SeverityTally = Record<Severity, number>;

export interface InventoryImageRow {
  digest: string;
  platform: string;
  /** registry/repository:tag for every tag that points at it now. */
  references: string[];
  worst?: Severity;
  counts: SeverityTally;
  /** Undefined when never matched against a database. */
  findings?: number;
  verdict?: string;
  dbBuiltAt?: string;
  lastMatched: string;
  /**
   * Workloads ("cluster/namespace/Deployment/web") running this digest, or the index it is a
   * platform of, in the latest recorded `cluster inventory` of each cluster. Absent when the store
   * holds no cluster inventory.
   */
  running?: number;
}

export interface InventoryRepositoryRow {
  registry: string;
  repository: string;
  tags: number;
  images: number;
  worst?: Severity;
}

export interface ChangeRow extends FindingChange {
  references: string[];
}

export interface CveExposure {
  id: string;
  images: {
    digest: string;
    references: string[];
    packageName: string;
    installedVersion: string;
    fixedVersion?: string;
  }[];
  tags: number;
  repositories: number;
  registries: number;
  /**
   * The running containers (latest recorded `cluster inventory` of each cluster) whose image has it:
   * the answer `GET /api/v1/cluster/images?cve=` gives, per container. Absent when the store holds no
   * cluster inventory.
   */
  workloads?: RunningWorkload[];
}

/** What `registry report` shows, in every format. */
export interface InventoryReport {
  generatedAt: string;
  store: string;
  registries: { registry: string; repositories: number; images: number }[];
  repositories: InventoryRepositoryRow[];
  /** Worst severity first. */
  images: InventoryImageRow[];
  lastRun?: RunRecord;
  /** Changes recorded by `lastRun` (new, fixed, newly fixable). */
  changes: ChangeRow[];
  cve?: CveExposure;
  /** Running images by flag, from the recorded cluster inventories; absent when the store holds none. */
  running?: RunningSummary;
}

export interface InventoryReportOptions {
  /** "last-run" (the default) or a run id: whose changes are "new since last run". */
  since?: string;
  /** A CVE (or any vulnerability id or alias): which images it affects and how widely. */
  cve?: string;
  now?: Date;
}

function emptyTally(): SeverityTally {
  return { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
}

const rank = (severity: Severity | undefined): number => (severity ? SEVERITY_ORDER.indexOf(severity) : -1);

function worstOf(severities: Iterable<Severity>): Severity | undefined {
  let worst: Severity | undefined;
  for (const severity of severities) if (rank(severity) > rank(worst)) worst = severity;
  return worst;
}

function referencesByDigest(sightings: Sighting[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const sighting of sightings) {
    if (!sighting.current) continue;
    const list = map.get(sighting.digest) ?? [];
    list.push(`${sighting.registry}/${sighting.repository}:${sighting.tag}`);
    map.set(sighting.digest, list);
  }
  return map;
}

function matchesId(finding: Finding, id: string): boolean {
  const wanted = id.toUpperCase();
  return finding.id.toUpperCase() === wanted || finding.aliases.some((alias) => alias.toUpperCase() === wanted);
}

/** Reads the store into the report's shape; nothing is fetched from any registry. */
export async function buildInventoryReport(
  store: InventoryStore,
  options: InventoryReportOptions = {},
): Promise<InventoryReport> {
  const [images, sightings, runs, containers] = await Promise.all([
    store.listImages(),
    store.sightings(),
    store.runs(),
    recordedContainers(store),
  ]);
  const references = referencesByDigest(sightings);
  const byDigest = new Map<string, StoredImage>(images.map((image) => [image.digest, image]));
  // Where images run: the service's core read (recorded containers joined by clusterImageReport),
  // its store lookups answered from what was just read.
  const lookup: ClusterLookup = {
    getImage: async (digest) => byDigest.get(digest),
    sightings: async () => sightings,
  };
  const inventoried = containers.length > 0;
  const running = inventoried
    ? runningSummary(containers, await clusterImageReport(containers, { store: lookup }))
    : undefined;
  const workloadsOf = runningWorkloads(containers, sightings);

  const rows: InventoryImageRow[] = images.map((image) => {
    const counts = emptyTally();
    for (const finding of image.result.findings ?? []) counts[finding.severity] += 1;
    const worst = worstOf((image.result.findings ?? []).map((finding) => finding.severity));
    const platform = image.result.artifact.platform;
    return {
      digest: image.digest,
      platform: [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/"),
      references: (references.get(image.digest) ?? []).sort(),
      ...(worst ? { worst } : {}),
      counts,
      ...(image.result.findings ? { findings: image.result.findings.length } : {}),
      ...(image.result.policy ? { verdict: image.result.policy.outcome } : {}),
      ...(image.dbBuiltAt ? { dbBuiltAt: image.dbBuiltAt } : {}),
      lastMatched: image.lastMatched,
      ...(inventoried ? { running: workloadsOf(image.digest) } : {}),
    };
  });
  rows.sort(
    (a, b) =>
      rank(b.worst) - rank(a.worst) || (b.findings ?? 0) - (a.findings ?? 0) || a.digest.localeCompare(b.digest),
  );

  const repoMap = new Map<string, { registry: string; repository: string; tags: Set<string>; digests: Set<string> }>();
  for (const sighting of sightings.filter((row) => row.current && byDigest.has(row.digest))) {
    const key = `${sighting.registry}/${sighting.repository}`;
    const entry = repoMap.get(key) ?? {
      registry: sighting.registry,
      repository: sighting.repository,
      tags: new Set<string>(),
      digests: new Set<string>(),
    };
    entry.tags.add(sighting.tag);
    entry.digests.add(sighting.digest);
    repoMap.set(key, entry);
  }
  const worstByDigest = new Map(rows.map((row) => [row.digest, row.worst]));
  const repositories: InventoryRepositoryRow[] = [...repoMap.values()]
    .map((entry) => {
      const worst = worstOf(
        [...entry.digests].map((digest) => worstByDigest.get(digest)).filter((s): s is Severity => !!s),
      );
      return {
        registry: entry.registry,
        repository: entry.repository,
        tags: entry.tags.size,
        images: entry.digests.size,
        ...(worst ? { worst } : {}),
      };
    })
    .sort((a, b) => `${a.registry}/${a.repository}`.localeCompare(`${b.registry}/${b.repository}`));

  const registryMap = new Map<string, { repositories: number; digests: Set<string> }>();
  for (const repository of repoMap.values()) {
    const entry = registryMap.get(repository.registry) ?? { repositories: 0, digests: new Set<string>() };
    entry.repositories += 1;
    repository.digests.forEach((digest) => entry.digests.add(digest));
    registryMap.set(repository.registry, entry);
  }
  const registries = [...registryMap.entries()]
    .map(([registry, entry]) => ({ registry, repositories: entry.repositories, images: entry.digests.size }))
    .sort((a, b) => a.registry.localeCompare(b.registry));

  const since = options.since ?? "last-run";
  const finished = runs.filter((run) => run.finishedAt);
  const lastRun = since === "last-run" ? finished[0] : runs.find((run) => run.id === since);
  if (since !== "last-run" && !lastRun) {
    throw new StowawayError(
      `--since ${since}: no such run in ${store.location}; use last-run or a run id from the JSON report`,
    );
  }
  const changes: ChangeRow[] = lastRun
    ? (await store.changes(lastRun.id)).map((change) => ({
        ...change,
        references: references.get(change.digest) ?? [],
      }))
    : [];

  let cve: CveExposure | undefined;
  if (options.cve) {
    const id = options.cve;
    const affected: CveExposure["images"] = [];
    for (const image of images) {
      for (const finding of (image.result.findings ?? []).filter((f) => matchesId(f, id))) {
        affected.push({
          digest: image.digest,
          references: (references.get(image.digest) ?? []).sort(),
          packageName: finding.packageName,
          installedVersion: finding.installedVersion,
          ...(finding.fixedVersion ? { fixedVersion: finding.fixedVersion } : {}),
        });
      }
    }
    const tagged = sightings.filter((row) => row.current && affected.some((image) => image.digest === row.digest));
    cve = {
      id,
      images: affected,
      tags: new Set(tagged.map((row) => `${row.registry}/${row.repository}:${row.tag}`)).size,
      repositories: new Set(tagged.map((row) => `${row.registry}/${row.repository}`)).size,
      registries: new Set(tagged.map((row) => row.registry)).size,
      ...(inventoried ? { workloads: await exposedWorkloads(containers, lookup, id) } : {}),
    };
  }

  return {
    generatedAt: (options.now ?? new Date()).toISOString(),
    store: store.location,
    registries,
    repositories,
    images: rows,
    ...(lastRun ? { lastRun } : {}),
    changes,
    ...(cve ? { cve } : {}),
    ...(running ? { running } : {}),
  };
}

/** Counts the workloads running a stored digest: directly, or through the index a node pulled. */
function runningWorkloads(containers: RunningContainer[], sightings: Sighting[]): (digest: string) => number {
  const indexesOf = new Map<string, Set<string>>();
  for (const sighting of sightings) {
    if (!sighting.indexDigest) continue;
    const set = indexesOf.get(sighting.digest) ?? new Set<string>();
    set.add(sighting.indexDigest);
    indexesOf.set(sighting.digest, set);
  }
  const byDigest = new Map<string, Set<string>>();
  for (const container of containers) {
    if (!container.digest) continue;
    const set = byDigest.get(container.digest) ?? new Set<string>();
    set.add(`${container.cluster}/${container.namespace}/${container.workload}`);
    byDigest.set(container.digest, set);
  }
  return (digest) => {
    const workloads = new Set(byDigest.get(digest));
    for (const index of indexesOf.get(digest) ?? []) byDigest.get(index)?.forEach((w) => workloads.add(w));
    return workloads.size;
  };
}
