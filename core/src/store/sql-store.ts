import { StowawayError } from "../errors.js";
import type { ImageConfigFacts } from "../policy/image-config.js";
import type { PolicyVerdict, ScanResult } from "../result.js";
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
  private lastRead: { digest: string; result: string; imageConfig: string | null } | undefined;

  /** Read by the table helpers that live beside this class (cluster.ts) and by the service store. */
  constructor(readonly driver: SqlDriver) {}

  get location(): string {
    return this.driver.location;
  }

  async getImage(digest: string): Promise<StoredImage | undefined> {
    const rows = await this.driver.all("SELECT * FROM images WHERE digest = ?", [digest]);
    const row = rows[0];
    this.lastRead = row
      ? { digest, result: String(row["result"]), imageConfig: text(row["image_config"]) ?? null }
      : undefined;
    return row ? this.toImage(row) : undefined;
  }

  async putImage(image: StoredImage, verdict?: PolicyVerdict): Promise<void> {
    const result = JSON.stringify(image.result);
    const imageConfig = image.imageConfig ? JSON.stringify(image.imageConfig) : null;
    const previous = this.lastRead;
    this.lastRead = undefined;
    if (
      previous?.digest === image.digest &&
      previous.result === result &&
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
    await this.driver.run(
      `INSERT INTO images (digest, result, image_config, db_built_at, verdict, worst_severity, first_scanned, last_matched)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (digest) DO UPDATE SET result = excluded.result, image_config = excluded.image_config,
         db_built_at = excluded.db_built_at, verdict = excluded.verdict, worst_severity = excluded.worst_severity,
         last_matched = excluded.last_matched`,
      [
        image.digest,
        result,
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
    return rows.map((row) => this.toImage(row));
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
      for (const change of changes) {
        await tx.run(
          `INSERT INTO finding_changes (run_id, digest, kind, finding_id, vulnerability_id, severity, package_name,
             installed_version, fixed_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id, digest, kind, finding_id) DO NOTHING`,
          [
            change.runId,
            change.digest,
            change.kind,
            change.findingId,
            change.vulnerabilityId,
            change.severity,
            change.packageName,
            change.installedVersion,
            change.fixedVersion ?? null,
          ],
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

  private toImage(row: Row): StoredImage {
    const digest = String(row["digest"]);
    return {
      digest,
      result: parseJson<ScanResult>(row["result"], `the result of ${digest}`, this.location),
      ...(text(row["image_config"])
        ? { imageConfig: parseJson<ImageConfigFacts>(row["image_config"], `the config of ${digest}`, this.location) }
        : {}),
      ...(text(row["db_built_at"]) ? { dbBuiltAt: text(row["db_built_at"])! } : {}),
      firstScanned: String(row["first_scanned"]),
      lastMatched: String(row["last_matched"]),
    };
  }
}
