import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { DatabaseMetadata } from "@stowaway/core";
import { jsonLogSafe, neutralizeLog, neutralizeLogLines } from "@stowaway/core/log-safety";
import type { Io } from "../io.js";

interface DbFlags {
  db?: string;
}

/** Core, loaded when a db command runs (not when the CLI parses its arguments or prints help). */
const core = () => import("@stowaway/core");

async function dbDir(flags: DbFlags, io: Io): Promise<string> {
  return flags.db ?? io.env.STOWAWAY_DB_DIR ?? (await core()).defaultDatabaseDir(io.env);
}

/** The one summary line of build/update/import; neutralised, as everything derived from feeds (docs/log-safety.md). */
function summary(verb: string, dir: string, metadata: DatabaseMetadata): string {
  return `${neutralizeLog(
    `${verb} ${dir}: ${metadata.records} records in ${metadata.ecosystems.length} ecosystems, ` +
      `${metadata.kevEntries ?? 0} KEV entries, ${metadata.epssScores ?? 0} EPSS scores, ${metadata.sources.length} sources`,
  )}\n`;
}

const DB_OPTION_HELP =
  "database directory (default: $STOWAWAY_DB_DIR, $XDG_CACHE_HOME/stowaway/db or ~/.cache/stowaway/db)";

/**
 * `stowaway db build|update|status|export|import`. Exit codes follow the CLI contract: 0 success, 2
 * error. `db status` past --max-age prints a warning and still exits 0 unless --fail-on-stale is given,
 * then it exits 2 (1 stays reserved for a failed policy gate).
 */
export function registerDbCommands(program: Command, io: Io): void {
  // Warnings quote advisory files (ids, names); they reach the log neutralised.
  const warn = (message: string) => io.stderr.write(`warning: ${neutralizeLog(message)}\n`);
  const db = program.command("db").description("build, update, inspect and move the offline vulnerability database");

  db.command("build")
    .description(
      "compile OSV JSON/YAML/zip, Debian tracker, Alpine secdb, Red Hat CSAF/VEX (JSON or .tar.zst) and Security Data API, CISA KEV and EPSS files into the database",
    )
    .requiredOption("--from <path...>", "input files or directories (repeatable); kinds are recognised by content")
    .option("--db <dir>", DB_OPTION_HELP)
    .action(async (flags: DbFlags & { from: string[] }) => {
      const { buildDatabase } = await core();
      const dir = await dbDir(flags, io);
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
      "base URL serving <ECOSYSTEM>/all.zip, cisa-kev/…, epss/…, nvd/cves/2.0, cvelistV5/releases/…, debian-security-tracker/json and alpine-secdb/<release>/<repo>.json; tried in order (repeatable)",
    )
    .option("--no-kev", "do not download the CISA KEV catalog")
    .option("--no-epss", "do not download EPSS scores")
    .option(
      "--redhat",
      "download Red Hat's CSAF VEX archive (default: when the DB already holds Red Hat data); mirrors serve it at redhat/csaf/v2/vex/",
    )
    .option("--no-redhat", "do not download Red Hat's CSAF VEX archive")
    .option(
      "--nvd",
      "also fetch NVD CVE API 2.0 CVSS data (all CVEs first, then changes since the last fetch; key from STOWAWAY_NVD_API_KEY)",
    )
    .option("--no-nvd", "do not refresh NVD data even if the database holds some")
    .option(
      "--cve5",
      "also fetch the CVE List V5 CNA/ADP CVSS data (cvelistV5 releases: a baseline once, then deltas); mirrors serve cvelistV5/releases/…",
    )
    .option("--no-cve5", "do not refresh CVE List V5 data even if an earlier update fetched it")
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
          redhat?: boolean;
          nvd?: boolean;
          cve5?: boolean;
          debianTracker?: boolean;
          alpineSecdb?: string[];
          caFile?: string;
          timeout: string;
        },
      ) => {
        const { StowawayError, updateDatabase } = await core();
        const dir = await dbDir(flags, io);
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
          ...(flags.redhat !== undefined ? { redhat: flags.redhat } : {}),
          ...(flags.nvd !== undefined ? { nvd: flags.nvd } : {}),
          ...(flags.cve5 !== undefined ? { cve5: flags.cve5 } : {}),
          ...(flags.debianTracker !== undefined ? { debianTracker: flags.debianTracker } : {}),
          ...(flags.alpineSecdb ? { alpineSecdb: flags.alpineSecdb } : {}),
          env: io.env,
          ...(flags.caFile ? { caPem: readFileSync(flags.caFile, "utf8") } : {}),
          timeoutMs: timeout * 1000,
          warn,
          log: (line) => io.stderr.write(`${neutralizeLog(line)}\n`),
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
    .option("--verify", "check every file and record against the integrity manifest; exit 2 when anything is damaged")
    .action(async (flags: DbFlags & { maxAge?: string; failOnStale?: boolean; json?: boolean; verify?: boolean }) => {
      const { StowawayError, databaseStatus, formatDatabaseStatus, formatDuration, parseDuration } = await core();
      const dir = await dbDir(flags, io);
      const maxAgeMs = flags.maxAge !== undefined ? parseDuration(flags.maxAge) : undefined;
      if (flags.failOnStale && maxAgeMs === undefined) {
        throw new StowawayError("--fail-on-stale needs --max-age (e.g. --max-age 7d)");
      }
      const status = await databaseStatus(dir, {
        ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
        ...(flags.verify ? { verify: true } : {}),
      });
      if (flags.json) {
        const { metadata, ageMs, stale, verified } = status;
        // Source names, origins and ecosystems come from the feeds: inert in a log, identical when parsed.
        io.stdout.write(
          `${jsonLogSafe(JSON.stringify({ dbDir: dir, ageSeconds: Math.round(ageMs / 1000), stale, ...(verified ? { verified } : {}), ...metadata }, null, 2))}\n`,
        );
      } else {
        // One line per source and ecosystem, each named by the feed that supplied it: every line neutralised.
        io.stdout.write(neutralizeLogLines(formatDatabaseStatus(status)));
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
    .option("--sign <key>", "sign the bundle's manifest with this Ed25519 private key (PEM file)")
    .action(async (file: string, flags: DbFlags & { sign?: string }) => {
      const { exportDatabase } = await core();
      const signingKey = flags.sign !== undefined ? await readKeyFile(flags.sign, "--sign") : undefined;
      const manifest = await exportDatabase(await dbDir(flags, io), file, signingKey ? { signingKey } : {});
      io.stdout.write(
        `${neutralizeLog(`exported ${manifest.files.length} files (built ${manifest.builtAt}) to ${file}`)}\n`,
      );
    });

  db.command("import")
    .description("verify a bundle from `db export` and install it as the database, atomically")
    .argument("<file>", "bundle to read (tar.gz)")
    .option("--db <dir>", DB_OPTION_HELP)
    .option("--verify <key>", "require a valid signature by this Ed25519 public key (PEM file)")
    .action(async (file: string, flags: DbFlags & { verify?: string }) => {
      const { importDatabase } = await core();
      const dir = await dbDir(flags, io);
      const verifyKey = flags.verify !== undefined ? await readKeyFile(flags.verify, "--verify") : undefined;
      const metadata = await importDatabase(file, dir, verifyKey ? { verifyKey } : {});
      io.stdout.write(summary("imported", dir, metadata));
    });
}

/** A PEM key file named by a flag; a missing file is one clear line. */
async function readKeyFile(file: string, flag: string): Promise<Buffer> {
  try {
    return readFileSync(file);
  } catch (error) {
    const { StowawayError } = await core();
    throw new StowawayError(
      `${flag} ${file}: cannot read the key file (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
}
