import type { Command } from "commander";
import type { ImageAccess, InventoryOptions, LayerProgress, RegistryTimeouts } from "@stowaway/core";
import type { Io } from "./io.js";
import { layerProgressReporter } from "./progress.js";

export interface ImageFlags {
  platform?: string;
  username?: string;
  password?: string;
  registryToken?: string;
  insecure?: boolean;
  caFile?: string;
  timeoutConnect?: string;
  timeoutFirstByte?: string;
  timeoutIdle?: string;
  cacheDir?: string;
  cache: boolean;
  output?: string;
  progress?: boolean;
  debug?: boolean;
}

/** The target and the options every image-reading command shares. */
export function addImageOptions(command: Command): Command {
  command
    .argument(
      "<target>",
      "oci-archive:PATH, docker-archive:PATH, oci:DIR[:TAG|@DIGEST], sbom:FILE, a path, or a registry reference",
    )
    .option(
      "--platform <os/arch[/variant]>",
      "platform the image must have (default: linux/amd64 from a multi-arch index; a single-platform image is scanned as it is)",
    );
  return addRegistryAccessOptions(command)
    .option("-o, --output <file>", "write the report to FILE instead of stdout")
    .option("--progress", "show layer progress on stderr even when it is not a terminal")
    .option("--debug", "show stack traces for errors");
}

/** Credentials, TLS, timeouts and cache options: shared by `scan`/`sbom` and `registry scan`. */
export function addRegistryAccessOptions(command: Command): Command {
  return command
    .option("--username <user>", "registry user (or env STOWAWAY_USERNAME)")
    .option(
      "--password <password>",
      "registry password (or env STOWAWAY_PASSWORD; prefer the env var, flags show in process lists)",
    )
    .option("--registry-token <token>", "static bearer token for the registry (or env STOWAWAY_REGISTRY_TOKEN)")
    .option("--insecure", "plain HTTP or unverified TLS for this registry only")
    .option("--ca-file <pem>", "extra CA certificates (PEM) to trust for the registry")
    .option(
      "--timeout-connect <seconds>",
      "registry connect timeout, TCP + TLS (default 10; or env STOWAWAY_TIMEOUT_CONNECT)",
    )
    .option(
      "--timeout-first-byte <seconds>",
      "wait for a registry's response headers (default 30; or env STOWAWAY_TIMEOUT_FIRST_BYTE)",
    )
    .option(
      "--timeout-idle <seconds>",
      "registry body silence that counts as a stall (default 30; or env STOWAWAY_TIMEOUT_IDLE)",
    )
    .option("--cache-dir <dir>", "per-layer cache directory (default: $XDG_CACHE_HOME/stowaway or ~/.cache/stowaway)")
    .option("--no-cache", "do not read or write the layer cache");
}

/** `--no-cache` turns the cache off; without `--cache-dir` core picks the default (resolveDefaults). */
export function cacheDirFlag(flags: Pick<ImageFlags, "cache" | "cacheDir">): string | false | undefined {
  return flags.cache === false ? false : flags.cacheDir;
}

/** How to reach the image: --platform, credentials (flags, else STOWAWAY_* variables), TLS and timeouts. */
export async function imageAccessFrom(flags: ImageFlags, io: Io): Promise<ImageAccess> {
  const { StowawayError, TIMEOUT_SETTINGS, parsePlatform, parseTimeoutSeconds } = await import("@stowaway/core/scan");
  const username = flags.username ?? io.env.STOWAWAY_USERNAME;
  const password = flags.password ?? io.env.STOWAWAY_PASSWORD;
  if ((username === undefined) !== (password === undefined)) {
    throw new StowawayError(
      "--username and --password go together (or STOWAWAY_USERNAME and STOWAWAY_PASSWORD); give both or neither",
    );
  }
  const flagValues: Record<string, string | undefined> = {
    "timeout-connect": flags.timeoutConnect,
    "timeout-first-byte": flags.timeoutFirstByte,
    "timeout-idle": flags.timeoutIdle,
  };
  const timeouts: RegistryTimeouts = {};
  for (const setting of TIMEOUT_SETTINGS) {
    const fromFlag = flagValues[setting.name];
    const ms = parseTimeoutSeconds(
      fromFlag !== undefined ? `--${setting.name}` : setting.env,
      fromFlag ?? io.env[setting.env],
    );
    if (ms !== undefined) timeouts[setting.key] = ms;
  }
  const registryToken = flags.registryToken ?? io.env.STOWAWAY_REGISTRY_TOKEN;
  return {
    ...(flags.platform ? { platform: parsePlatform(flags.platform) } : {}),
    registry: {
      ...(username !== undefined ? { username, password } : {}),
      ...(registryToken ? { registryToken } : {}),
      ...(flags.insecure ? { insecure: true } : {}),
      ...(flags.caFile ? { caFile: flags.caFile } : {}),
      ...(Object.keys(timeouts).length > 0 ? { timeouts } : {}),
      env: io.env,
    },
  };
}

/** Layer progress on stderr for a person at a terminal (or with --progress). */
export function progressFrom(flags: ImageFlags, io: Io): ((event: LayerProgress) => void) | undefined {
  const progress = flags.progress || Boolean(io.stderr.isTTY && !io.env.CI);
  return layerProgressReporter(io.stderr, progress);
}

/** What `sbom` hands to core's scan: access, cache and progress; core applies the defaults with io.env. */
export async function inventoryOptionsFrom(flags: ImageFlags, io: Io): Promise<InventoryOptions> {
  const cacheDir = cacheDirFlag(flags);
  const onProgress = progressFrom(flags, io);
  return {
    ...(await imageAccessFrom(flags, io)),
    ...(cacheDir !== undefined ? { cacheDir } : {}),
    env: io.env,
    ...(onProgress ? { onProgress } : {}),
  };
}

/** Colour only for a person at a terminal who has not asked for none. */
export function colorWanted(flags: ImageFlags, io: Io): boolean {
  return !flags.output && Boolean(io.stdout.isTTY) && !io.env.NO_COLOR;
}
