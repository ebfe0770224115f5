import type { Pool, PoolClient } from "pg";
import { StowawayError } from "../errors.js";
import type { Row, SqlDriver } from "./sql-store.js";

/** `?` placeholders (the shared SQL) become PostgreSQL's `$1, $2 ...`. The SQL holds no literal `?`. */
function numbered(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

/** The URL without its password, for messages and logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "postgres://(unparseable URL)";
  }
}

/**
 * PostgreSQL through `pg` (pure JavaScript): the store for teams, several writers at once, the
 * same schema and migrations as SQLite. Migrations hold an advisory lock so two runs starting
 * together do not both apply them.
 */
export class PostgresDriver implements SqlDriver {
  readonly dialect = "postgres";
  private constructor(
    private readonly pool: Pool,
    readonly location: string,
  ) {}

  static async open(url: string): Promise<PostgresDriver> {
    const { default: pg } = await import("pg");
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    // An idle client's error (server restart) must not crash the process; the next query reports it.
    pool.on("error", () => undefined);
    const location = redactedUrl(url);
    try {
      const client = await pool.connect();
      client.release();
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new StowawayError(
        `cannot connect to the store ${location} (${(error as Error).message.split("\n")[0]}); check the URL, that the server runs and the credentials`,
      );
    }
    return new PostgresDriver(pool, location);
  }

  async run(sql: string, params: unknown[] = []): Promise<void> {
    await this.pool.query(numbered(sql), params);
  }

  async all(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(numbered(sql), params)).rows as Row[];
  }

  async transaction<T>(body: (tx: Pick<SqlDriver, "run" | "all">) => Promise<T>): Promise<T> {
    const client: PoolClient = await this.pool.connect();
    try {
      await client.query("BEGIN");
      // Serialises schema migrations between processes; released at COMMIT/ROLLBACK.
      await client.query("SELECT pg_advisory_xact_lock(7368657)");
      const result = await body({
        run: async (sql, params = []) => {
          await client.query(numbered(sql), params);
        },
        all: async (sql, params = []) => (await client.query(numbered(sql), params)).rows as Row[],
      });
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    await this.pool.end();
  }
}
