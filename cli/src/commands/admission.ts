import type { Command } from "commander";
import { neutralizeLog } from "@stowaway/core/log-safety";
import { addRegistryAccessOptions, inventoryOptionsFrom, type ImageFlags } from "../image-options.js";
import type { Io } from "../io.js";

interface AdmissionFlags extends Omit<ImageFlags, "output" | "progress"> {
  listen: string;
  tlsCert: string;
  tlsKey: string;
  policy: string;
  store?: string;
  db?: string;
  failOpen?: boolean;
  timeout: string;
  cacheTtl: string;
  exemptNamespace: string[];
  exemptImage: string[];
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** "8s", "1500ms", "8" (seconds) → milliseconds. */
function parseTimeout(text: string, flag: string, StowawayError: new (message: string) => Error): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  if (!match) throw new StowawayError(`${flag} ${text}: expected a duration such as 8s or 1500ms`);
  const value = Number(match[1]);
  return Math.round(match[2] === "ms" ? value : value * 1000);
}

/** `stowaway admission serve`: the Kubernetes ValidatingAdmissionWebhook (docs/admission.md). */
export function registerAdmissionCommands(program: Command, io: Io, waitForStop: () => Promise<void>): void {
  const admission = program.command("admission").description("Kubernetes admission control");
  addRegistryAccessOptions(
    admission
      .command("serve")
      .description("serve the ValidatingAdmissionWebhook at https://HOST:PORT/validate until SIGTERM")
      .requiredOption("--listen <host:port>", "address to listen on, e.g. 0.0.0.0:8443")
      .requiredOption("--tls-cert <pem>", "server certificate (PEM) the API server trusts through caBundle")
      .requiredOption("--tls-key <pem>", "private key (PEM) of --tls-cert")
      .requiredOption("--policy <file|https-url>", "policy applied to every image (trust, gate, image rules)")
      .option("--store <sqlite-file|postgres-url>", "stored results to answer from (and to record new scans in)")
      .option("--db <dir>", "vulnerability database directory (default: $STOWAWAY_DB_DIR or ~/.cache/stowaway/db)")
      .option("--fail-open", "admit (with a warning) images that cannot be checked in time; default: deny")
      .option("--timeout <duration>", "answer within this time; keep it below the webhook's timeoutSeconds", "8s")
      .option("--cache-ttl <duration>", "how long a verdict is answered from memory", "300s")
      .option("--exempt-namespace <ns>", "admit workloads of this namespace unchecked (repeatable)", collect, [])
      .option("--exempt-image <glob>", "admit images matching this glob unchecked (repeatable)", collect, [])
      .option("--platform <os/arch[/variant]>", "platform judged for multi-arch images (default linux/amd64)"),
  ).action(async (flags: AdmissionFlags) => {
    const [core, admissionLib] = await Promise.all([import("@stowaway/core"), import("@stowaway/core/admission")]);
    const timeoutMs = parseTimeout(flags.timeout, "--timeout", core.StowawayError);
    if (timeoutMs >= 10_000) {
      io.stderr.write(
        "warning: --timeout is not below 10s, the API server's default webhook timeout; it may give up first\n",
      );
    }
    const cacheTtlMs = parseTimeout(flags.cacheTtl, "--cache-ttl", core.StowawayError);
    const access = await inventoryOptionsFrom({ ...flags, progress: false }, io);
    const policy = await core.loadPolicy(flags.policy, { env: io.env });
    const database = core.resolveDatabase(flags.db, core.hasVulnerabilityRules(policy.gate), io.env);
    if (database.notice) io.stderr.write(`notice: ${neutralizeLog(database.notice)}\n`);
    const store = flags.store ? await admissionLib.openStore(flags.store) : undefined;
    const controller = new admissionLib.AdmissionController({
      policy,
      ...(database.dir ? { database: database.dir } : {}),
      ...(store ? { store } : {}),
      ...(access.registry ? { registry: access.registry } : {}),
      ...(access.platform ? { platform: access.platform } : {}),
      cacheDir: access.cacheDir ?? false,
      timeoutMs,
      cacheTtlMs,
      failOpen: Boolean(flags.failOpen),
      exemptNamespaces: flags.exemptNamespace,
      exemptImages: flags.exemptImage,
      log: (line) => io.stderr.write(`${line}\n`),
    });
    const server = await admissionLib.startAdmissionServer({
      controller,
      listen: flags.listen,
      tlsCert: flags.tlsCert,
      tlsKey: flags.tlsKey,
      log: (line) => io.stderr.write(`${neutralizeLog(line)}\n`),
    });
    io.stderr.write(
      `stowaway admission: listening on https://${server.address}/validate (${flags.failOpen ? "fail-open" : "fail-closed"}, timeout ${timeoutMs} ms)\n`,
    );
    await waitForStop();
    await server.close();
    await store?.close();
    io.stderr.write("stowaway admission: stopped\n");
  });
}
