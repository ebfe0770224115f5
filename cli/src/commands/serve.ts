import { Option, type Command } from "commander";
import { neutralizeLog } from "@stowaway/core/log-safety";
import type { Io } from "../io.js";

interface ServeFlags {
  store?: string;
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  /** true: workers only; false: API only; undefined: both. */
  worker?: boolean;
  db?: string;
  dbMaxAge?: string;
  dbMirror?: string;
  policy?: string;
  cacheDir?: string;
  concurrency: string;
  allowLocalImages?: boolean;
  rateLimit: string;
  maxBody: string;
  scheduleInterval: string;
}

interface TokenCreateFlags {
  store?: string;
  cacheDir?: string;
  scope: "read" | "write";
  name?: string;
  expiresIn?: string;
}

/** Core's service entry point, loaded when `serve` runs (start-up and --help stay light). */
async function loadService() {
  const [core, service] = await Promise.all([import("@stowaway/core"), import("@stowaway/core/service")]);
  return { ...core, ...service };
}

function storeSpec(
  flags: { store?: string; cacheDir?: string },
  io: Io,
  lib: Awaited<ReturnType<typeof loadService>>,
): string {
  return flags.store ?? io.env.STOWAWAY_STORE ?? lib.defaultStorePath(flags.cacheDir ?? lib.defaultCacheDir(io.env));
}

type Fail = (message: string) => never;

function wholeNumber(value: string, flag: string, fail: Fail, min = 1): number {
  if (!/^\d+$/.test(value) || Number(value) < min) fail(`${flag} "${value}" must be a whole number of at least ${min}`);
  return Number(value);
}

/** "30d", "12h", "45m" to milliseconds. */
export function parseDuration(text: string, flag: string, fail: Fail): number {
  const match = /^(\d+)([dhm])$/.exec(text.trim());
  if (!match) return fail(`${flag} "${text}" must be a number followed by d, h or m (e.g. 90d)`);
  return Number(match[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[match[2] as "d" | "h" | "m"];
}

export function registerServeCommand(program: Command, io: Io): void {
  const log = (line: string): void => {
    io.stderr.write(`${new Date().toISOString()} ${neutralizeLog(line)}\n`);
  };

  const serve = program
    .command("serve")
    .description("run the Stowaway service: REST API under /api/v1, dashboard at /, and job workers (docs/service.md)")
    .option("--store <store>", "results store: a SQLite file or a postgres:// URL (or env STOWAWAY_STORE)")
    .option("--listen <host:port>", "where the API listens", "127.0.0.1:8080")
    .option("--tls-cert <pem>", "serve HTTPS with this certificate (with --tls-key)")
    .option("--tls-key <pem>", "private key of --tls-cert")
    .option("--worker", "run job workers and schedules only, no API (scale out on a PostgreSQL store)")
    .option("--no-worker", "run the API only; jobs wait for a --worker process")
    .option("--db <dir>", "vulnerability database the workers match against (default: the managed one)")
    .option(
      "--db-max-age <duration>",
      "workers update the database before a job when it is older (e.g. 24h) or lacks the image's feeds (default: use it as it is)",
    )
    .option("--db-mirror <urls>", "comma-separated feed mirrors for --db-max-age updates (as db update --mirror)")
    .option("--policy <file|url>", "central policy applied to every scan (default: results carry no verdict)")
    .option("--cache-dir <dir>", "layer cache and default store location")
    .option("--concurrency <n>", "jobs a worker process runs at once", "2")
    .option("--allow-local-images", "accept scans of archives on the workers' disks (oci-archive:, docker-archive:)")
    .option("--rate-limit <n>", "requests per second per token (burst: 4 x n)", "50")
    .option("--max-body <bytes>", "largest request body (an SBOM upload)", String(16 * 1024 * 1024))
    .option("--schedule-interval <seconds>", "how often workers check cron schedules", "30")
    .action(async (flags: ServeFlags) => {
      const lib = await loadService();
      const fail: Fail = (message) => {
        throw new lib.StowawayError(message);
      };
      if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
        throw new lib.StowawayError("--tls-cert and --tls-key go together");
      }
      const spec = storeSpec(flags, io, lib);
      const concurrency = wholeNumber(flags.concurrency, "--concurrency", fail);
      const perSecond = wholeNumber(flags.rateLimit, "--rate-limit", fail);
      const maxBodyBytes = wholeNumber(flags.maxBody, "--max-body", fail, 1024);
      const intervalMs = wholeNumber(flags.scheduleInterval, "--schedule-interval", fail) * 1000;
      const runApi = flags.worker !== true;
      const runWorker = flags.worker !== false;
      const store = await lib.openServiceStore(spec);
      const env = io.env;
      const queue = await lib.openQueue(spec, store, {
        onError: log,
        retry: {
          ...(env.STOWAWAY_JOB_ATTEMPTS ? { maxAttempts: Number(env.STOWAWAY_JOB_ATTEMPTS) } : {}),
          ...(env.STOWAWAY_JOB_RETRY_DELAY_SECONDS
            ? { retryDelaySeconds: Number(env.STOWAWAY_JOB_RETRY_DELAY_SECONDS) }
            : {}),
          ...(env.STOWAWAY_JOB_EXPIRE_SECONDS ? { expireSeconds: Number(env.STOWAWAY_JOB_EXPIRE_SECONDS) } : {}),
        },
        ...(env.STOWAWAY_QUEUE_MAINTENANCE_SECONDS
          ? { maintenanceSeconds: Number(env.STOWAWAY_QUEUE_MAINTENANCE_SECONDS) }
          : {}),
        ...(env.STOWAWAY_QUEUE_POLL_SECONDS ? { pollingSeconds: Number(env.STOWAWAY_QUEUE_POLL_SECONDS) } : {}),
      });
      if (!runApi && queue.kind === "in-process") {
        log(
          "warning: --worker on a SQLite store: only this process may write the file; scale out with a postgres:// store",
        );
      }
      if (!runWorker && queue.kind === "in-process") {
        log("warning: --no-worker on a SQLite store: jobs wait until a process with workers opens this store");
      }
      const stoppers: (() => Promise<void>)[] = [];
      let service: Awaited<ReturnType<typeof lib.startService>> | undefined;
      try {
        if (runWorker) {
          const policy = flags.policy ? await lib.loadPolicy(flags.policy, { env }) : undefined;
          const database = flags.db ?? lib.defaultDatabaseDir(env);
          const runner = lib.createJobRunner({
            store,
            database,
            ...(flags.dbMaxAge
              ? {
                  databaseRefresh: {
                    maxAgeMs: lib.parseDuration(flags.dbMaxAge, "--db-max-age"),
                    mirrors: (flags.dbMirror ?? "")
                      .split(",")
                      .map((url) => url.trim())
                      .filter(Boolean),
                    env,
                    log,
                  },
                }
              : {}),
            ...(policy ? { policy } : {}),
            ...(flags.cacheDir ? { cacheDir: flags.cacheDir } : {}),
            registry: {
              ...(env.STOWAWAY_USERNAME ? { username: env.STOWAWAY_USERNAME } : {}),
              ...(env.STOWAWAY_PASSWORD ? { password: env.STOWAWAY_PASSWORD } : {}),
              ...(env.STOWAWAY_REGISTRY_TOKEN ? { registryToken: env.STOWAWAY_REGISTRY_TOKEN } : {}),
            },
          });
          await queue.work(
            async (job) => {
              log(`job ${job.id} ${job.kind} attempt ${job.attempt}: started`);
              try {
                const output = await runner(job);
                log(`job ${job.id} ${job.kind}: succeeded`);
                return output;
              } catch (error) {
                log(`job ${job.id} ${job.kind} attempt ${job.attempt}: failed: ${lib.errorLine(error)}`);
                throw error;
              }
            },
            { concurrency },
          );
          const scheduler = new lib.Scheduler(store, queue, { intervalMs, log });
          scheduler.start();
          stoppers.push(() => scheduler.stop());
          log(`workers: ${concurrency} on the ${queue.kind} queue of ${store.location}, database ${database}`);
        }
        if (runApi) {
          service = await lib.startService({
            store,
            queue,
            listen: flags.listen,
            rateLimit: { perSecond, burst: perSecond * 4 },
            maxBodyBytes,
            allowLocalImages: flags.allowLocalImages === true,
            log,
            ...(flags.tlsCert && flags.tlsKey ? { tls: { certFile: flags.tlsCert, keyFile: flags.tlsKey } } : {}),
          });
          stoppers.unshift(() => service!.close());
          // Tests and scripts read the address from this line (with --listen 127.0.0.1:0).
          log(`listening on ${service.url} (store ${store.location})`);
        }
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            process.off("SIGINT", stop);
            process.off("SIGTERM", stop);
            resolve();
          };
          process.on("SIGINT", stop);
          process.on("SIGTERM", stop);
        });
        log("stopping");
      } finally {
        for (const stop of stoppers) await stop().catch(() => undefined);
        await queue.stop().catch(() => undefined);
        await store.close().catch(() => undefined);
      }
    });

  const token = serve.command("token").description("manage API tokens of the service");
  token
    .command("create")
    .description("create an API token; it is printed once and stored hashed")
    .addOption(
      new Option("--scope <scope>", "read: GET endpoints; write: also scans, registries, schedules")
        .choices(["read", "write"])
        .makeOptionMandatory(),
    )
    .option("--name <name>", "what the token is for (shown in token list)")
    .option("--expires-in <duration>", "e.g. 90d, 12h, 30m (default: no expiry)")
    .option("--store <store>", "results store: a SQLite file or a postgres:// URL (or env STOWAWAY_STORE)")
    .option("--cache-dir <dir>", "default store location")
    .action(async (_flags: TokenCreateFlags, command: Command) => {
      // --store may be parsed by `serve` itself (it has the same option): read both levels.
      const flags = command.optsWithGlobals<TokenCreateFlags>();
      const lib = await loadService();
      const store = await lib.openServiceStore(storeSpec(flags, io, lib));
      try {
        const now = new Date();
        const expiresAt = flags.expiresIn
          ? new Date(
              now.getTime() +
                parseDuration(flags.expiresIn, "--expires-in", (message) => {
                  throw new lib.StowawayError(message);
                }),
            )
          : undefined;
        const created = await lib.createApiToken(store, {
          scope: flags.scope,
          ...(flags.name ? { name: flags.name } : {}),
          ...(expiresAt ? { expiresAt } : {}),
          now,
        });
        // The token goes to stdout only (for a secret store); the note to stderr.
        io.stdout.write(`${created.token}\n`);
        io.stderr.write(
          `token ${created.record.id} (${created.record.scope}${expiresAt ? `, expires ${expiresAt.toISOString()}` : ""}) created; it is not shown again\n`,
        );
      } finally {
        await store.close();
      }
    });
  token
    .command("list")
    .description("list API tokens (ids, scopes, expiry; never the secrets)")
    .option("--store <store>", "results store (or env STOWAWAY_STORE)")
    .option("--cache-dir <dir>", "default store location")
    .action(async (_flags: { store?: string; cacheDir?: string }, command: Command) => {
      const flags = command.optsWithGlobals<{ store?: string; cacheDir?: string }>();
      const lib = await loadService();
      const store = await lib.openServiceStore(storeSpec(flags, io, lib));
      try {
        for (const record of await store.listTokens()) {
          const state = record.revoked ? "revoked" : record.expiresAt ? `expires ${record.expiresAt}` : "no expiry";
          io.stdout.write(
            `${record.id}\t${record.scope}\t${state}\t${neutralizeLog(record.name)}\t${record.createdAt}\n`,
          );
        }
      } finally {
        await store.close();
      }
    });
  token
    .command("revoke")
    .description("revoke an API token by id")
    .argument("<id>", "the token id (the 16 hex digits after stw_)")
    .option("--store <store>", "results store (or env STOWAWAY_STORE)")
    .option("--cache-dir <dir>", "default store location")
    .action(async (id: string, _flags: { store?: string; cacheDir?: string }, command: Command) => {
      const flags = command.optsWithGlobals<{ store?: string; cacheDir?: string }>();
      const lib = await loadService();
      const store = await lib.openServiceStore(storeSpec(flags, io, lib));
      try {
        if (!(await store.revokeToken(id)))
          throw new lib.StowawayError(`no token "${neutralizeLog(id)}"; see stowaway serve token list`);
        io.stderr.write(`token ${id} revoked\n`);
      } finally {
        await store.close();
      }
    });
}
