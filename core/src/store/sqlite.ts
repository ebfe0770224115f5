import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Database, SqlValue } from "sql.js";
import { StowawayError } from "../errors.js";
import { writeFileAtomic } from "../write-atomic.js";
import type { Row, SqlDriver } from "./sql-store.js";

/**
 * SQLite through sql.js (WebAssembly, the engine the rpm cataloger already loads): no native
 * build on any Node version. The database lives in memory and `flush` rewrites the file
 * atomically (temp file, then rename), so a crash never leaves half a store. One writer at a
 * time: two processes flushing the same file keep the last one's view (use PostgreSQL for teams).
 */
export class SqliteDriver implements SqlDriver {
  private queue: Promise<unknown> = Promise.resolve();
  private dirty = false;

  private constructor(
    private readonly db: Database,
    private readonly file: string,
  ) {}

  get location(): string {
    return `sqlite:${this.file}`;
  }

  static async open(file: string): Promise<SqliteDriver> {
    const { default: initSqlJs } = await import("sql.js");
    const SQL = await initSqlJs();
    let db: Database;
    if (existsSync(file)) {
      const bytes = await readFile(file);
      try {
        db = new SQL.Database(bytes);
        db.exec("SELECT count(*) FROM sqlite_master");
      } catch {
        throw new StowawayError(
          `store ${file} is not a SQLite database; point --store at a Stowaway store file or a new path`,
        );
      }
    } else {
      db = new SQL.Database();
    }
    const driver = new SqliteDriver(db, path.resolve(file));
    driver.dirty = !existsSync(file);
    return driver;
  }

  run(sql: string, params: unknown[] = []): Promise<void> {
    return this.serialised(async () => this.runNow(sql, params));
  }

  all(sql: string, params: unknown[] = []): Promise<Row[]> {
    return this.serialised(async () => this.allNow(sql, params));
  }

  transaction<T>(body: (tx: Pick<SqlDriver, "run" | "all">) => Promise<T>): Promise<T> {
    return this.serialised(async () => {
      this.db.run("BEGIN");
      try {
        const result = await body({
          run: async (sql, params = []) => this.runNow(sql, params),
          all: async (sql, params = []) => this.allNow(sql, params),
        });
        this.db.run("COMMIT");
        return result;
      } catch (error) {
        this.db.run("ROLLBACK");
        throw error;
      }
    });
  }

  flush(): Promise<void> {
    return this.serialised(async () => {
      if (!this.dirty) return;
      await writeFileAtomic(this.file, Buffer.from(this.db.export()));
      this.dirty = false;
    });
  }

  async close(): Promise<void> {
    await this.flush();
    this.db.close();
  }

  private runNow(sql: string, params: unknown[]): void {
    this.db.run(sql, params as SqlValue[]);
    this.dirty = true;
  }

  private allNow(sql: string, params: unknown[]): Row[] {
    const statement = this.db.prepare(sql, params as SqlValue[]);
    try {
      const rows: Row[] = [];
      while (statement.step()) rows.push(statement.getAsObject());
      return rows;
    } finally {
      statement.free();
    }
  }

  /** sql.js is one connection: operations (transactions above all) run one after another. */
  private serialised<T>(operation: () => Promise<T>): Promise<T> {
    const next = this.queue.then(operation, operation);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
