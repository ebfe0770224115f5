/**
 * Starts a throwaway PostgreSQL cluster (Debian's `postgresql` package: initdb + pg_ctl from
 * /usr/lib/postgresql/N/bin) in a temp dir on a free 127.0.0.1 port, trust auth, as a non-root
 * user (the `postgres` account when the tests run as root, since PostgreSQL refuses root).
 */
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe } from "vitest";
import { freePort } from "./registry-server.js";

function findBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => existsSync(path.join(root, name, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], "bin") : undefined;
}

const BIN_DIR = findBinDir();

/** Why PostgreSQL cannot be started here, or undefined when it can. */
export const POSTGRES_UNAVAILABLE: string | undefined = !BIN_DIR
  ? "no /usr/lib/postgresql/*/bin/initdb; apt-get install -y postgresql"
  : !statSync("/dev/null").isCharacterDevice()
    ? "/dev/null is not a device on this machine (initdb writes to it); restore it with mknod -m 666 /dev/null c 1 3"
    : undefined;

export const POSTGRES_BIN = POSTGRES_UNAVAILABLE ? undefined : BIN_DIR;

/** `describe` for suites that need PostgreSQL; skipped with the reason when it cannot run. */
export function describeWithPostgres(name: string, body: () => void): void {
  if (POSTGRES_BIN) describe(name, body);
  else describe.skip(`${name} (skipped: ${POSTGRES_UNAVAILABLE})`, body);
}

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  /** A URL for a fresh, empty database named `name`. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<PostgresServer> {
  if (!POSTGRES_BIN) throw new Error("PostgreSQL binaries not found");
  const dir = mkdtempSync(path.join(os.tmpdir(), "stowaway-pg-"));
  const data = path.join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  let uid: number | undefined;
  let gid: number | undefined;
  if (asRoot) {
    uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const run = (binary: string, args: string[]) =>
    execFileSync(path.join(POSTGRES_BIN!, binary), args, {
      stdio: "pipe",
      cwd: dir,
      ...(asRoot ? { uid, gid } : {}),
      env: { PATH: process.env.PATH, LANG: "C", LC_ALL: "C" },
    });
  const port = await freePort();
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  run("pg_ctl", [
    "-D",
    data,
    "-l",
    path.join(dir, "server.log"),
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    "-w",
    "-t",
    "60",
    "start",
  ]);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const { default: pg } = await import("pg");
  return {
    url,
    async createDatabase(name: string): Promise<string> {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, "")}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop(): Promise<void> {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
