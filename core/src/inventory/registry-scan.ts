import { randomUUID } from "node:crypto";
import path from "node:path";
import { RegistryClient, type RegistryClientOptions } from "../image/registry/client.js";
import { openRegistryImage } from "../image/registry/image.js";
import type { Platform, ResolveOptions } from "../image/types.js";
import { imageConfigFacts } from "../policy/image-config.js";
import { resolveDefaults } from "../request.js";
import type { ScanResult } from "../result.js";
import { assessInventory, scanImage, type ScanOptions } from "../scan.js";
import type { FindingChange, InventoryStore, RunSummary } from "../store/types.js";
import { openDatabase } from "../vulndb/store/reader.js";
import type { VulnerabilityStore } from "../vulndb/types.js";
import { mapLimit } from "./pool.js";
import { recordResult, storableConfig } from "./record.js";
import { walkRegistry, type ImageTarget, type WalkProblem } from "./walk.js";

export type ImageOutcome = "scanned" | "rematched" | "skipped" | "failed";

/** One line of progress: an image finished (whatever the outcome). */
export interface ImageEvent {
  /** 1-based position among `total`. */
  position: number;
  total: number;
  target: ImageTarget;
  outcome: ImageOutcome;
  /** The scan result, given to `onImage` only (the summary keeps `verdict`; the store keeps the result). */
  result?: ScanResult;
  verdict?: "pass" | "warn" | "fail";
  changes?: FindingChange[];
  /** Why it was skipped or failed. */
  message?: string;
}

export interface RegistryScanOptions extends Omit<ScanOptions, "platform" | "baseline"> {
  store: InventoryStore;
  /** The registry host (`registry.example.com`, `127.0.0.1:5000`, `docker.io`); credentials go in `registry`. */
  host: string;
  /** Repository prefix; a full repository name for registries without a catalog (Docker Hub). */
  prefix?: string;
  /** Glob over tag names. */
  tags?: string;
  /** Only images whose config says they were created this many milliseconds before `now` or later. */
  sinceMs?: number;
  /** At most this many unique images are scanned (in repository, tag order). */
  maxImages?: number;
  /** Images in flight at once (default 2). */
  jobs?: number;
  /** Only this platform of multi-arch images (default: all platforms). */
  platform?: Platform;
  /** Pull and inventory again even when the digest is stored (default: re-match the stored inventory). */
  reinventory?: boolean;
  /** Registry client knobs (page size, retry policy, timeouts). */
  client?: Omit<RegistryClientOptions, keyof NonNullable<ResolveOptions["registry"]>>;
  onImage?: (event: ImageEvent) => void;
  onProblem?: (problem: WalkProblem) => void;
}

export interface RegistryScanSummary {
  runId: string;
  registry: string;
  repositories: string[];
  images: ImageEvent[];
  problems: WalkProblem[];
  changes: FindingChange[];
  summary: RunSummary;
}

/** At most this long of finished work is lost when a scan is interrupted. */
const FLUSH_EVERY_MS = 5_000;

export function newRunId(kind: string, now: Date): string {
  return `${kind}-${now.toISOString().replace(/[:.]/g, "")}-${randomUUID().slice(0, 8)}`;
}

/**
 * `registry scan`: walks the registry, then for each unique image digest pulls and inventories
 * it (or, when the store already holds its inventory, re-matches that), matches, applies the
 * policy and stores the result with where it was seen. A failing image is reported and skipped.
 */
export async function scanRegistry(options: RegistryScanOptions): Promise<RegistryScanSummary> {
  const client = new RegistryClient(options.host, { ...options.registry, ...options.client });
  try {
    const walk = await walkRegistry(client, {
      ...(options.prefix ? { prefix: options.prefix } : {}),
      ...(options.tags ? { tags: options.tags } : {}),
      ...(options.platform ? { platform: options.platform } : {}),
      ...(options.onProblem ? { onProblem: options.onProblem } : {}),
    });
    const targets = options.maxImages !== undefined ? walk.images.slice(0, options.maxImages) : walk.images;
    const run = await scanTargets(targets, {
      ...options,
      runTarget: `${client.host}${options.prefix ? `/${options.prefix}` : ""}`,
    });
    return { ...run, registry: client.host, repositories: walk.repositories, problems: walk.problems };
  } finally {
    client.close();
  }
}

export interface TargetScanOptions extends Omit<
  RegistryScanOptions,
  "host" | "prefix" | "tags" | "sinceMs" | "maxImages" | "platform" | "onProblem"
> {
  /** What the run is recorded as pointed at: `registry[/prefix]`, `cluster NAME`. */
  runTarget: string;
  /** Only for `registry scan`: images created before this are skipped. */
  sinceMs?: number;
}

export type TargetScanSummary = Omit<RegistryScanSummary, "registry" | "repositories" | "problems">;

/**
 * Scans known image targets as one recorded run, exactly as `registry scan` does after its walk:
 * each digest pulled and inventoried (or its stored inventory re-matched), matched, judged by the
 * policy and stored with its tag sightings; `jobs` at once; a failing image is reported and the run
 * goes on. `cluster inventory` hands it the running digests the store does not hold.
 */
export async function scanTargets(targets: ImageTarget[], options: TargetScanOptions): Promise<TargetScanSummary> {
  const { store } = options;
  const { now: started, cacheDir } = resolveDefaults(options);
  const runId = newRunId("scan", started);
  const database: VulnerabilityStore | undefined =
    typeof options.database === "string" ? await openDatabase(options.database) : options.database;
  const scanOptions: ScanOptions = {
    ...options,
    ...(database ? { database } : {}),
    cacheDir,
    ...(options.tempDir || cacheDir === false ? {} : { tempDir: path.join(cacheDir, "tmp") }),
    now: started,
  };
  delete scanOptions.platform;
  try {
    await store.startRun({
      id: runId,
      kind: "scan",
      target: options.runTarget,
      startedAt: started.toISOString(),
      ...(database ? { dbBuiltAt: database.metadata().builtAt } : {}),
    });
    const now = started.toISOString();
    let done = 0;
    let lastFlush = Date.now();
    const events = await mapLimit(targets, options.jobs ?? 2, async (image): Promise<ImageEvent> => {
      let event: Omit<ImageEvent, "position" | "total">;
      try {
        event = await scanOne(image, store, runId, now, scanOptions, options);
        if (event.outcome !== "skipped") {
          for (const sighting of image.tags) {
            await store.recordSighting(
              {
                registry: image.registry,
                repository: sighting.repository,
                tag: sighting.tag,
                digest: image.digest,
                ...(sighting.indexDigest ? { indexDigest: sighting.indexDigest } : {}),
              },
              now,
            );
          }
        }
        // Finished images are made durable every few seconds, so an interrupted run keeps what it did.
        // Not after every image: a flush is a commit that syncs the disk (and with sql.js, before,
        // a rewrite of the whole file, which made a scan of a few hundred images quadratic).
        if (Date.now() - lastFlush >= FLUSH_EVERY_MS) {
          lastFlush = Date.now();
          await store.flush();
        }
      } catch (error) {
        event = { target: image, outcome: "failed", message: (error as Error).message };
      }
      const full: ImageEvent = { ...event, position: ++done, total: targets.length };
      options.onImage?.(full);
      // Bounded memory over thousands of images: the full result is in the store, the run keeps its verdict.
      const { result, ...kept } = full;
      return { ...kept, ...(result?.policy ? { verdict: result.policy.outcome } : {}) };
    });
    const changes = events.flatMap((event) => event.changes ?? []);
    const summary: RunSummary = {
      images: events.filter((event) => event.outcome === "scanned" || event.outcome === "rematched").length,
      failed: events.filter((event) => event.outcome === "failed").length,
      newFindings: changes.filter((change) => change.kind === "new").length,
      fixedFindings: changes.filter((change) => change.kind === "fixed").length,
      newlyFixable: changes.filter((change) => change.kind === "newly-fixable").length,
    };
    await store.finishRun(runId, new Date().toISOString(), summary);
    await store.flush();
    return { runId, images: events, changes, summary };
  } finally {
    if (database && typeof options.database === "string") await database.close();
  }
}

async function scanOne(
  target: ImageTarget,
  store: InventoryStore,
  runId: string,
  now: string,
  scanOptions: ScanOptions,
  options: TargetScanOptions,
): Promise<Omit<ImageEvent, "position" | "total">> {
  const previous = await store.getImage(target.digest);
  if (previous && !options.reinventory) {
    // The inventory of a digest never changes: match it again instead of pulling any layer.
    const result = await assessInventory(previous.result, {
      ...scanOptions,
      ...(previous.imageConfig ? { imageConfig: previous.imageConfig } : {}),
    });
    const changes = await recordResult(store, runId, target.digest, result, previous, now);
    return { target, outcome: "rematched", result, changes };
  }
  const image = await openRegistryImage(
    { registry: target.registry, repository: target.repository, digest: target.digest },
    {
      reference: `${target.registry}/${target.repository}@${target.digest}`,
      ...(options.registry ? { registry: options.registry } : {}),
      ...(options.client ? { client: options.client } : {}),
    },
  );
  try {
    if (options.sinceMs !== undefined) {
      const created = Date.parse(image.config.created ?? "");
      const cutoff = Date.parse(now) - options.sinceMs;
      if (!Number.isFinite(created) || created < cutoff) {
        return {
          target,
          outcome: "skipped",
          message: Number.isFinite(created) ? "created before --since" : "no creation time in its config (--since)",
        };
      }
    }
    const result = await scanImage(image, scanOptions);
    const config = storableConfig(imageConfigFacts(image.config));
    const changes = await recordResult(store, runId, target.digest, result, previous, now, config);
    return { target, outcome: "scanned", result, changes };
  } finally {
    await image.close();
  }
}
