import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { StowawayError } from "../errors.js";
import type { Row, SqlDriver } from "./sql-store.js";

/** What the store needs of a SQLite engine: one connection, statements with positional `?` values. */
interface Engine {
  readonly name: "node:sqlite" | "node-sqlite3-wasm";
  exec(sql: string): void;
  run(sql: string, params: SqlParam[]): void;
  all(sql: string, params: SqlParam[]): Row[];
  close(): void;
}

type SqlParam = string | number | bigint | null | Uint8Array;

/** Writes of an implicit batch are committed at the latest after this many statements ... */
const BATCH_STATEMENTS = 5000;
/** ... or this long after the first of them (so another process sees them soon), or at flush(). */
const BATCH_MS = 2000;

function param(value: unknown): SqlParam {
  if (value === undefined || value === null) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "string" || typeof value === "number" || typeof value === "bigint") return value;
  if (value instanceof Uint8Array) return value;
  return String(value);
}

/** The part of `node:sqlite` used here. */
interface BuiltinStatement {
  run(...params: SqlParam[]): unknown;
  all(...params: SqlParam[]): unknown[];
}
interface BuiltinSqlite {
  DatabaseSync: new (file: string) => {
    exec(sql: string): void;
    prepare(sql: string): BuiltinStatement;
    close(): void;
  };
}

/** Each engine's prepared statements by SQL text: prepared on first use, kept until close. */
function statementCache<S>(prepare: (sql: string) => S, finalize?: (statement: S) => void) {
  const statements = new Map<string, S>();
  return {
    get(sql: string): S {
      let statement = statements.get(sql);
      if (!statement) {
        statement = prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
    clear(): void {
      if (finalize) for (const statement of statements.values()) finalize(statement);
      statements.clear();
    },
  };
}

/** The warning Node (22.13+, 24) emits once, when `node:sqlite` first loads. */
function isSqliteExperimentalWarning(warning: unknown, rest: unknown[]): boolean {
  const type = typeof rest[0] === "string" ? rest[0] : (rest[0] as { type?: unknown } | undefined)?.type;
  const name = warning instanceof Error ? warning.name : type;
  return (
    name === "ExperimentalWarning" &&
    /^SQLite is an experimental feature/.test(String((warning as Error)?.message ?? warning))
  );
}

let builtinModule: Promise<BuiltinSqlite | undefined> | undefined;

/**
 * Loads `node:sqlite` once per process. Node still emits an ExperimentalWarning as the module loads;
 * the store is not experimental to its users, so that one warning is left out. The filter drops
 * nothing else (every other warning, emitted meanwhile or later, passes through), stops filtering
 * once the module has loaded, and is taken out again unless something else has wrapped
 * process.emitWarning meanwhile (then it stays in the chain, inert, rather than undo their change).
 * Loading once means concurrent opens cannot interleave their wrap and restore.
 */
function loadBuiltin(): Promise<BuiltinSqlite | undefined> {
  builtinModule ??= (async () => {
    const emitWarning = process.emitWarning;
    let loading = true;
    const filter = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
      if (loading && isSqliteExperimentalWarning(warning, rest)) return;
      return Reflect.apply(emitWarning, process, [warning, ...rest]) as void;
    } as typeof process.emitWarning;
    process.emitWarning = filter;
    try {
      // A variable specifier: Node 20's type definitions (the baseline) do not know the module.
      const specifier = "node:sqlite";
      return (await import(specifier)) as BuiltinSqlite;
    } catch {
      return undefined;
    } finally {
      loading = false;
      if (process.emitWarning === filter) process.emitWarning = emitWarning;
    }
  })();
  return builtinModule;
}

/** Node's built-in SQLite (Node 22.13+ without a flag, 22.5+ with `--experimental-sqlite`). */
async function builtinEngine(file: string): Promise<Engine | undefined> {
  const sqlite = await loadBuiltin();
  if (!sqlite) return undefined;
  const db = new sqlite.DatabaseSync(file);
  const statements = statementCache((sql) => db.prepare(sql));
  return {
    name: "node:sqlite",
    exec: (sql) => db.exec(sql),
    run: (sql, params) => void statements.get(sql).run(...params),
    all: (sql, params) => statements.get(sql).all(...params) as Row[],
    close: () => {
      statements.clear();
      db.close();
    },
  };
}

/** SQLite compiled to WebAssembly with a VFS over Node's file system: Node 20, no native build. */
/** Older than this, a lock folder of the WebAssembly engine is a crashed process's (see wasmEngine). */
const STALE_LOCK_MS = 120_000;

async function wasmEngine(file: string): Promise<Engine> {
  // Its VFS locks by creating `FILE.lock/` and removes it on unlock; a process killed while holding
  // it leaves the folder and every later open would find the store busy forever. This driver holds
  // a lock for one statement or one batch (BATCH_MS), so a folder minutes old is left over.
  const lock = `${file}.lock`;
  try {
    if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
  } catch {
    // no lock folder
  }
  // CommonJS: Node's ESM loader offers its exports as `default` only.
  const module = (await import("node-sqlite3-wasm")) as typeof import("node-sqlite3-wasm") & {
    default?: typeof import("node-sqlite3-wasm");
  };
  const { Database } = module.default ?? module;
  const db = new Database(file);
  // WebAssembly statements are not garbage collected: each one is finalized before the database closes.
  const statements = statementCache(
    (sql) => db.prepare(sql),
    (statement) => statement.finalize(),
  );
  return {
    name: "node-sqlite3-wasm",
    exec: (sql) => db.exec(sql),
    run: (sql, params) => void statements.get(sql).run(params),
    all: (sql, params) => statements.get(sql).all(params) as Row[],
    close: () => {
      statements.clear();
      db.close();
    },
  };
}

/**
 * The store's SQLite file, read and written in place by the SQLite engine itself: Node's built-in
 * `node:sqlite` where Node has it (22.13+), else SQLite in WebAssembly (`node-sqlite3-wasm`, Node
 * 20); neither needs a native build at install. Only the pages in use are in memory, however large
 * the store. `STOWAWAY_SQLITE=wasm` picks the WebAssembly engine on any Node.
 *
 * Writes are grouped: the first write opens a transaction that commits after BATCH_STATEMENTS
 * writes, BATCH_MS, or at flush()/close(), so a rescan of thousands of images commits (and syncs
 * the disk) a few times instead of once per row. SQLite's rollback journal keeps the file whole
 * through a crash: what was committed stays, an open batch is rolled back. `transaction()` bodies
 * are atomic on their own too (a savepoint inside the batch). Files written by earlier Stowaway
 * versions (sql.js) are ordinary SQLite files and open as they are.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = "sqlite";
  private queue: Promise<unknown> = Promise.resolve();
  private batch: { statements: number; timer: NodeJS.Timeout } | undefined;
  private savepoints = 0;
  private commitError: unknown;
  private closed = false;

  private constructor(
    private readonly engine: Engine,
    private readonly file: string,
  ) {}

  get location(): string {
    return `sqlite:${this.file}`;
  }

  /** Which engine serves this store (for messages and the benchmark). */
  get engineName(): string {
    return this.engine.name;
  }

  static async open(file: string): Promise<SqliteDriver> {
    const resolved = path.resolve(file);
    // As before, a new store's folder is created (the default store lives in the cache directory).
    if (!existsSync(resolved)) mkdirSync(path.dirname(resolved), { recursive: true });
    const engine =
      (process.env.STOWAWAY_SQLITE === "wasm" ? undefined : await builtinEngine(resolved)) ??
      (await wasmEngine(resolved));
    try {
      // Waits for another process's commit instead of failing at once.
      engine.exec("PRAGMA busy_timeout = 10000");
      // The first read reveals a file that is not SQLite (SQLite opens files lazily).
      engine.all("SELECT count(*) AS n FROM sqlite_master", []);
      // A rollback journal (not WAL) so both engines, and older Stowaway versions, open the same file.
      engine.exec("PRAGMA journal_mode = DELETE");
      // 64 MiB of page cache (SQLite's default is 2 MiB): a rescan re-reads the same index pages.
      engine.exec("PRAGMA cache_size = -65536");
    } catch (error) {
      try {
        engine.close();
      } catch {
        // already unusable
      }
      if (/locked|busy/i.test((error as Error).message)) {
        throw new StowawayError(
          `store ${file} is locked by another process; wait for it to finish, or use PostgreSQL (--store postgres://...) for several writers`,
        );
      }
      throw new StowawayError(
        `store ${file} is not a SQLite database; point --store at a Stowaway store file or a new path`,
      );
    }
    return new SqliteDriver(engine, resolved);
  }

  run(sql: string, params: unknown[] = []): Promise<void> {
    return this.serialised(async () => this.runNow(sql, params));
  }

  all(sql: string, params: unknown[] = []): Promise<Row[]> {
    return this.serialised(async () => this.allNow(sql, params));
  }

  transaction<T>(body: (tx: Pick<SqlDriver, "run" | "all">) => Promise<T>): Promise<T> {
    return this.serialised(async () => {
      this.openBatch();
      const name = `stowaway_tx_${++this.savepoints}`;
      this.engine.exec(`SAVEPOINT ${name}`);
      try {
        const result = await body({
          run: async (sql, params = []) => this.runNow(sql, params),
          all: async (sql, params = []) => this.allNow(sql, params),
        });
        this.engine.exec(`RELEASE ${name}`);
        return result;
      } catch (error) {
        this.engine.exec(`ROLLBACK TO ${name}`);
        this.engine.exec(`RELEASE ${name}`);
        throw error;
      } finally {
        this.savepoints -= 1;
        this.commitIfFull();
      }
    });
  }

  /** Commits the open batch: everything written so far is on disk. */
  flush(): Promise<void> {
    return this.serialised(async () => this.commitNow());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.serialised(async () => {
      try {
        this.commitNow();
      } finally {
        this.closed = true;
        this.engine.close();
      }
    });
  }

  private runNow(sql: string, params: unknown[]): void {
    this.openBatch();
    this.engine.run(sql, params.map(param));
    this.batch!.statements += 1;
    this.commitIfFull();
  }

  private allNow(sql: string, params: unknown[]): Row[] {
    return this.engine.all(sql, params.map(param));
  }

  private openBatch(): void {
    if (this.batch) return;
    this.engine.exec("BEGIN");
    const timer = setTimeout(() => {
      this.serialised(async () => this.commitNow()).catch((error: unknown) => {
        this.commitError = error;
      });
    }, BATCH_MS);
    timer.unref();
    this.batch = { statements: 0, timer };
  }

  private commitIfFull(): void {
    if (this.batch && this.savepoints === 0 && this.batch.statements >= BATCH_STATEMENTS) this.commitNow();
  }

  private commitNow(): void {
    if (this.commitError !== undefined) {
      const error = this.commitError;
      this.commitError = undefined;
      throw error;
    }
    if (!this.batch || this.closed) return;
    clearTimeout(this.batch.timer);
    this.batch = undefined;
    try {
      this.engine.exec("COMMIT");
    } catch (error) {
      // A commit that failed (disk full, another process's lock past busy_timeout) leaves the
      // transaction open: rolled back, so the connection can go on, and the error reported.
      try {
        this.engine.exec("ROLLBACK");
      } catch {
        // nothing open any more
      }
      throw error;
    }
  }

  /** One connection: operations (transactions above all) run one after another. */
  private serialised<T>(operation: () => Promise<T>): Promise<T> {
    const next = this.queue.then(operation, operation);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
