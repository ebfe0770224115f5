import { parseRegistryReference } from "../image/reference.js";
import type { RegistryOptions } from "../image/types.js";
import type { InventoryStore } from "../store/types.js";
import { StowawayError } from "../errors.js";

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
  /** scanned: the store holds this digest; never-scanned: it does not; unknown-digest: not pulled yet. */
  state: "scanned" | "never-scanned" | "unknown-digest";
  outcome?: "pass" | "warn" | "fail";
  findings?: number;
  /** The tag now points at another digest on the registry than the one running. */
  drift?: { current: string };
}

export interface ClusterReportOptions {
  store?: InventoryStore;
  /** Only images whose stored findings include this vulnerability id or alias. */
  cve?: string;
  /** Ask each image's registry what its tag points at now. */
  checkDrift?: boolean;
  registry?: RegistryOptions;
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
      state: container.digest ? "never-scanned" : "unknown-digest",
    };
    const workload = `${container.namespace}/${container.workload}`;
    if (!row.workloads.includes(workload)) row.workloads.push(workload);
    groups.set(key, row);
  }
  const rows = [...groups.values()];
  // Nodes report what they pulled: for a multi-arch tag that is the index, while the store keys the
  // platform manifest; registry inventory sightings link the two.
  const platformOf = new Map<string, string>();
  for (const sighting of options.store ? await options.store.sightings() : []) {
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
  if (options.checkDrift) await addDrift(rows, options.registry);
  const kept = options.cve ? rows.filter((row) => row.state === "scanned" && row.workloads.length > 0) : rows;
  return kept.sort((a, b) => b.workloads.length - a.workloads.length || a.image.localeCompare(b.image));
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
        if (current && current.digest !== row.digest) row.drift = { current: current.digest };
      } finally {
        client.close();
      }
    } catch {
      // An unreachable registry says nothing about drift; the row simply has none.
    }
  }
}
