import type { Command } from "commander";
import { jsonLogSafe, neutralizeLog } from "@stowaway/core/log-safety";
import { EXIT_OK, EXIT_POLICY_FAILED } from "../exit-codes.js";
import { addRegistryAccessOptions, inventoryOptionsFrom, type ImageFlags } from "../image-options.js";
import type { Io } from "../io.js";

interface ClusterFlags extends Omit<ImageFlags, "output" | "progress" | "platform"> {
  kubeconfig?: string;
  store?: string;
  cve?: string;
  checkDrift?: boolean;
  format: "table" | "json";
}

/** `stowaway cluster inventory`: where images run, whether they were scanned, drift (docs/admission.md §5). */
export function registerClusterCommands(program: Command, io: Io, setExitCode: (code: number) => void): void {
  const cluster = program.command("cluster").description("running workloads of a Kubernetes cluster");
  addRegistryAccessOptions(
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
      .option("-f, --format <format>", "table or json", "table"),
  ).action(async (flags: ClusterFlags) => {
    const [core, inventory] = await Promise.all([import("@stowaway/core"), import("@stowaway/core/inventory")]);
    if (flags.format !== "table" && flags.format !== "json") {
      throw new core.StowawayError(`--format ${flags.format}: use table or json`);
    }
    const access = await inventoryOptionsFrom({ ...flags, progress: false }, io);
    const containers = await inventory.listRunningContainers(flags.kubeconfig);
    const storeSpec =
      flags.store ??
      io.env.STOWAWAY_STORE ??
      inventory.defaultStorePath(flags.cacheDir ?? core.defaultCacheDir(io.env));
    const store = await inventory.openStore(storeSpec);
    let rows;
    try {
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
        ...(access.registry ? { registry: access.registry } : {}),
      });
    } finally {
      await store.close();
    }
    if (flags.format === "json") {
      io.stdout.write(`${jsonLogSafe(JSON.stringify({ containers: containers.length, images: rows }, null, 2))}\n`);
    } else {
      for (const row of rows) {
        const flagsText = [
          row.state === "never-scanned" ? "NEVER SCANNED" : row.state === "unknown-digest" ? "not pulled yet" : "",
          row.outcome === "fail" ? "DENIED by policy" : row.outcome ? `policy ${row.outcome}` : "",
          row.findings !== undefined ? `${row.findings} findings` : "",
          row.drift ? `DRIFT: tag now ${row.drift.current}` : "",
        ]
          .filter(Boolean)
          .join("; ");
        io.stdout.write(
          // The whole line: image, digest and a drifted tag's digest all come from the cluster or registry.
          `${neutralizeLog(`${row.image} ${row.digest ?? ""} (${row.workloads.length} workload${row.workloads.length === 1 ? "" : "s"})${flagsText ? `: ${flagsText}` : ""}`)}\n`,
        );
        for (const workload of row.workloads) io.stdout.write(`  ${neutralizeLog(workload)}\n`);
      }
      io.stderr.write(`${containers.length} running containers, ${rows.length} images\n`);
    }
    setExitCode(
      rows.some((row) => row.state !== "scanned" || row.outcome === "fail" || row.drift) ? EXIT_POLICY_FAILED : EXIT_OK,
    );
  });
}
