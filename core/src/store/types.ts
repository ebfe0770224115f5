import type { ImageConfigFacts } from "../policy/image-config.js";
import type { Finding, PolicyVerdict, ScanResult } from "../result.js";

/** One stored image, keyed by its (platform) manifest digest. */
export interface StoredImage {
  digest: string;
  /** The scan result: inventory (artifact + packages) and, once matched, findings and verdict. */
  result: ScanResult;
  /** Config facts the policy reads, environment values left out (they are often secrets). */
  imageConfig?: ImageConfigFacts;
  /** `builtAt` of the vulnerability database that produced `result.findings`. */
  dbBuiltAt?: string;
  firstScanned: string;
  lastMatched: string;
}

/** Where a digest was seen: one row per registry, repository, tag and digest. */
export interface Sighting {
  registry: string;
  repository: string;
  tag: string;
  digest: string;
  /** The index the tag points to when `digest` is one platform of it. */
  indexDigest?: string;
  firstSeen: string;
  lastSeen: string;
  /** The tag pointed at this digest when last listed (a moved tag keeps its old rows, not current). */
  current: boolean;
}

export type ChangeKind = "new" | "fixed" | "newly-fixable";

export interface FindingChange {
  runId: string;
  digest: string;
  kind: ChangeKind;
  findingId: string;
  vulnerabilityId: string;
  severity: string;
  packageName: string;
  installedVersion: string;
  fixedVersion?: string;
}

export interface RunRecord {
  id: string;
  kind: "scan" | "rescan";
  startedAt: string;
  finishedAt?: string;
  /** What the run was pointed at (registry[/prefix]), or "" for a rescan of everything. */
  target: string;
  dbBuiltAt?: string;
  summary?: RunSummary;
}

export interface RunSummary {
  images: number;
  failed: number;
  newFindings: number;
  fixedFindings: number;
  newlyFixable: number;
}

/**
 * Results by manifest digest: what `registry scan` writes and `rescan` / `report` read. SQLite
 * (one file, node:sqlite or SQLite in WebAssembly) and PostgreSQL implement it with the same schema and migrations.
 */
export interface InventoryStore {
  /** "sqlite:/path" or "postgres://host/db" (no password), for messages. */
  readonly location: string;
  getImage(digest: string): Promise<StoredImage | undefined>;
  putImage(image: StoredImage, verdict?: PolicyVerdict): Promise<void>;
  listImages(): Promise<StoredImage[]>;
  /** Every stored digest, sorted: lets a rescan load one image at a time (bounded memory). */
  digests(): Promise<string[]>;
  /** Records that `registry/repository:tag` points at `digest` now; earlier digests of the tag stop being current. */
  recordSighting(sighting: Omit<Sighting, "firstSeen" | "lastSeen" | "current">, seenAt: string): Promise<void>;
  sightings(): Promise<Sighting[]>;
  startRun(run: RunRecord): Promise<void>;
  finishRun(id: string, finishedAt: string, summary: RunSummary): Promise<void>;
  /** Runs, newest first. */
  runs(): Promise<RunRecord[]>;
  recordChanges(changes: FindingChange[]): Promise<void>;
  changes(runId: string): Promise<FindingChange[]>;
  /** Makes everything written so far durable (SQLite commits its open batch of writes). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Findings present now and not before, gone now, or fixable now and not before. */
export function diffFindings(
  before: Finding[] | undefined,
  after: Finding[],
): { kind: ChangeKind; finding: Finding }[] {
  const previous = new Map((before ?? []).map((finding) => [finding.findingId, finding]));
  const current = new Map(after.map((finding) => [finding.findingId, finding]));
  const changes: { kind: ChangeKind; finding: Finding }[] = [];
  for (const finding of after) {
    const old = previous.get(finding.findingId);
    if (!old) changes.push({ kind: "new", finding });
    else if (!old.fixedVersion && finding.fixedVersion) changes.push({ kind: "newly-fixable", finding });
  }
  for (const finding of before ?? []) {
    if (!current.has(finding.findingId)) changes.push({ kind: "fixed", finding });
  }
  return changes;
}
