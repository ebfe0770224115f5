import { Option, type Command } from "commander";
import { jsonLogSafe, neutralizeLog, plural } from "@stowaway/core/log-safety";
import { EXIT_ERROR, EXIT_OK, EXIT_POLICY_FAILED } from "../exit-codes.js";
import { addRegistryAccessOptions, cacheDirFlag, imageAccessFrom, type ImageFlags } from "../image-options.js";
import { addGateOptions, gateRequestFrom, type GateFlags } from "../gate-options.js";
import type { Io } from "../io.js";
import { progressWriter } from "./registry.js";

interface ClusterFlags extends Omit<ImageFlags, "output" | "progress" | "platform">, GateFlags {
  kubeconfig?: string;
  store?: string;
  cve?: string;
  checkDrift?: boolean;
  only?: "drift" | "never-scanned" | "denied";
  /** `--no-scan` sets it false. */
  scan: boolean;
  jobs: string;
  format: "table" | "json";
}

/** `stowaway cluster inventory`: where images run, whether they were scanned, drift (docs/admission.md §5). */
export function registerClusterCommands(program: Command, io: Io, setExitCode: (code: number) => void): void {
  const cluster = program.command("cluster").description("running workloads of a Kubernetes cluster");
  const inventoryCommand = addRegistryAccessOptions(
    cluster
      .command("inventory")
      .description("list running containers by image digest, joined with the results store")
      .option("--kubeconfig <file>", "kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)")
      .option("--store <sqlite-file|postgres-url>", "results store (default: the cache dir's inventory.sqlite)")
      .option(
        "--cve <id>",
        "only images whose stored findings include this vulnerability (and the workloads running them)",
      )
      .option("--check-drift", "ask each registry where the running tag points now; flag images that moved")
      .addOption(
        new Option("--only <flag>", "only images that drifted, were never scanned, or are denied by policy").choices([
          "drift",
          "never-scanned",
          "denied",
        ]),
      )
      .option("--no-scan", "only list: do not pull and scan running digests the store does not hold")
      .option("--jobs <n>", "images scanned at once", "2")
      .option("-f, --format <format>", "table or json", "table")
      .option("--debug", "show stack traces for errors"),
  );
  // The verdict flags of `scan` and `registry scan`, for the never-scanned digests this command scans.
  addGateOptions(inventoryCommand, {
    failOnHelp: "gate scanned images on findings at or above SEVERITY",
    policyHelp: "policy file or central policy URL; the verdict is stored per image",
  }).action(async (flags: ClusterFlags) => {
    const [core, inventory] = await Promise.all([import("@stowaway/core"), import("@stowaway/core/inventory")]);
    if (flags.format !== "table" && flags.format !== "json") {
      throw new core.StowawayError(`--format ${flags.format}: use table or json`);
    }
    if (!/^\d+$/.test(flags.jobs) || Number(flags.jobs) < 1) {
      throw new core.StowawayError(`--jobs "${flags.jobs}" must be a whole number of at least 1`);
    }
    const cacheDir = cacheDirFlag(flags);
    const registry = (await imageAccessFrom({ ...flags, platform: undefined }, io)).registry!;
    // Scans of never-seen digests take the same request shape and defaults as `registry scan`.
    const scanRequest = flags.scan
      ? await core.resolveScanRequest({
          access: { registry },
          env: io.env,
          ...(cacheDir !== undefined ? { cacheDir } : {}),
          ...gateRequestFrom(flags, core),
          ...(flags.caFile ? { caFile: flags.caFile } : {}),
          onNotice: (message) => io.stderr.write(`notice: ${neutralizeLog(message)}\n`),
        })
      : undefined;
    const containers = await inventory.listRunningContainers(flags.kubeconfig);
    const storeSpec =
      flags.store ??
      io.env.STOWAWAY_STORE ??
      inventory.defaultStorePath(flags.cacheDir ?? core.defaultCacheDir(io.env));
    const store = await inventory.openStore(storeSpec);
    let rows;
    let failedScans = 0;
    let scanned: { runId: string; images: number; failed: number } | undefined;
    try {
      if (scanRequest) {
        const run = await inventory.scanRunningImages(containers, {
          ...scanRequest.options,
          store,
          jobs: Number(flags.jobs),
          onImage: progressWriter(io),
          onProblem: (problem) =>
            io.stderr.write(`warning: ${neutralizeLog(problem.what)}: ${neutralizeLog(problem.message)}\n`),
        });
        failedScans = run.summary.failed + run.problems.length;
        scanned = { runId: run.runId, images: run.summary.images, failed: failedScans };
        if (run.images.length > 0 || run.problems.length > 0) {
          io.stderr.write(
            `scanned ${plural(run.summary.images, "running image")} not yet in ${store.location}, ${failedScans} failed (run ${run.runId})\n`,
          );
        }
      }
      // Where each digest runs is kept, so later questions ("who runs this digest?") need no cluster access.
      await inventory.recordClusterWorkloads(
        store,
        containers
          .filter((container) => container.digest !== undefined)
          .map((container) => ({ ...container, digest: container.digest! })),
        new Date().toISOString(),
      );
      rows = await inventory.clusterImageReport(containers, {
        store,
        ...(flags.cve ? { cve: flags.cve } : {}),
        ...(flags.checkDrift ? { checkDrift: true } : {}),
        ...(flags.only ? { flag: flags.only } : {}),
        registry,
      });
    } finally {
      await store.close();
    }
    if (flags.format === "json") {
      io.stdout.write(
        `${jsonLogSafe(JSON.stringify({ containers: containers.length, ...(scanned ? { scan: scanned } : {}), images: rows }, null, 2))}\n`,
      );
    } else {
      for (const row of rows) {
        const flagsText = [
          row.state === "never-scanned" ? "NEVER SCANNED" : row.state === "unknown-digest" ? "not pulled yet" : "",
          row.outcome === "fail" ? "DENIED by policy" : row.outcome ? `policy ${row.outcome}` : "",
          row.findings !== undefined ? plural(row.findings, "finding") : "",
          row.drift
            ? row.drift.current
              ? `DRIFT: tag now ${row.drift.current}`
              : "DRIFT: tag no longer in the registry"
            : "",
        ]
          .filter(Boolean)
          .join("; ");
        io.stdout.write(
          // The whole line: image, digest and a drifted tag's digest all come from the cluster or registry.
          `${neutralizeLog(`${row.image} ${row.digest ?? ""} (${plural(row.workloads.length, "workload")})${flagsText ? `: ${flagsText}` : ""}`)}\n`,
        );
        for (const workload of row.workloads) io.stdout.write(`  ${neutralizeLog(workload)}\n`);
      }
      io.stderr.write(`${plural(containers.length, "running container")}, ${plural(rows.length, "image")}\n`);
    }
    setExitCode(
      failedScans > 0
        ? EXIT_ERROR
        : rows.some((row) => row.state !== "scanned" || row.outcome === "fail" || row.drift)
          ? EXIT_POLICY_FAILED
          : EXIT_OK,
    );
  });

  cluster
    .command("image")
    .description(
      "how widespread an image is, from the store: its tags, repositories, clusters, namespaces and workloads",
    )
    .argument("<digest>", "manifest or index digest, sha256:...")
    .option("--store <sqlite-file|postgres-url>", "results store (default: the cache dir's inventory.sqlite)")
    .option("--cache-dir <dir>", "cache directory holding the default store")
    .option("-f, --format <format>", "table or json", "table")
    .option("--debug", "show stack traces for errors")
    .action(async (digest: string, flags: { store?: string; cacheDir?: string; format: string }) => {
      const [core, inventory] = await Promise.all([import("@stowaway/core"), import("@stowaway/core/inventory")]);
      if (flags.format !== "table" && flags.format !== "json") {
        throw new core.StowawayError(`--format ${flags.format}: use table or json`);
      }
      if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
        throw new core.StowawayError(`"${digest}" is not a sha256 digest; give sha256: and 64 hex digits`);
      }
      const store = await inventory.openStore(
        flags.store ??
          io.env.STOWAWAY_STORE ??
          inventory.defaultStorePath(flags.cacheDir ?? core.defaultCacheDir(io.env)),
        { existing: true },
      );
      let spread;
      try {
        spread = await inventory.imageSpread(store, digest);
      } finally {
        await store.close();
      }
      if (flags.format === "json") {
        io.stdout.write(`${jsonLogSafe(JSON.stringify(spread, null, 2))}\n`);
      } else {
        const verdict = spread.scanned
          ? `scanned${spread.outcome ? `, policy ${spread.outcome}` : ""}${spread.findings !== undefined ? `, ${plural(spread.findings, "finding")}` : ""}`
          : "NEVER SCANNED";
        const lines = [
          `${digest}: ${verdict}`,
          ...(spread.related.length > 0 ? [`related: ${spread.related.join(", ")}`] : []),
          `tags (${spread.tags.length}):`,
          ...spread.tags.map(
            (tag) => `  ${tag.registry}/${tag.repository}:${tag.tag}${tag.current ? "" : " (moved since)"}`,
          ),
          `repositories (${spread.repositories.length}): ${spread.repositories.join(", ")}`,
          `clusters (${spread.clusters.length}): ${spread.clusters.join(", ")}`,
          `namespaces (${spread.namespaces.length}): ${spread.namespaces.join(", ")}`,
          `workloads (${spread.workloads.filter((w) => w.running).length} running):`,
          ...spread.workloads.map(
            (w) =>
              `  ${w.cluster} ${w.namespace}/${w.workload} ${w.container} ${w.image}${w.running ? "" : ` (not seen since ${w.lastSeen})`}`,
          ),
        ];
        for (const line of lines) io.stdout.write(`${neutralizeLog(line)}\n`);
      }
      setExitCode(EXIT_OK);
    });
}
