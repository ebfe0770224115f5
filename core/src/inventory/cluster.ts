import { parseRegistryReference } from "../image/reference.js";
import type { RegistryOptions } from "../image/types.js";
import { clusterWorkloads, type ClusterWorkloadRow } from "../store/cluster.js";
import type { InventoryStore, Sighting } from "../store/types.js";
import { StowawayError } from "../errors.js";
import type { Finding } from "../result.js";
import { scanTargets, type TargetScanOptions, type TargetScanSummary } from "./registry-scan.js";
import type { ImageTarget, WalkProblem } from "./walk.js";

/** One running container, as the Kubernetes API reports it (docs/admission.md §5). */
export interface RunningContainer {
  cluster: string;
  namespace: string;
  pod: string;
  /** The controller that owns the pod ("Deployment/web" through its ReplicaSet, "Job/x", "Pod/name" when none). */
  workload: string;
  container: string;
  /** The image as the pod spec names it. */
  image: string;
  /** From `status.containerStatuses[].imageID` (`docker-pullable://repo@sha256:...`); absent until pulled. */
  digest?: string;
}

const DIGEST = /sha256:[0-9a-f]{64}/;
/** Pods per list request; the API server's `continue` token leads on. */
const PAGE_SIZE = 500;

interface OwnerReference {
  kind?: string;
  name?: string;
  controller?: boolean;
}

/** A ReplicaSet named `<deployment>-<pod-template-hash>` is reported as its Deployment. */
function workloadOf(pod: { metadata?: { name?: string; ownerReferences?: OwnerReference[] } }): string {
  const owners = pod.metadata?.ownerReferences ?? [];
  const owner = owners.find((ref) => ref.controller) ?? owners[0];
  if (!owner?.kind || !owner.name) return `Pod/${pod.metadata?.name ?? "?"}`;
  if (owner.kind === "ReplicaSet" && /-[a-z0-9]{5,10}$/.test(owner.name)) {
    return `Deployment/${owner.name.replace(/-[a-z0-9]{5,10}$/, "")}`;
  }
  if (owner.kind === "Job" && /-\d{8,}$/.test(owner.name)) return `CronJob/${owner.name.replace(/-\d{8,}$/, "")}`;
  return `${owner.kind}/${owner.name}`;
}

/**
 * Lists every running container of the cluster a kubeconfig points at, with @kubernetes/client-node
 * (its authentication: bearer tokens, client certificates, exec plugins), page by page.
 */
export async function listRunningContainers(kubeconfigFile?: string): Promise<RunningContainer[]> {
  const k8s = await import("@kubernetes/client-node");
  const config = new k8s.KubeConfig();
  try {
    if (kubeconfigFile) config.loadFromFile(kubeconfigFile);
    else config.loadFromDefault();
  } catch (error) {
    throw new StowawayError(
      `kubeconfig ${kubeconfigFile ?? "(default)"}: cannot read it (${(error as Error).message}); pass --kubeconfig FILE`,
    );
  }
  const cluster = config.getCurrentCluster()?.name ?? config.getCurrentContext() ?? "cluster";
  const api = config.makeApiClient(k8s.CoreV1Api);
  const containers: RunningContainer[] = [];
  let token: string | undefined;
  do {
    let page;
    try {
      page = await api.listPodForAllNamespaces({ limit: PAGE_SIZE, ...(token ? { _continue: token } : {}) });
    } catch (error) {
      const code = (error as { code?: number }).code;
      throw new StowawayError(
        `cluster ${cluster}: listing pods failed${code ? ` (HTTP ${code})` : ""}: ${(error as Error).message.split("\n")[0]}; check the kubeconfig's credentials and RBAC (list pods in all namespaces)`,
      );
    }
    for (const pod of page.items) {
      const namespace = pod.metadata?.namespace ?? "";
      const statuses = [
        ...(pod.status?.initContainerStatuses ?? []),
        ...(pod.status?.containerStatuses ?? []),
        ...(pod.status?.ephemeralContainerStatuses ?? []),
      ];
      const specs = [
        ...(pod.spec?.initContainers ?? []),
        ...(pod.spec?.containers ?? []),
        ...(pod.spec?.ephemeralContainers ?? []),
      ];
      for (const spec of specs) {
        const status = statuses.find((entry) => entry.name === spec.name);
        const digest = DIGEST.exec(status?.imageID ?? "")?.[0];
        containers.push({
          cluster,
          namespace,
          pod: pod.metadata?.name ?? "",
          workload: workloadOf(pod as Parameters<typeof workloadOf>[0]),
          container: spec.name,
          image: spec.image ?? status?.image ?? "",
          ...(digest ? { digest } : {}),
        });
      }
    }
    token = page.metadata?._continue || undefined;
  } while (token);
  return containers;
}

export interface ClusterImageRow {
  image: string;
  digest?: string;
  /** Every workload running it ("namespace/Deployment/web"), for "how widespread is this image". */
  workloads: string[];
  /** The clusters it runs in. */
  clusters: string[];
  /** scanned: the store holds this digest; never-scanned: it does not; unknown-digest: not pulled yet. */
  state: "scanned" | "never-scanned" | "unknown-digest";
  outcome?: "pass" | "warn" | "fail";
  findings?: number;
  /**
   * The tag now points at another digest than the one running: asked of the registry (`checkDrift`),
   * or as the store's last registry scan saw the tag (`seen` is when).
   */
  drift?: {
    current?: string;
    seen?: string;
    /** Asked of the registry: the running tag is gone (deleted or never pushed there); no `current`. */
    tagMissing?: true;
  };
}

/** What the service and `--only` filter running images on. */
export type ClusterFlag = "drift" | "never-scanned" | "denied";
export const CLUSTER_FLAGS: readonly ClusterFlag[] = ["drift", "never-scanned", "denied"];

/**
 * What the cluster report reads from the store: a store, or results and sightings already read
 * from one (the registry report, the dashboard's snapshot).
 */
export interface ClusterLookup {
  getImage(digest: string): Promise<
    | {
        result: {
          policy?: { outcome: "pass" | "warn" | "fail" };
          findings?: Pick<Finding, "id" | "aliases">[];
        };
      }
    | undefined
  >;
  sightings(): Promise<Sighting[]>;
}

export interface ClusterReportOptions {
  store?: ClusterLookup;
  /** Only images whose stored findings include this vulnerability id or alias. */
  cve?: string;
  /** Ask each image's registry what its tag points at now. */
  checkDrift?: boolean;
  registry?: RegistryOptions;
  /** Only images with this flag: drifted, never scanned (or not pulled yet), denied by the stored verdict. */
  flag?: ClusterFlag;
}

/**
 * Groups running containers by image digest and joins the store: which workloads run each image,
 * whether it was ever scanned, its stored verdict and findings, and (optionally) registry drift.
 */
export async function clusterImageReport(
  containers: RunningContainer[],
  options: ClusterReportOptions = {},
): Promise<ClusterImageRow[]> {
  const groups = new Map<string, ClusterImageRow>();
  for (const container of containers) {
    const key = `${container.image}\u0000${container.digest ?? ""}`;
    const row = groups.get(key) ?? {
      image: container.image,
      ...(container.digest ? { digest: container.digest } : {}),
      workloads: [],
      clusters: [],
      state: container.digest ? "never-scanned" : "unknown-digest",
    };
    const workload = `${container.namespace}/${container.workload}`;
    if (!row.workloads.includes(workload)) row.workloads.push(workload);
    if (!row.clusters.includes(container.cluster)) row.clusters.push(container.cluster);
    groups.set(key, row);
  }
  const rows = [...groups.values()];
  // The same order whichever way the containers came (live pod list or the store's rows).
  for (const row of rows) {
    row.workloads.sort();
    row.clusters.sort();
  }
  // Nodes report what they pulled: for a multi-arch tag that is the index, while the store keys the
  // platform manifest; registry inventory sightings link the two.
  const platformOf = new Map<string, string>();
  const sightings = options.store ? await options.store.sightings() : [];
  for (const sighting of sightings) {
    if (sighting.indexDigest) platformOf.set(sighting.indexDigest, sighting.digest);
  }
  for (const row of rows) {
    if (!row.digest || !options.store) continue;
    const stored =
      (await options.store.getImage(row.digest)) ??
      (platformOf.has(row.digest) ? await options.store.getImage(platformOf.get(row.digest)!) : undefined);
    if (!stored) continue;
    row.state = "scanned";
    if (stored.result.policy) row.outcome = stored.result.policy.outcome;
    row.findings = stored.result.findings?.length;
    if (options.cve) {
      const id = options.cve.toUpperCase();
      const hit = (stored.result.findings ?? []).some(
        (finding) => finding.id.toUpperCase() === id || finding.aliases.some((alias) => alias.toUpperCase() === id),
      );
      if (!hit) row.workloads = [];
    }
  }
  addStoredDrift(rows, sightings);
  if (options.checkDrift) await addDrift(rows, options.registry);
  const kept = rows.filter(
    (row) => (!options.cve || (row.state === "scanned" && row.workloads.length > 0)) && hasFlag(row, options.flag),
  );
  return kept.sort((a, b) => b.workloads.length - a.workloads.length || a.image.localeCompare(b.image));
}

function hasFlag(row: ClusterImageRow, flag: ClusterFlag | undefined): boolean {
  if (flag === "drift") return row.drift !== undefined;
  if (flag === "never-scanned") return row.state !== "scanned";
  if (flag === "denied") return row.outcome === "fail";
  return true;
}

/** Drift as the store's registry scans last saw each running tag: no registry access. */
function addStoredDrift(rows: ClusterImageRow[], sightings: Sighting[]): void {
  // A multi-arch tag points at an index: running it, or any platform of it, is no drift. (The store may
  // keep only one platform's sighting current, so platforms are linked to their index through all sightings.)
  const current = new Map<string, Sighting[]>();
  const indexOf = new Map<string, string>();
  for (const sighting of sightings) {
    if (sighting.indexDigest) indexOf.set(sighting.digest, sighting.indexDigest);
    if (!sighting.current) continue;
    const key = `${sighting.registry}/${sighting.repository}:${sighting.tag}`;
    current.set(key, [...(current.get(key) ?? []), sighting]);
  }
  if (current.size === 0) return;
  for (const row of rows) {
    if (!row.digest || row.image.includes("@")) continue;
    let key: string;
    try {
      const ref = parseRegistryReference(row.image);
      key = `${ref.registry}/${ref.repository}:${ref.tag ?? "latest"}`;
    } catch {
      continue;
    }
    const seen = current.get(key);
    const index = indexOf.get(row.digest);
    const same = (s: Sighting) =>
      s.digest === row.digest || s.indexDigest === row.digest || (index !== undefined && s.indexDigest === index);
    if (!seen || seen.some(same)) continue;
    row.drift = { current: seen[0]!.indexDigest ?? seen[0]!.digest, seen: seen[0]!.lastSeen };
  }
}

async function addDrift(rows: ClusterImageRow[], registry: RegistryOptions | undefined): Promise<void> {
  const { RegistryClient } = await import("../image/registry/client.js");
  for (const row of rows) {
    if (!row.digest || row.image.includes("@")) continue;
    try {
      const ref = parseRegistryReference(row.image);
      const client = new RegistryClient(ref.registry, { ...registry });
      try {
        const current = await client.findManifest(ref.repository, ref.tag ?? "latest");
        // The registry's answer now replaces what the store last saw.
        if (!current) row.drift = { tagMissing: true };
        else if (current.digest !== row.digest) row.drift = { current: current.digest };
        else delete row.drift;
      } finally {
        client.close();
      }
    } catch {
      // An unreachable registry says nothing about drift; the row simply has none.
    }
  }
}

export interface ClusterScanOptions extends Omit<TargetScanOptions, "runTarget"> {
  /** A running image whose reference cannot be pulled from (reported, the run goes on). */
  onProblem?: (problem: WalkProblem) => void;
}

export interface ClusterScanSummary extends TargetScanSummary {
  problems: WalkProblem[];
}

/** Digests already stored, directly or as a platform of a stored index (registry scan sightings). */
async function storedDigests(store: InventoryStore, digests: string[]): Promise<Set<string>> {
  const indexes = new Set<string>();
  for (const sighting of await store.sightings()) if (sighting.indexDigest) indexes.add(sighting.indexDigest);
  const stored = new Set<string>();
  for (const digest of digests) {
    if (indexes.has(digest) || (await store.getImage(digest))) stored.add(digest);
  }
  return stored;
}

/**
 * Scans every running digest the store does not hold yet: `repo@sha256:...` is pulled from the
 * registry the pod spec names, and stored as `registry scan` stores it (one recorded run, policy
 * verdict, finding changes). No tag sightings are recorded: a node's pull says nothing about where a
 * tag points now. A multi-arch image a node pulled by its index is stored under that index digest.
 */
export async function scanRunningImages(
  containers: RunningContainer[],
  options: ClusterScanOptions,
): Promise<ClusterScanSummary> {
  const byDigest = new Map<string, RunningContainer>();
  for (const container of containers) {
    if (container.digest && !byDigest.has(container.digest)) byDigest.set(container.digest, container);
  }
  const stored = await storedDigests(options.store, [...byDigest.keys()]);
  const targets: ImageTarget[] = [];
  const problems: WalkProblem[] = [];
  for (const [digest, container] of byDigest) {
    if (stored.has(digest)) continue;
    try {
      const ref = parseRegistryReference(container.image);
      targets.push({ registry: ref.registry, repository: ref.repository, digest, tags: [] });
    } catch (error) {
      const problem = {
        what: `${container.image} (${container.namespace}/${container.workload})`,
        message: (error as Error).message,
      };
      problems.push(problem);
      options.onProblem?.(problem);
    }
  }
  const clusters = [...new Set(containers.map((container) => container.cluster))].sort();
  const run = await scanTargets(targets, { ...options, runTarget: `cluster ${clusters.join(",")}` });
  return { ...run, problems };
}

/**
 * The containers the latest `cluster inventory` of each cluster recorded: rows whose last sighting is
 * that run's. What the service answers from, without cluster access.
 */
export async function recordedContainers(store: InventoryStore, cluster?: string): Promise<RunningContainer[]> {
  const rows = (await clusterWorkloads(store)).filter((row) => cluster === undefined || row.cluster === cluster);
  const latest = new Map<string, string>();
  for (const row of rows) {
    const seen = latest.get(row.cluster);
    if (!seen || row.lastSeen > seen) latest.set(row.cluster, row.lastSeen);
  }
  return rows
    .filter((row) => row.lastSeen === latest.get(row.cluster))
    .map((row) => ({
      cluster: row.cluster,
      namespace: row.namespace,
      pod: "",
      workload: row.workload,
      container: row.container,
      image: row.image,
      digest: row.digest,
    }));
}

/** One recorded running container of an image, for "which running workloads are exposed to CVE-X". */
export type RunningWorkload = Omit<ClusterWorkloadRow, "firstSeen" | "lastSeen">;

/** Which containers run an image whose stored findings include `cve`: clusterImageReport's answer, per container. */
export async function exposedWorkloads(
  containers: RunningContainer[],
  store: ClusterLookup,
  cve: string,
): Promise<RunningWorkload[]> {
  const rows = await clusterImageReport(containers, { store, cve });
  const exposed = new Set(rows.map((row) => `${row.image}\u0000${row.digest ?? ""}`));
  return containers
    .filter((container) => container.digest && exposed.has(`${container.image}\u0000${container.digest}`))
    .map((container) => ({
      cluster: container.cluster,
      namespace: container.namespace,
      workload: container.workload,
      container: container.container,
      image: container.image,
      digest: container.digest!,
    }))
    .sort(
      (a, b) =>
        a.cluster.localeCompare(b.cluster) ||
        a.namespace.localeCompare(b.namespace) ||
        a.workload.localeCompare(b.workload) ||
        a.container.localeCompare(b.container) ||
        a.image.localeCompare(b.image),
    );
}

/** Running images by flag, over clusterImageReport's rows (unfiltered) of the recorded containers. */
export interface RunningSummary {
  /** Clusters with a recorded `cluster inventory`. */
  clusters: number;
  containers: number;
  /** Distinct image reference and digest pairs running. */
  images: number;
  /** Scanned, with at least one stored finding. */
  exposed: number;
  drift: number;
  /** Never scanned, or not pulled yet (no digest). */
  neverScanned: number;
  /** The stored policy verdict is fail. */
  denied: number;
}

export function runningSummary(containers: RunningContainer[], rows: ClusterImageRow[]): RunningSummary {
  return {
    clusters: new Set(containers.map((container) => container.cluster)).size,
    containers: containers.length,
    images: rows.length,
    exposed: rows.filter((row) => row.state === "scanned" && (row.findings ?? 0) > 0).length,
    drift: rows.filter((row) => hasFlag(row, "drift")).length,
    neverScanned: rows.filter((row) => hasFlag(row, "never-scanned")).length,
    denied: rows.filter((row) => hasFlag(row, "denied")).length,
  };
}

/** "How widespread is this image": every tag, repository, cluster, namespace and workload of a digest. */
export interface ImageSpread {
  digest: string;
  /** The platform manifests of this index, or the index this platform manifest belongs to. */
  related: string[];
  scanned: boolean;
  outcome?: "pass" | "warn" | "fail";
  findings?: number;
  tags: { registry: string; repository: string; tag: string; current: boolean; lastSeen: string }[];
  repositories: string[];
  clusters: string[];
  /** "cluster/namespace" */
  namespaces: string[];
  workloads: {
    cluster: string;
    namespace: string;
    workload: string;
    container: string;
    image: string;
    lastSeen: string;
    /** Seen by the latest inventory of its cluster. */
    running: boolean;
  }[];
}

export async function imageSpread(store: InventoryStore, digest: string): Promise<ImageSpread> {
  const sightings = (await store.sightings()).filter((s) => s.digest === digest || s.indexDigest === digest);
  const related = new Set<string>();
  for (const sighting of sightings) {
    for (const other of [sighting.digest, sighting.indexDigest]) if (other && other !== digest) related.add(other);
  }
  const latest = new Map<string, string>();
  for (const row of await clusterWorkloads(store)) {
    if ((latest.get(row.cluster) ?? "") < row.lastSeen) latest.set(row.cluster, row.lastSeen);
  }
  const rows = [];
  for (const candidate of [digest, ...related]) rows.push(...(await clusterWorkloads(store, candidate)));
  const stored = (await store.getImage(digest)) ?? (await firstStored(store, [...related]));
  const repositories = new Set(sightings.map((s) => `${s.registry}/${s.repository}`));
  for (const row of rows) {
    try {
      const ref = parseRegistryReference(row.image);
      repositories.add(`${ref.registry}/${ref.repository}`);
    } catch {
      // An unparsable pod image names no repository.
    }
  }
  const tagKeys = new Set<string>();
  const tags = sightings
    .filter((s) => {
      const key = `${s.registry}/${s.repository}:${s.tag}`;
      if (tagKeys.has(key)) return false;
      tagKeys.add(key);
      return true;
    })
    .map((s) => ({
      registry: s.registry,
      repository: s.repository,
      tag: s.tag,
      current: s.current,
      lastSeen: s.lastSeen,
    }));
  return {
    digest,
    related: [...related].sort(),
    scanned: stored !== undefined,
    ...(stored?.result.policy ? { outcome: stored.result.policy.outcome } : {}),
    ...(stored?.result.findings ? { findings: stored.result.findings.length } : {}),
    tags,
    repositories: [...repositories].sort(),
    clusters: [...new Set(rows.map((row) => row.cluster))].sort(),
    namespaces: [...new Set(rows.map((row) => `${row.cluster}/${row.namespace}`))].sort(),
    workloads: rows.map((row) => ({
      cluster: row.cluster,
      namespace: row.namespace,
      workload: row.workload,
      container: row.container,
      image: row.image,
      lastSeen: row.lastSeen,
      running: latest.get(row.cluster) === row.lastSeen,
    })),
  };
}

async function firstStored(store: InventoryStore, digests: string[]) {
  for (const digest of digests) {
    const image = await store.getImage(digest);
    if (image) return image;
  }
  return undefined;
}
