/**
 * Header blobs of an rpm SQLite database (`rpmdb.sqlite`, rpm 4.16+ on Fedora, RHEL 9, Azure
 * Linux): the `Packages` table holds one row per package, `hnum` and the header `blob`. The bytes
 * are opened in memory by sql.js, so nothing is written to disk and no native module is needed.
 */

import type { SqlJsStatic } from "sql.js";
import type { BlobRead } from "./blobs.js";

let SQL: SqlJsStatic | undefined;

/**
 * Loads the sql.js WebAssembly engine (40-70 ms). Catalogers are synchronous, so the scan calls
 * this through the cataloger's prepare() only when an image actually holds an rpmdb.sqlite.
 */
export async function loadSqlite(): Promise<void> {
  if (!SQL) {
    const { default: initSqlJs } = await import("sql.js");
    SQL = await initSqlJs();
  }
}

export function readSqliteBlobs(db: Buffer): BlobRead {
  if (db.length < 100 || db.toString("latin1", 0, 16) !== "SQLite format 3\0") {
    return { blobs: [], problems: ["not an SQLite database"] };
  }
  if (!SQL) return { blobs: [], problems: ["the SQLite engine was not loaded (prepare() was not awaited)"] };
  let database: InstanceType<SqlJsStatic["Database"]> | undefined;
  try {
    database = new SQL.Database(db);
    const statement = database.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum");
    const blobs: Buffer[] = [];
    const problems: string[] = [];
    try {
      while (statement.step()) {
        const [hnum, blob] = statement.get();
        if (blob instanceof Uint8Array) blobs.push(Buffer.from(blob));
        else if (problems.length < 5) problems.push(`package ${String(hnum)} has no header blob`);
      }
    } finally {
      statement.free();
    }
    return { blobs, problems };
  } catch (error) {
    return {
      blobs: [],
      problems: [`unreadable SQLite database: ${error instanceof Error ? error.message : String(error)}`],
    };
  } finally {
    database?.close();
  }
}
