import { readFileSync } from "node:fs";
import type { Command } from "commander";
import {
  StowawayError,
  buildDatabase,
  databaseStatus,
  defaultDatabaseDir,
  exportDatabase,
  formatDatabaseStatus,
  formatDuration,
  importDatabase,
  parseDuration,
  updateDatabase,
  type DatabaseMetadata,
} from "@stowaway/core";
import type { Io } from "../io.js";

interface DbFlags {
  db?: string;
}

function dbDir(flags: DbFlags, io: Io): string {
  return flags.db ?? io.env.STOWAWAY_DB_DIR ?? defaultDatabaseDir(io.env);
}

function summary(verb: string, dir: string, metadata: DatabaseMetadata): string {
  return (
    `${verb} ${dir}: ${metadata.records} records in ${metadata.ecosystems.length} ecosystems, ` +
    `${metadata.kevEntries ?? 0} KEV entries, ${metadata.epssScores ?? 0} EPSS scores, ${metadata.sources.length} sources\n`
  );
}

const DB_OPTION_HELP =
  "database directory (default: $STOWAWAY_DB_DIR, $XDG_CACHE_HOME/stowaway/db or ~/.cache/stowaway/db)";

/**
 * `stowaway db build|update|status|export|import`. Exit codes follow the CLI contract: 0 success, 2
 * error. `db status` past --max-age prints a warning and still exits 0 unless --fail-on-stale is given,
 * then it exits 2 (1 stays reserved for a failed policy gate).
 */
export function registerDbCommands(program: Command, io: Io): void {
  const warn = (message: string) => io.stderr.write(`warning: ${message}\n`);
  const db = program.command("db").description("build, update, inspect and move the offline vulnerability database");

  db.command("build")
    .description("compile OSV JSON/YAML/zip, Debian tracker, Alpine secdb, CISA KEV and EPSS files into the database")
    .requiredOption("--from <path...>", "input files or directories (repeatable); kinds are recognised by content")
    .option("--db <dir>", DB_OPTION_HELP)
    .action(async (flags: DbFlags & { from: string[] }) => {
      const dir = dbDir(flags, io);
      const metadata = await buildDatabase({ from: flags.from, dbDir: dir, warn });
      io.stdout.write(summary("built", dir, metadata));
    });

  db.command("update")
    .description(
      "download OSV all.zip feeds, CISA KEV and EPSS (conditional GETs, mirror fallback) and swap atomically",
    )
    .option("--db <dir>", DB_OPTION_HELP)
    .option(
      "--ecosystem <name...>",
      "OSV feed to refresh (repeatable: PyPI, npm, Debian …); default: ecosystems recent scans met, else those in the DB",
    )
    .option(
      "--mirror <url...>",
      "base URL serving <ECOSYSTEM>/all.zip, cisa-kev/…, epss/…, nvd/cves/2.0, debian-security-tracker/json and alpine-secdb/<release>/<repo>.json; tried in order (repeatable)",
    )
    .option("--no-kev", "do not download the CISA KEV catalog")
    .option("--no-epss", "do not download EPSS scores")
    .option(
      "--nvd",
      "also fetch NVD CVE API 2.0 CVSS data (all CVEs first, then changes since the last fetch; key from STOWAWAY_NVD_API_KEY)",
    )
    .option("--no-nvd", "do not refresh NVD data even if the database holds some")
    .option("--debian-tracker", "also fetch the Debian security tracker JSON (urgencies, no-DSA states)")
    .option("--no-debian-tracker", "do not refresh Debian tracker data even if an earlier update fetched it")
    .option(
      "--alpine-secdb <release...>",
      "also fetch Alpine secdb main+community for these releases (e.g. v3.20 edge); default: those fetched before",
    )
    .option("--ca-file <pem>", "extra CA certificates (PEM) to trust for mirrors and proxies")
    .option("--timeout <seconds>", "network timeout per request", "60")
    .action(
      async (
        flags: DbFlags & {
          ecosystem?: string[];
          mirror?: string[];
          kev: boolean;
          epss: boolean;
          nvd?: boolean;
          debianTracker?: boolean;
          alpineSecdb?: string[];
          caFile?: string;
          timeout: string;
        },
      ) => {
        const dir = dbDir(flags, io);
        const timeout = Number(flags.timeout);
        if (!Number.isFinite(timeout) || timeout <= 0) {
          throw new StowawayError(`--timeout ${JSON.stringify(flags.timeout)} is not a positive number of seconds`);
        }
        const result = await updateDatabase({
          dbDir: dir,
          ...(flags.ecosystem ? { ecosystems: flags.ecosystem } : {}),
          ...(flags.mirror ? { mirrors: flags.mirror } : {}),
          kev: flags.kev,
          epss: flags.epss,
          ...(flags.nvd !== undefined ? { nvd: flags.nvd } : {}),
          ...(flags.debianTracker !== undefined ? { debianTracker: flags.debianTracker } : {}),
          ...(flags.alpineSecdb ? { alpineSecdb: flags.alpineSecdb } : {}),
          env: io.env,
          ...(flags.caFile ? { caPem: readFileSync(flags.caFile, "utf8") } : {}),
          timeoutMs: timeout * 1000,
          warn,
          log: (line) => io.stderr.write(`${line}\n`),
        });
        io.stdout.write(summary("updated", dir, result.metadata));
      },
    );

  db.command("status")
    .description("show the database's age, sources and counts; warn past --max-age")
    .option("--db <dir>", DB_OPTION_HELP)
    .option("--max-age <duration>", "warn when the database was built longer ago than this (e.g. 7d, 36h)")
    .option("--fail-on-stale", "exit 2 instead of warning when the database is older than --max-age")
    .option("--json", "print the status as JSON")
    .action(async (flags: DbFlags & { maxAge?: string; failOnStale?: boolean; json?: boolean }) => {
      const dir = dbDir(flags, io);
      const maxAgeMs = flags.maxAge !== undefined ? parseDuration(flags.maxAge) : undefined;
      if (flags.failOnStale && maxAgeMs === undefined) {
        throw new StowawayError("--fail-on-stale needs --max-age (e.g. --max-age 7d)");
      }
      const status = await databaseStatus(dir, maxAgeMs !== undefined ? { maxAgeMs } : {});
      if (flags.json) {
        const { metadata, ageMs, stale } = status;
        io.stdout.write(
          `${JSON.stringify({ dbDir: dir, ageSeconds: Math.round(ageMs / 1000), stale, ...metadata }, null, 2)}\n`,
        );
      } else {
        io.stdout.write(formatDatabaseStatus(status));
      }
      if (status.stale) {
        const message = `the vulnerability database at ${dir} was built ${formatDuration(status.ageMs)} ago, over --max-age ${flags.maxAge}; run \`stowaway db update\``;
        if (flags.failOnStale) throw new StowawayError(message);
        warn(message);
      }
    });

  db.command("export")
    .description("write the database as one verified tar.gz bundle for air-gapped runners")
    .argument("<file>", "bundle to write (tar.gz)")
    .option("--db <dir>", DB_OPTION_HELP)
    .action(async (file: string, flags: DbFlags) => {
      const manifest = await exportDatabase(dbDir(flags, io), file);
      io.stdout.write(`exported ${manifest.files.length} files (built ${manifest.builtAt}) to ${file}\n`);
    });

  db.command("import")
    .description("verify a bundle from `db export` and install it as the database, atomically")
    .argument("<file>", "bundle to read (tar.gz)")
    .option("--db <dir>", DB_OPTION_HELP)
    .action(async (file: string, flags: DbFlags) => {
      const dir = dbDir(flags, io);
      const metadata = await importDatabase(file, dir);
      io.stdout.write(summary("imported", dir, metadata));
    });
}
