import { createHash } from "node:crypto";
import { StowawayError } from "../errors.js";
import type { ImageConfigFacts } from "../policy/image-config.js";
import type { Finding, PolicyVerdict, ScanResult } from "../result.js";
import { SEVERITY_ORDER, type Severity } from "../vulndb/osv.js";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations.js";
import type {
  ChangeKind,
  FindingChange,
  InventoryStore,
  RunRecord,
  RunSummary,
  Sighting,
  StoredImage,
} from "./types.js";

export type Row = Record<string, unknown>;

/** What each database offers the shared store: `?` placeholders, rows as plain objects. */
export interface SqlDriver {
  readonly location: string;
  /** Which SQL the few statements that differ between the databases are written in. */
  readonly dialect: "sqlite" | "postgres";
  run(sql: string, params?: unknown[]): Promise<void>;
  all(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs `body` atomically (one transaction on one connection). */
  transaction<T>(body: (tx: Pick<SqlDriver, "run" | "all">) => Promise<T>): Promise<T>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

const text = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value);

function worstSeverity(result: ScanResult): Severity | undefined {
  let worst: Severity | undefined;
  for (const finding of result.findings ?? []) {
    if (worst === undefined || SEVERITY_ORDER.indexOf(finding.severity) > SEVERITY_ORDER.indexOf(worst)) {
      worst = finding.severity;
    }
  }
  return worst;
}

function parseJson<T>(value: unknown, what: string, location: string): T {
  try {
    return JSON.parse(String(value)) as T;
  } catch {
    throw new StowawayError(
      `store ${location}: ${what} is not valid JSON; the store is damaged, rescan into a new one`,
    );
  }
}

/** A finding's place in one image; the rest of it is a shared detail row. */
type FindingRef = [detailId: string, packageId: string, layerIndex: number, findingId?: string];

interface Detail {
  id: string;
  body: string;
  /** The finding the body was made from: a later finding with the same fields reuses it unhashed. */
  source: Finding;
}

const PLACE_FIELDS = new Set(["findingId", "packageId", "layerIndex"]);

/**
 * Details by the finding's `match` object: findings a MatchMemo hands out for the same package in
 * many images are copies sharing that object, so each distinct detail is serialised and hashed once
 * per run rather than once per image. A hit is checked field by field (same keys, same values or the
 * very same nested objects) before it is trusted.
 */
const detailsByMatch = new WeakMap<object, Detail>();

function sameDetail(a: Finding, b: Finding): boolean {
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  for (let i = 0; i < keysA.length; i++) {
    const key = keysA[i]!;
    if (key !== keysB[i]) return false;
    if (PLACE_FIELDS.has(key)) continue;
    if ((a as unknown as Row)[key] !== (b as unknown as Row)[key]) return false;
  }
  return true;
}

function detailOf(finding: Finding): Detail {
  const match = finding.match as object | undefined;
  const cached = match ? detailsByMatch.get(match) : undefined;
  if (cached && sameDetail(cached.source, finding)) return cached;
  // The place fields keep their position (blank) so a read-back finding has the same key order.
  const body = JSON.stringify({ ...finding, findingId: "", packageId: "", layerIndex: 0 });
  const detail = { id: createHash("sha256").update(body).digest("base64url").slice(0, 24), body, source: finding };
  if (match && typeof match === "object") detailsByMatch.set(match, detail);
  return detail;
}

/** Parsed finding details kept in memory across reads (each a few hundred bytes to a few KB). */
const DETAIL_CACHE = 100_000;

/**
 * Whether `next` (a result about to be stored) has the same document, findings aside, as `read`
 * (the one read last for that digest): the large parts a re-match carries over untouched (packages,
 * artifact) compare by reference, the rest by value. Saves serialising the inventory of every image
 * a rescan leaves unchanged. Callers do not edit what getImage returned in place.
 */
function sameInventory(read: ScanResult | undefined, next: ScanResult): boolean {
  if (!read) return false;
  const keysRead = Object.keys(read);
  const keysNext = Object.keys(next);
  if (keysRead.length !== keysNext.length) return false;
  for (let i = 0; i < keysRead.length; i++) {
    const key = keysRead[i]! as keyof ScanResult;
    if (key !== keysNext[i]) return false;
    if (key === "findings") {
      if ((read.findings === undefined) !== (next.findings === undefined)) return false;
      continue;
    }
    if (read[key] === next[key]) continue;
    if (key === "packages" || key === "artifact") return false;
    if (JSON.stringify(read[key]) !== JSON.stringify(next[key])) return false;
  }
  return true;
}

/**
 * An unreferenced finding detail is deleted only once it has stayed unreferenced this long: a writer
 * (another process, or this one's `storedDetails`) may have stored or trusted it moments ago for an
 * image it has not written yet. Far longer than STORED_DETAILS_TTL_MS.
 */
export const ORPHANED_DETAIL_GRACE_MS = 24 * 60 * 60 * 1000;
/** `storedDetails` is trusted this long; then a put stores its details again (a no-op when present). */
const STORED_DETAILS_TTL_MS = 60 * 60 * 1000;

/** The detail ids images reference (`findings` is `[[detail id, ...], ...]`), one query per dialect. */
function referencedDetailIds(dialect: SqlDriver["dialect"]): string {
  return dialect === "postgres"
    ? "SELECT DISTINCT r.value ->> 0 FROM images i, jsonb_array_elements(i.findings::jsonb) r WHERE i.findings IS NOT NULL"
    : "SELECT DISTINCT json_extract(r.value, '$[0]') FROM images i, json_each(i.findings) r WHERE i.findings IS NOT NULL";
}

/** Rows per multi-row INSERT: few statements, far below either database's limit on parameters. */
const INSERT_CHUNK = 200;

function valuesList(rows: number, columns: number): string {
  const row = `(${Array.from({ length: columns }, () => "?").join(", ")})`;
  return Array.from({ length: rows }, () => row).join(", ");
}

/** Applies the migrations the store has not seen yet, each in its own transaction. */
export async function migrate(driver: SqlDriver): Promise<void> {
  await driver.run(
    "CREATE TABLE IF NOT EXISTS stowaway_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)",
  );
  const rows = await driver.all("SELECT MAX(version) AS version FROM stowaway_migrations");
  const current = Number(rows[0]?.["version"] ?? 0);
  if (current > SCHEMA_VERSION) {
    throw new StowawayError(
      `store ${driver.location} has schema version ${current}, newer than this Stowaway knows (${SCHEMA_VERSION}); upgrade Stowaway`,
    );
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    await driver.transaction(async (tx) => {
      // Checked again under the transaction's lock: another process may have applied it meanwhile.
      const applied = await tx.all("SELECT version FROM stowaway_migrations WHERE version = ?", [migration.version]);
      if (applied.length > 0) return;
      for (const statement of migration.statements) await tx.run(statement);
      await tx.run("INSERT INTO stowaway_migrations (version, description, applied_at) VALUES (?, ?, ?)", [
        migration.version,
        migration.description,
        new Date().toISOString(),
      ]);
    });
  }
  await driver.flush();
}

/** The InventoryStore over any SqlDriver: the one place the schema is read and written. */
export class SqlStore implements InventoryStore {
  /**
   * The stored JSON of the image read last, so writing back an unchanged result (a rescan against the
   * same database, the common case for most images) only touches its timestamps instead of
   * rewriting a document of tens of KB. One entry: memory stays bounded over any number of images.
   */
  private lastRead:
    | { digest: string; result: string; parsed: ScanResult; findings: string | null; imageConfig: string | null }
    | undefined;
  /**
   * Detail ids this store inserted lately (bounded, and forgotten after STORED_DETAILS_TTL_MS), so a
   * put inserts only details the store lacks. Only inserts count: an insert clears the detail's
   * orphan mark, which is what keeps a garbage collection from deleting what this set vouches for.
   */
  private readonly storedDetails = new Set<string>();
  private storedDetailsSince = Date.now();
  /** A put replaced some image's findings since the last collectFindingDetails(): details may be orphaned. */
  private findingsReplaced = false;
  /** Parsed detail bodies by id (bounded, oldest dropped first), shared by every image read. */
  private readonly detailBodies = new Map<string, Record<string, unknown>>();

  /** Read by the table helpers that live beside this class (cluster.ts) and by the service store. */
  constructor(readonly driver: SqlDriver) {}

  get location(): string {
    return this.driver.location;
  }

  async getImage(digest: string): Promise<StoredImage | undefined> {
    const rows = await this.driver.all("SELECT * FROM images WHERE digest = ?", [digest]);
    const row = rows[0];
    if (!row) {
      this.lastRead = undefined;
      return undefined;
    }
    const image = (await this.toImages([row]))[0]!;
    // Set once the image is complete: with concurrent callers (registry scan --jobs) another
    // operation may have run meanwhile; the entry is only trusted for the same digest.
    this.lastRead = {
      digest,
      result: String(row["result"]),
      parsed: image.result,
      findings: text(row["findings"]) ?? null,
      imageConfig: text(row["image_config"]) ?? null,
    };
    return image;
  }

  async putImage(image: StoredImage, verdict?: PolicyVerdict): Promise<void> {
    // The findings go apart: references per image, details shared (migration 4).
    // `findings` stays in `result` as an empty placeholder, so the document reads back in its key order.
    const resultFindings = image.result.findings;
    const previous = this.lastRead;
    this.lastRead = undefined;
    const result =
      // (A row from before migration 4 holds its findings inside `result`: it is written anew.)
      previous?.digest === image.digest &&
      (previous.findings !== null || previous.parsed.findings === undefined) &&
      sameInventory(previous.parsed, image.result)
        ? previous.result
        : JSON.stringify(resultFindings ? { ...image.result, findings: [] } : image.result);
    let findings: string | null = null;
    const details: Detail[] = [];
    if (resultFindings) {
      const refs: FindingRef[] = [];
      for (const finding of resultFindings) {
        const detail = detailOf(finding);
        if (Date.now() - this.storedDetailsSince > STORED_DETAILS_TTL_MS) {
          this.storedDetails.clear();
          this.storedDetailsSince = Date.now();
        }
        if (!this.storedDetails.has(detail.id)) details.push(detail);
        const findingId = `${finding.packageId}/${finding.id}`;
        refs.push(
          finding.findingId === findingId
            ? [detail.id, finding.packageId, finding.layerIndex]
            : [detail.id, finding.packageId, finding.layerIndex, finding.findingId],
        );
      }
      findings = JSON.stringify(refs);
    }
    const imageConfig = image.imageConfig ? JSON.stringify(image.imageConfig) : null;
    if (
      previous?.digest === image.digest &&
      previous.result === result &&
      previous.findings === findings &&
      previous.imageConfig === imageConfig &&
      (verdict === undefined || verdict === image.result.policy)
    ) {
      // Same document: verdict and worst severity, which derive from it, are unchanged too.
      await this.driver.run("UPDATE images SET db_built_at = ?, last_matched = ? WHERE digest = ?", [
        image.dbBuiltAt ?? null,
        image.lastMatched,
        image.digest,
      ]);
      return;
    }
    // (An unchanged image's details are stored already: its row references them.)
    await this.storeDetails(details);
    if (previous?.digest !== image.digest || previous.findings !== findings) this.findingsReplaced = true;
    await this.driver.run(
      `INSERT INTO images (digest, result, findings, image_config, db_built_at, verdict, worst_severity, first_scanned, last_matched)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (digest) DO UPDATE SET result = excluded.result, findings = excluded.findings, image_config = excluded.image_config,
         db_built_at = excluded.db_built_at, verdict = excluded.verdict, worst_severity = excluded.worst_severity,
         last_matched = excluded.last_matched`,
      [
        image.digest,
        result,
        findings,
        imageConfig,
        image.dbBuiltAt ?? null,
        (verdict ?? image.result.policy)?.outcome ?? null,
        worstSeverity(image.result) ?? null,
        image.firstScanned,
        image.lastMatched,
      ],
    );
  }

  async listImages(): Promise<StoredImage[]> {
    const rows = await this.driver.all("SELECT * FROM images ORDER BY digest");
    return this.toImages(rows);
  }

  /** Inserts the details not stored yet, many rows per statement. */
  private async storeDetails(details: Detail[]): Promise<void> {
    // In id order: concurrent writers (registry scan --jobs, PostgreSQL) take the row locks in one
    // order and cannot deadlock on details they share.
    const fresh = [...new Map(details.map((detail) => [detail.id, detail])).values()].sort((a, b) =>
      a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
    if (fresh.length === 0) return;
    const write = async (tx: Pick<SqlDriver, "run">) => {
      for (let start = 0; start < fresh.length; start += INSERT_CHUNK) {
        const chunk = fresh.slice(start, start + INSERT_CHUNK);
        await tx.run(
          `INSERT INTO finding_details (id, body) VALUES ${valuesList(chunk.length, 2)}
           ON CONFLICT (id) DO UPDATE SET orphaned_at = NULL WHERE finding_details.orphaned_at IS NOT NULL`,
          chunk.flatMap((detail) => [detail.id, detail.body]),
        );
      }
    };
    if (fresh.length > INSERT_CHUNK) await this.driver.transaction(write);
    else await write(this.driver);
    if (this.storedDetails.size + fresh.length > 1_000_000) this.storedDetails.clear();
    for (const detail of fresh) this.storedDetails.add(detail.id);
  }

  /** Parsed bodies of `ids`, read from the store for those not cached. */
  private async detailBodiesOf(ids: Iterable<string>): Promise<void> {
    const needed = new Set(ids);
    const missing = [...needed].filter((id) => !this.detailBodies.has(id));
    // Bounded: room is made by dropping the oldest bodies this read does not need.
    let excess = this.detailBodies.size + missing.length - DETAIL_CACHE;
    for (const id of this.detailBodies.keys()) {
      if (excess <= 0) break;
      if (needed.has(id)) continue;
      this.detailBodies.delete(id);
      excess -= 1;
    }
    for (let start = 0; start < missing.length; start += 500) {
      const chunk = missing.slice(start, start + 500);
      const rows = await this.driver.all(
        `SELECT id, body FROM finding_details WHERE id IN (${chunk.map(() => "?").join(", ")})`,
        chunk,
      );
      for (const row of rows) {
        const id = String(row["id"]);
        this.detailBodies.set(
          id,
          parseJson<Record<string, unknown>>(row["body"], `finding detail ${id}`, this.location),
        );
      }
    }
  }

  async digests(): Promise<string[]> {
    return (await this.driver.all("SELECT digest FROM images ORDER BY digest")).map((row) => String(row["digest"]));
  }

  async recordSighting(sighting: Omit<Sighting, "firstSeen" | "lastSeen" | "current">, seenAt: string): Promise<void> {
    await this.driver.transaction(async (tx) => {
      await tx.run(
        "UPDATE sightings SET current = 0 WHERE registry = ? AND repository = ? AND tag = ? AND digest <> ?",
        [sighting.registry, sighting.repository, sighting.tag, sighting.digest],
      );
      await tx.run(
        `INSERT INTO sightings (registry, repository, tag, digest, index_digest, first_seen, last_seen, current)
         VALUES (?, ?, ?, ?, ?, ?, ?, 1)
         ON CONFLICT (registry, repository, tag, digest) DO UPDATE SET last_seen = excluded.last_seen,
           index_digest = excluded.index_digest, current = 1`,
        [
          sighting.registry,
          sighting.repository,
          sighting.tag,
          sighting.digest,
          sighting.indexDigest ?? null,
          seenAt,
          seenAt,
        ],
      );
    });
  }

  async sightings(): Promise<Sighting[]> {
    const rows = await this.driver.all("SELECT * FROM sightings ORDER BY registry, repository, tag, digest");
    return rows.map((row) => ({
      registry: String(row["registry"]),
      repository: String(row["repository"]),
      tag: String(row["tag"]),
      digest: String(row["digest"]),
      ...(text(row["index_digest"]) ? { indexDigest: text(row["index_digest"])! } : {}),
      firstSeen: String(row["first_seen"]),
      lastSeen: String(row["last_seen"]),
      current: Number(row["current"]) === 1,
    }));
  }

  async startRun(run: RunRecord): Promise<void> {
    await this.driver.run(
      "INSERT INTO runs (id, kind, target, started_at, finished_at, db_built_at, summary) VALUES (?, ?, ?, ?, NULL, ?, NULL)",
      [run.id, run.kind, run.target, run.startedAt, run.dbBuiltAt ?? null],
    );
  }

  async finishRun(id: string, finishedAt: string, summary: RunSummary): Promise<void> {
    await this.driver.run("UPDATE runs SET finished_at = ?, summary = ? WHERE id = ?", [
      finishedAt,
      JSON.stringify(summary),
      id,
    ]);
    // A scan or rescan that replaced findings may have left details no image references.
    if (this.findingsReplaced) await this.collectFindingDetails(new Date(finishedAt));
  }

  /**
   * Garbage collection of `finding_details` (a daily rescan against a new database replaces
   * findings; without it the details of the old ones stay forever). Mark and sweep, in SQL: a detail
   * no image references is marked with `now`; one marked at least ORPHANED_DETAIL_GRACE_MS ago and
   * still unreferenced is deleted; a referenced one loses its mark.
   */
  async collectFindingDetails(now: Date): Promise<void> {
    this.findingsReplaced = false;
    const cutoff = new Date(now.getTime() - ORPHANED_DETAIL_GRACE_MS).toISOString();
    const unreferenced = "NOT EXISTS (SELECT 1 FROM stowaway_referenced r WHERE r.id = finding_details.id)";
    await this.driver.transaction(async (tx) => {
      // The referenced ids once (one pass over every image's findings), then three indexed statements.
      await tx.run("CREATE TEMPORARY TABLE stowaway_referenced (id TEXT PRIMARY KEY)");
      try {
        await tx.run(`INSERT INTO stowaway_referenced (id) ${referencedDetailIds(this.driver.dialect)}`);
        await tx.run(
          `DELETE FROM finding_details WHERE orphaned_at IS NOT NULL AND orphaned_at <= ? AND ${unreferenced}`,
          [cutoff],
        );
        await tx.run(
          `UPDATE finding_details SET orphaned_at = NULL WHERE orphaned_at IS NOT NULL AND NOT ${unreferenced}`,
        );
        await tx.run(`UPDATE finding_details SET orphaned_at = ? WHERE orphaned_at IS NULL AND ${unreferenced}`, [
          now.toISOString(),
        ]);
      } finally {
        await tx.run("DROP TABLE stowaway_referenced").catch(() => undefined);
      }
    });
  }

  async runs(): Promise<RunRecord[]> {
    const rows = await this.driver.all("SELECT * FROM runs ORDER BY started_at DESC, id DESC");
    return rows.map((row) => ({
      id: String(row["id"]),
      kind: String(row["kind"]) as RunRecord["kind"],
      target: String(row["target"]),
      startedAt: String(row["started_at"]),
      ...(text(row["finished_at"]) ? { finishedAt: text(row["finished_at"])! } : {}),
      ...(text(row["db_built_at"]) ? { dbBuiltAt: text(row["db_built_at"])! } : {}),
      ...(text(row["summary"])
        ? { summary: parseJson<RunSummary>(row["summary"], `run ${String(row["id"])}`, this.location) }
        : {}),
    }));
  }

  async recordChanges(changes: FindingChange[]): Promise<void> {
    if (changes.length === 0) return;
    await this.driver.transaction(async (tx) => {
      // Many rows per statement: a first rescan records a change per finding of every image.
      for (let start = 0; start < changes.length; start += INSERT_CHUNK) {
        const chunk = changes.slice(start, start + INSERT_CHUNK);
        await tx.run(
          `INSERT INTO finding_changes (run_id, digest, kind, finding_id, vulnerability_id, severity, package_name,
             installed_version, fixed_version) VALUES ${valuesList(chunk.length, 9)}
           ON CONFLICT (run_id, digest, kind, finding_id) DO NOTHING`,
          chunk.flatMap((change) => [
            change.runId,
            change.digest,
            change.kind,
            change.findingId,
            change.vulnerabilityId,
            change.severity,
            change.packageName,
            change.installedVersion,
            change.fixedVersion ?? null,
          ]),
        );
      }
    });
  }

  async changes(runId: string): Promise<FindingChange[]> {
    const rows = await this.driver.all(
      "SELECT * FROM finding_changes WHERE run_id = ? ORDER BY digest, kind, finding_id",
      [runId],
    );
    return rows.map((row) => ({
      runId: String(row["run_id"]),
      digest: String(row["digest"]),
      kind: String(row["kind"]) as ChangeKind,
      findingId: String(row["finding_id"]),
      vulnerabilityId: String(row["vulnerability_id"]),
      severity: String(row["severity"]),
      packageName: String(row["package_name"]),
      installedVersion: String(row["installed_version"]),
      ...(text(row["fixed_version"]) ? { fixedVersion: text(row["fixed_version"])! } : {}),
    }));
  }

  flush(): Promise<void> {
    return this.driver.flush();
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  private async toImages(rows: Row[]): Promise<StoredImage[]> {
    const refsByDigest = new Map<string, FindingRef[]>();
    for (const row of rows) {
      const compact = text(row["findings"]);
      if (compact === undefined) continue;
      const digest = String(row["digest"]);
      refsByDigest.set(digest, parseJson<FindingRef[]>(compact, `the findings of ${digest}`, this.location));
    }
    const ids = function* () {
      for (const refs of refsByDigest.values()) for (const ref of refs) yield ref[0];
    };
    await this.detailBodiesOf(ids());
    return rows.map((row) => this.toImage(row, refsByDigest.get(String(row["digest"]))));
  }

  private toImage(row: Row, refs: FindingRef[] | undefined): StoredImage {
    const digest = String(row["digest"]);
    const result = parseJson<ScanResult>(row["result"], `the result of ${digest}`, this.location);
    if (refs) {
      result.findings = refs.map(([id, packageId, layerIndex, findingId]) => {
        const body = this.detailBodies.get(id);
        if (!body) {
          throw new StowawayError(
            `store ${this.location}: finding detail ${id} of ${digest} is missing; the store is damaged, rescan into a new one`,
          );
        }
        return {
          ...body,
          findingId: findingId ?? `${packageId}/${String(body["id"])}`,
          packageId,
          layerIndex,
        } as unknown as Finding;
      });
    }
    return {
      digest,
      result,
      ...(text(row["image_config"])
        ? { imageConfig: parseJson<ImageConfigFacts>(row["image_config"], `the config of ${digest}`, this.location) }
        : {}),
      ...(text(row["db_built_at"]) ? { dbBuiltAt: text(row["db_built_at"])! } : {}),
      firstScanned: String(row["first_scanned"]),
      lastMatched: String(row["last_matched"]),
    };
  }
}
