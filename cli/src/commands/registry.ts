import { Option, type Command } from "commander";
import type { FindingChange, ImageEvent, InventoryReportFormat, InventoryStore } from "@stowaway/core/inventory";
import { neutralizeLog, plural } from "@stowaway/core/log-safety";
import { EXIT_ERROR, EXIT_OK, EXIT_POLICY_FAILED } from "../exit-codes.js";
import { addRegistryAccessOptions, cacheDirFlag, imageAccessFrom, type ImageFlags } from "../image-options.js";
import { addGateOptions, gateRequestFrom, type GateFlags } from "../gate-options.js";
import type { Io } from "../io.js";

interface StoreFlags {
  store?: string;
  cacheDir?: string;
}

interface RegistryScanFlags extends ImageFlags, StoreFlags, GateFlags {
  tags?: string;
  since?: string;
  maxImages?: string;
  jobs: string;
  pageSize?: string;
  reinventory?: boolean;
  notifyWebhook?: string;
}

interface RescanFlags extends StoreFlags, GateFlags {
  notifyWebhook?: string;
}

interface ReportFlags extends StoreFlags {
  since: string;
  format: InventoryReportFormat;
  cve?: string;
  output?: string;
}

/** The inventory report formats (core's INVENTORY_REPORT_FORMATS), listed here so help needs no core. */
const REPORT_FORMATS: readonly InventoryReportFormat[] = ["table", "json", "markdown", "html"];

/** Core and its inventory module, loaded when a registry command runs (CLI start-up stays light). */
async function loadCore() {
  const [core, inventory] = await Promise.all([import("@stowaway/core"), import("@stowaway/core/inventory")]);
  return { ...core, ...inventory };
}
type Lib = Awaited<ReturnType<typeof loadCore>>;

function positiveInteger(lib: Lib, value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new lib.StowawayError(`${flag} "${value}" must be a whole number of at least 1`);
  return Number(value);
}

/** `host[:port][/repository-prefix]`; the first component is the registry, as in image references. */
export function parseRegistryTarget(
  lib: Pick<Lib, "StowawayError">,
  target: string,
): { host: string; prefix?: string } {
  const trimmed = target.replace(/^[a-z]+:\/\//i, "").replace(/\/+$/, "");
  const slash = trimmed.indexOf("/");
  const host = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const prefix = slash === -1 ? undefined : trimmed.slice(slash + 1);
  if (!host || !/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(host)) {
    throw new lib.StowawayError(`registry "${target}" is not REGISTRY[/REPO-PREFIX], e.g. registry.example.com/team`);
  }
  return { host, ...(prefix ? { prefix } : {}) };
}

function storeSpec(lib: Lib, flags: StoreFlags, io: Io): string {
  const { cacheDir } = lib.resolveDefaults({ env: io.env, cacheDir: flags.cacheDir });
  return flags.store ?? io.env.STOWAWAY_STORE ?? lib.defaultStorePath(cacheDir || undefined);
}

async function withStore<T>(
  lib: Lib,
  flags: StoreFlags,
  io: Io,
  body: (store: InventoryStore) => Promise<T>,
  open: { existing?: boolean } = {},
): Promise<T> {
  const store = await lib.openStore(storeSpec(lib, flags, io), open);
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

function eventLine(event: ImageEvent): string {
  // Images pulled by digest (cluster inventory) have no tag sightings: name the repository they come from.
  const where = event.target.tags.length
    ? event.target.tags.map((tag) => `${tag.repository}:${tag.tag}`).join(", ")
    : event.target.repository;
  const head = `[${event.position}/${event.total}] ${event.target.registry}/${where} ${event.target.digest.slice(0, 19)}${event.target.platform ? ` (${event.target.platform})` : ""}`;
  if (event.outcome === "failed") return `${head}: FAILED: ${neutralizeLog(event.message ?? "")}`;
  if (event.outcome === "skipped") return `${head}: skipped (${neutralizeLog(event.message ?? "")})`;
  const findings = event.result?.findings;
  // Unrated findings as `scan` words them, when present: a line must not read as clean when it is not.
  const unrated = findings?.filter((f) => f.severity === "unknown").length ?? 0;
  const counts = findings
    ? ["critical", "high", "medium", "low"]
        .map((s) => `${findings.filter((f) => f.severity === s).length} ${s}`)
        .join(", ") + (unrated > 0 ? `, ${unrated} unrated` : "")
    : "not checked";
  const verdict = event.result?.policy ? `; policy ${event.result.policy.outcome.toUpperCase()}` : "";
  return `${head}: ${event.outcome}, ${plural(event.result?.packages.length ?? 0, "package")}, ${counts}${verdict}`;
}

export function progressWriter(io: Io): (event: ImageEvent) => void {
  const tty = Boolean(io.stderr.isTTY && !io.env.CI);
  return (event) => {
    if (!tty) {
      io.stderr.write(`${neutralizeLog(eventLine(event))}\n`);
      return;
    }
    const width = 30;
    const filled = Math.round((event.position / event.total) * width);
    io.stderr.write(`\r\u001b[2K[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${event.position}/${event.total}`);
    if (event.outcome === "failed") io.stderr.write(`\n${neutralizeLog(eventLine(event))}\n`);
    if (event.position === event.total) io.stderr.write("\n");
  };
}

async function notify(
  lib: Lib,
  url: string | undefined,
  store: InventoryStore,
  run: { runId: string; kind: "scan" | "rescan"; target: string },
  changes: FindingChange[],
  io: Io,
): Promise<boolean> {
  if (!url || !changes.some((change) => change.kind === "new")) return true;
  const sightings = await store.sightings();
  const references = (digest: string) =>
    sightings.filter((s) => s.current && s.digest === digest).map((s) => `${s.registry}/${s.repository}:${s.tag}`);
  try {
    await lib.postWebhook(url, lib.summariseChanges(run, changes, references));
    return true;
  } catch (error) {
    io.stderr.write(`stowaway: error: ${neutralizeLog((error as Error).message)}\n`);
    return false;
  }
}

function changeLine(changes: FindingChange[]): string {
  const count = (kind: FindingChange["kind"]) => changes.filter((change) => change.kind === kind).length;
  return `${plural(count("new"), "new finding")}, ${count("fixed")} fixed, ${count("newly-fixable")} newly fixable`;
}

/** `stowaway registry scan|rescan|report`: inventory a registry into the store, re-match it, show it. */
export function registerRegistryCommands(program: Command, io: Io, setExitCode: (code: number) => void): void {
  const registry = program
    .command("registry")
    .description("inventory whole registries into a store, rescan them without pulling, report what changed");

  const scanCommand = addRegistryAccessOptions(
    registry
      .command("scan")
      .description("walk REGISTRY[/REPO-PREFIX] (catalog, tags), scan each unique image digest once, store the results")
      .argument(
        "<registry>",
        "REGISTRY[/REPO-PREFIX], e.g. registry.example.com/team (Docker Hub: docker.io/NAMESPACE/REPO)",
      )
      .option("--tags <glob>", "only tags matching GLOB (* and ?)")
      .option("--since <duration>", "only images created within DURATION (config `created`), e.g. 7d, 12h")
      .option("--max-images <n>", "scan at most N unique images")
      .option(
        "--store <file|postgres://...>",
        "results store (default: $STOWAWAY_STORE or inventory.sqlite in the cache dir)",
      )
      .option("--jobs <n>", "images scanned at once", "2")
      .addOption(new Option("--page-size <n>", "entries per catalog/tags page").hideHelp())
      .option("--platform <os/arch[/variant]>", "only this platform of multi-arch images (default: every platform)")
      .option(
        "--reinventory",
        "pull and inventory digests the store already holds (default: re-match their stored inventory)",
      )
      .option(
        "--notify-webhook <url>",
        "POST a JSON summary of new findings (Slack/Teams compatible; or $STOWAWAY_NOTIFY_WEBHOOK)",
      )
      .option("--debug", "show stack traces for errors"),
  );
  addGateOptions(scanCommand, {
    failOnHelp: "exit 1 when any image has findings at or above SEVERITY",
    policyHelp: "policy file or central policy URL; the verdict is stored per image",
  }).action(async (target: string, flags: RegistryScanFlags) => {
    const lib = await loadCore();
    const { host, prefix } = parseRegistryTarget(lib, target);
    const cacheDir = cacheDirFlag(flags);
    // The same request shape and defaults as `stowaway scan`, without a target: the walk finds the images.
    const { options, policy: gate } = await lib.resolveScanRequest({
      access: { registry: (await imageAccessFrom({ ...flags, platform: undefined }, io)).registry },
      env: io.env,
      ...(cacheDir !== undefined ? { cacheDir } : {}),
      ...gateRequestFrom(flags, lib),
      ...(flags.caFile ? { caFile: flags.caFile } : {}),
      onNotice: (message) => io.stderr.write(`notice: ${neutralizeLog(message)}\n`),
    });
    const sinceMs = flags.since ? lib.parseDuration(flags.since, "--since") : undefined;
    const maxImages = positiveInteger(lib, flags.maxImages, "--max-images");
    const pageSize = positiveInteger(lib, flags.pageSize, "--page-size");
    await withStore(lib, flags, io, async (store) => {
      const run = await lib.scanRegistry({
        ...options,
        store,
        host,
        ...(prefix ? { prefix } : {}),
        ...(flags.tags ? { tags: flags.tags } : {}),
        ...(sinceMs !== undefined ? { sinceMs } : {}),
        ...(maxImages !== undefined ? { maxImages } : {}),
        jobs: positiveInteger(lib, flags.jobs, "--jobs") ?? 2,
        ...(flags.platform ? { platform: lib.parsePlatform(flags.platform) } : {}),
        ...(flags.reinventory ? { reinventory: true } : {}),
        ...(pageSize ? { client: { pageSize } } : {}),
        onImage: progressWriter(io),
        onProblem: (problem) =>
          io.stderr.write(`warning: ${neutralizeLog(problem.what)}: ${neutralizeLog(problem.message)}\n`),
      });
      const failedGate = run.images.filter((event) => event.verdict === "fail").length;
      io.stdout.write(
        `${run.registry}${prefix ? `/${prefix}` : ""}: ${plural(run.repositories.length, "repository", "repositories")}, ${plural(run.summary.images, "image")} stored in ${store.location}` +
          `, ${run.summary.failed} failed; ${changeLine(run.changes)}${gate ? `; ${plural(failedGate, "image")} ${failedGate === 1 ? "fails" : "fail"} the gate` : ""} (run ${run.runId})\n`,
      );
      const notified = await notify(
        lib,
        flags.notifyWebhook ?? io.env.STOWAWAY_NOTIFY_WEBHOOK,
        store,
        { runId: run.runId, kind: "scan", target: `${run.registry}${prefix ? `/${prefix}` : ""}` },
        run.changes,
        io,
      );
      setExitCode(run.summary.failed > 0 || !notified ? EXIT_ERROR : failedGate > 0 ? EXIT_POLICY_FAILED : EXIT_OK);
    });
  });

  const rescanCommand = registry
    .command("rescan")
    .description(
      "re-match every stored inventory against the current database (no registry access) and record what changed",
    )
    .option(
      "--store <file|postgres://...>",
      "results store (default: $STOWAWAY_STORE or inventory.sqlite in the cache dir)",
    )
    .option("--cache-dir <dir>", "cache directory holding the default store")
    .option("--notify-webhook <url>", "POST a JSON summary of new findings (or $STOWAWAY_NOTIFY_WEBHOOK)")
    .option("--debug", "show stack traces for errors");
  addGateOptions(rescanCommand, {
    failOnHelp: "exit 1 when any image has findings at or above SEVERITY",
    policyHelp: "policy to evaluate again on every image",
  }).action(async (flags: RescanFlags) => {
    const lib = await loadCore();
    // The same request shape and defaults as `registry scan`, without any image access.
    const { options, policy: gate } = await lib.resolveScanRequest({
      env: io.env,
      ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
      ...gateRequestFrom(flags, lib),
      onNotice: (message) => io.stderr.write(`notice: ${neutralizeLog(message)}\n`),
    });
    // A rescan without a database would erase every finding: one is required.
    const database = lib.resolveDatabase(flags.db, true, io.env);
    await withStore(lib, flags, io, async (store) => {
      // The changes stay in the store (a first rescan has one per finding of every image); the
      // webhook reads them back only when there is something new to post.
      const run = await lib.rescanStore({
        store,
        database: database.dir!,
        ...(gate ? { policy: gate } : {}),
        ...(options.match ? { match: options.match } : {}),
        ...(options.suppressions ? { suppressions: options.suppressions } : {}),
        keepChanges: false,
      });
      const { newFindings, fixedFindings, newlyFixable } = run.summary;
      io.stdout.write(
        `rescanned ${plural(run.summary.images, "stored image")} in ${store.location}: ${plural(newFindings, "new finding")}, ${fixedFindings} fixed, ${newlyFixable} newly fixable (run ${run.runId})\n`,
      );
      const webhook = flags.notifyWebhook ?? io.env.STOWAWAY_NOTIFY_WEBHOOK;
      const notified = await notify(
        lib,
        webhook,
        store,
        { runId: run.runId, kind: "rescan", target: "" },
        webhook && newFindings > 0 ? await store.changes(run.runId) : [],
        io,
      );
      const images = gate ? await store.listImages() : [];
      const failedGate = images.filter((image) => image.result.policy?.outcome === "fail").length;
      setExitCode(!notified ? EXIT_ERROR : failedGate > 0 ? EXIT_POLICY_FAILED : EXIT_OK);
    });
  });

  registry
    .command("report")
    .description(
      "registries, repositories, images by worst severity, what is new since the last run, who a CVE affects",
    )
    .option(
      "--store <file|postgres://...>",
      "results store (default: $STOWAWAY_STORE or inventory.sqlite in the cache dir)",
    )
    .option("--cache-dir <dir>", "cache directory holding the default store")
    .option("--since <run>", "whose changes count as new: last-run or a run id", "last-run")
    .addOption(new Option("-f, --format <format>", "report format").choices([...REPORT_FORMATS]).default("table"))
    .option("--cve <id>", "which images, tags and repositories this vulnerability (or alias) affects")
    .option("-o, --output <file>", "write the report to FILE instead of stdout")
    .option("--debug", "show stack traces for errors")
    .action(async (flags: ReportFlags) => {
      const lib = await loadCore();
      await withStore(
        lib,
        flags,
        io,
        async (store) => {
          const report = await lib.buildInventoryReport(store, {
            since: flags.since,
            ...(flags.cve ? { cve: flags.cve } : {}),
          });
          const text = lib.renderInventoryReport(flags.format, report);
          if (flags.output) await lib.writeFileAtomic(flags.output, text);
          else io.stdout.write(text);
          // A report only reads: a mistyped --store is refused, not created empty.
        },
        { existing: true },
      );
      setExitCode(EXIT_OK);
    });
}
