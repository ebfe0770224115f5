import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { refreshDatabase } from "../ci/database.js";
import { StowawayError } from "../errors.js";
import { baseEcosystem } from "../versions/index.js";
import { normalizeEcosystem } from "../vulndb/normalize.js";
import { rememberEcosystems } from "../vulndb/recent.js";
import { parseTarget } from "../image/reference.js";
import type { RegistryOptions } from "../image/types.js";
import { recordResult } from "../inventory/record.js";
import { newRunId, scanRegistry } from "../inventory/registry-scan.js";
import { rescanStore } from "../inventory/rescan.js";
import type { Policy } from "../policy/types.js";
import { scan } from "../scan.js";
import type { ServiceStore } from "../store/service-state.js";
import { SEVERITY_ORDER } from "../vulndb/osv.js";
import type { JobHandler, QueuedJob, RegistryScanJobPayload, ScanJobPayload } from "./types.js";

export interface JobRunnerOptions {
  store: ServiceStore;
  /** The vulnerability database directory every job matches against. */
  database: string;
  /** The central policy; without one results carry no verdict. */
  policy?: Policy;
  cacheDir?: string | false;
  /** Registry access shared by every job (credentials from the worker's environment or config.json). */
  registry?: RegistryOptions;
  /**
   * Keep `database` fresh: before a job, when it was built longer ago than `maxAgeMs` or lacks a
   * feed the scanned image needs (checked at most once a minute per feed set, one download at a
   * time), it is updated as `db update` does; a failed update keeps the copy on disk with a warning.
   * Without this the database is used as it is.
   */
  databaseRefresh?: { maxAgeMs: number; mirrors?: string[]; env?: NodeJS.ProcessEnv; log?: (line: string) => void };
  now?: () => Date;
}

/**
 * What each job kind does: one call into core. A scan stores its result by manifest digest; a
 * registry job runs `registry scan` for a stored registry; a rescan re-matches every stored inventory.
 */
export function createJobRunner(options: JobRunnerOptions): JobHandler {
  const now = options.now ?? (() => new Date());
  // Which feed sets were checked when: the same set is checked at most once a minute.
  const checked = new Map<string, number>();
  let refreshing: Promise<void> = Promise.resolve();
  const ensureFresh = (ecosystems: string[] = []): Promise<void> => {
    const refresh = options.databaseRefresh;
    if (!refresh) return Promise.resolve();
    const key = [...new Set(ecosystems)].sort().join(",");
    // One download at a time: a second job waits for the first one's update, then checks its own feeds.
    refreshing = refreshing.then(async () => {
      if (Date.now() - (checked.get(key) ?? 0) < 60_000) return;
      const step = await refreshDatabase({
        dbDir: options.database,
        freshForMs: refresh.maxAgeMs,
        ecosystems,
        ...(refresh.mirrors?.length ? { mirrors: refresh.mirrors } : {}),
        ...(refresh.env ? { env: refresh.env } : {}),
        now: now(),
      });
      for (const line of [...step.notices, ...step.warnings]) refresh.log?.(line);
      checked.set(key, Date.now());
      // Later refreshes (rescans, other images) keep these feeds.
      if (ecosystems.length > 0) await rememberEcosystems(options.database, ecosystems, now()).catch(() => undefined);
    });
    return refreshing;
  };
  return async (job: QueuedJob) => {
    switch (job.kind) {
      case "scan":
        return runScan(job.payload as ScanJobPayload, options, now(), ensureFresh);
      case "registry-scan":
        await ensureFresh();
        return runRegistryScan(job.payload as RegistryScanJobPayload, options, now());
      case "rescan": {
        await ensureFresh();
        const { runId, summary } = await rescanStore({
          store: options.store,
          database: options.database,
          now: now(),
          ...(options.policy ? { policy: options.policy } : {}),
          keepChanges: false,
        });
        return { runId, summary };
      }
      default:
        throw new StowawayError(`unknown job kind "${String(job.kind)}"`);
    }
  };
}

async function runScan(
  payload: ScanJobPayload,
  options: JobRunnerOptions,
  started: Date,
  ensureFresh: (ecosystems?: string[]) => Promise<void>,
): Promise<Record<string, unknown>> {
  const { store } = options;
  let sbomDir: string | undefined;
  try {
    let target: string;
    if (payload.sbom !== undefined) {
      sbomDir = await mkdtemp(path.join(os.tmpdir(), "stowaway-sbom-"));
      const file = path.join(sbomDir, "upload.json");
      await writeFile(file, payload.sbom);
      target = `sbom:${file}`;
    } else if (payload.reference) {
      target = payload.reference;
    } else {
      throw new StowawayError("scan job has neither an image reference nor an SBOM");
    }
    const registry: RegistryOptions = { ...options.registry, ...(payload.insecure ? { insecure: true } : {}) };
    if (options.databaseRefresh) {
      // As the CI database step does: an inventory-only pass names the feeds this image needs (its
      // layers land in the layer cache, so the scan below reads them back), then the database is
      // brought up to date for them.
      const inventory = await scan(target, {
        now: started,
        registry,
        ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
      });
      await ensureFresh(
        inventory.packages
          .map((pkg) => pkg.ecosystem)
          .filter((ecosystem): ecosystem is string => Boolean(ecosystem?.trim()))
          .map((ecosystem) => baseEcosystem(normalizeEcosystem(ecosystem))),
      );
    }
    const result = await scan(target, {
      database: options.database,
      now: started,
      registry,
      ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
      ...(options.policy ? { policy: options.policy } : {}),
    });
    // An SBOM names no manifest: its results are kept under the digest of the uploaded document.
    const digest =
      result.artifact.manifestDigest ||
      `sha256:${createHash("sha256")
        .update(payload.sbom ?? "")
        .digest("hex")}`;
    if (payload.sbom !== undefined) result.artifact = { ...result.artifact, reference: "sbom:upload" };
    const runId = newRunId("scan", started);
    await store.startRun({
      id: runId,
      kind: "scan",
      target: result.artifact.reference,
      startedAt: started.toISOString(),
    });
    const previous = await store.getImage(digest);
    const changes = await recordResult(store, runId, digest, result, previous, started.toISOString());
    const parsed = payload.reference ? parseTarget(payload.reference) : undefined;
    if (parsed?.kind === "registry" && parsed.ref.tag) {
      await store.recordSighting(
        { registry: parsed.ref.registry, repository: parsed.ref.repository, tag: parsed.ref.tag, digest },
        started.toISOString(),
      );
    }
    await store.finishRun(runId, new Date().toISOString(), {
      images: 1,
      failed: 0,
      newFindings: changes.filter((change) => change.kind === "new").length,
      fixedFindings: changes.filter((change) => change.kind === "fixed").length,
      newlyFixable: changes.filter((change) => change.kind === "newly-fixable").length,
    });
    await store.flush();
    const counts: Record<string, number> = Object.fromEntries(SEVERITY_ORDER.map((severity) => [severity, 0]));
    for (const finding of result.findings ?? []) counts[finding.severity] = (counts[finding.severity] ?? 0) + 1;
    return {
      digest,
      runId,
      reference: result.artifact.reference,
      // No verdict without a central policy: the caller applies its own gate to the counts or result.
      ...(result.policy ? { verdict: result.policy.outcome } : {}),
      checked: result.findings !== undefined,
      counts,
    };
  } finally {
    if (sbomDir) await rm(sbomDir, { recursive: true, force: true });
  }
}

async function runRegistryScan(
  payload: RegistryScanJobPayload,
  options: JobRunnerOptions,
  started: Date,
): Promise<Record<string, unknown>> {
  const registry = await options.store.getRegistry(payload.registryId);
  if (!registry) throw new StowawayError(`registry "${payload.registryId}" is not configured (it was deleted?)`);
  const summary = await scanRegistry({
    store: options.store,
    host: registry.host,
    database: options.database,
    now: started,
    registry: { ...options.registry, ...(registry.insecure ? { insecure: true } : {}) },
    ...(registry.prefix ? { prefix: registry.prefix } : {}),
    ...(registry.tags ? { tags: registry.tags } : {}),
    ...(registry.maxImages ? { maxImages: registry.maxImages } : {}),
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
    ...(options.policy ? { policy: options.policy } : {}),
  });
  // Nothing listed and something went wrong (registry down, auth refused): the attempt failed and is retried.
  const problem = summary.problems[0];
  if (summary.images.length === 0 && problem) {
    throw new StowawayError(`registry ${registry.host}: ${problem.what}: ${problem.message}`);
  }
  return {
    runId: summary.runId,
    registry: summary.registry,
    repositories: summary.repositories.length,
    summary: summary.summary,
    problems: summary.problems.length,
  };
}
