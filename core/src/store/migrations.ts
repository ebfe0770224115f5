/**
 * The store schema, as ordered migrations shared by SQLite and PostgreSQL. Only portable SQL:
 * TEXT and INTEGER columns, composite primary keys, `INSERT ... ON CONFLICT DO UPDATE` (SQLite
 * 3.24+, PostgreSQL 9.5+). A migration is never edited once released; a change is a new entry.
 */
export interface Migration {
  version: number;
  description: string;
  statements: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "images by digest, sightings, runs, finding changes",
    statements: [
      `CREATE TABLE images (
        digest TEXT PRIMARY KEY,
        result TEXT NOT NULL,
        image_config TEXT,
        db_built_at TEXT,
        verdict TEXT,
        worst_severity TEXT,
        first_scanned TEXT NOT NULL,
        last_matched TEXT NOT NULL
      )`,
      `CREATE TABLE sightings (
        registry TEXT NOT NULL,
        repository TEXT NOT NULL,
        tag TEXT NOT NULL,
        digest TEXT NOT NULL,
        index_digest TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        current INTEGER NOT NULL,
        PRIMARY KEY (registry, repository, tag, digest)
      )`,
      `CREATE INDEX sightings_digest ON sightings (digest)`,
      `CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        db_built_at TEXT,
        summary TEXT
      )`,
      `CREATE TABLE finding_changes (
        run_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        kind TEXT NOT NULL,
        finding_id TEXT NOT NULL,
        vulnerability_id TEXT NOT NULL,
        severity TEXT NOT NULL,
        package_name TEXT NOT NULL,
        installed_version TEXT NOT NULL,
        fixed_version TEXT,
        PRIMARY KEY (run_id, digest, kind, finding_id)
      )`,
      `CREATE INDEX finding_changes_vulnerability ON finding_changes (vulnerability_id)`,
    ],
  },
  {
    version: 2,
    description: "service: API tokens, registries, schedules, jobs of the in-process queue",
    statements: [
      `CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        scope TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked INTEGER NOT NULL
      )`,
      `CREATE TABLE registries (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        prefix TEXT,
        tags TEXT,
        max_images INTEGER,
        insecure INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      `CREATE TABLE schedules (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        registry_id TEXT,
        cron TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        last_fired TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      `CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        run_after TEXT NOT NULL,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        output TEXT,
        error TEXT
      )`,
      `CREATE INDEX jobs_state ON jobs (state, run_after)`,
    ],
  },
  {
    version: 3,
    description: "running containers per cluster, namespace and workload (cluster inventory)",
    statements: [
      `CREATE TABLE cluster_workloads (
        cluster TEXT NOT NULL,
        namespace TEXT NOT NULL,
        workload TEXT NOT NULL,
        container TEXT NOT NULL,
        image TEXT NOT NULL,
        digest TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        PRIMARY KEY (cluster, namespace, workload, container, image, digest)
      )`,
      `CREATE INDEX cluster_workloads_digest ON cluster_workloads (digest)`,
    ],
  },
  {
    version: 4,
    description: "findings stored compactly: per image references to advisory details shared by every image",
    statements: [
      // JSON [[detail id, package id, layer index(, finding id when not "<package id>/<id>")], ...];
      // NULL for rows written before (their findings stay inside `result`) and for unmatched images.
      `ALTER TABLE images ADD COLUMN findings TEXT`,
      // A finding without its place in an image (finding id, package id, layer): the same for every
      // image holding that package, keyed by a hash of the body.
      `CREATE TABLE finding_details (
        id TEXT PRIMARY KEY,
        body TEXT NOT NULL
      )`,
    ],
  },
  {
    version: 5,
    description: "finding details no image references are marked, then deleted a grace period later",
    statements: [
      // When a garbage collection first found the detail referenced by no image; NULL while referenced
      // (and set back to NULL when a writer stores the detail again). See SqlStore.collectFindingDetails.
      `ALTER TABLE finding_details ADD COLUMN orphaned_at TEXT`,
    ],
  },
];

/** The newest schema this build knows; a store migrated further by a newer Stowaway is refused. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
