import type { Command } from "commander";
import { StowawayError, defaultCacheDir, parsePlatform, type InventoryOptions } from "@stowaway/core";
import type { Io } from "./io.js";
import { layerProgressReporter } from "./progress.js";

export interface ImageFlags {
  platform?: string;
  username?: string;
  password?: string;
  registryToken?: string;
  insecure?: boolean;
  caFile?: string;
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
    .option("--platform <os/arch[/variant]>", "platform to pick from a multi-arch image", "linux/amd64");
  return addRegistryAccessOptions(command)
    .option("-o, --output <file>", "write the report to FILE instead of stdout")
    .option("--progress", "show layer progress on stderr even when it is not a terminal")
    .option("--debug", "show stack traces for errors");
}

/** Credentials, TLS and cache options: shared by `scan`/`sbom` and `registry scan`. */
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
    .option("--cache-dir <dir>", "per-layer cache directory (default: $XDG_CACHE_HOME/stowaway or ~/.cache/stowaway)")
    .option("--no-cache", "do not read or write the layer cache");
}

export function cacheDirFrom(flags: ImageFlags, io: Io): string | false {
  return flags.cache === false ? false : (flags.cacheDir ?? defaultCacheDir(io.env));
}

export function inventoryOptionsFrom(flags: ImageFlags, io: Io): InventoryOptions {
  const username = flags.username ?? io.env.STOWAWAY_USERNAME;
  const password = flags.password ?? io.env.STOWAWAY_PASSWORD;
  if ((username === undefined) !== (password === undefined)) {
    throw new StowawayError(
      "--username and --password go together (or STOWAWAY_USERNAME and STOWAWAY_PASSWORD); give both or neither",
    );
  }
  const progress = flags.progress || Boolean(io.stderr.isTTY && !io.env.CI);
  const onProgress = layerProgressReporter(io.stderr, progress);
  return {
    platform: parsePlatform(flags.platform ?? "linux/amd64"),
    registry: {
      ...(username !== undefined ? { username, password } : {}),
      ...((flags.registryToken ?? io.env.STOWAWAY_REGISTRY_TOKEN)
        ? { registryToken: (flags.registryToken ?? io.env.STOWAWAY_REGISTRY_TOKEN)! }
        : {}),
      ...(flags.insecure ? { insecure: true } : {}),
      ...(flags.caFile ? { caFile: flags.caFile } : {}),
      env: io.env,
    },
    cacheDir: cacheDirFrom(flags, io),
    ...(onProgress ? { onProgress } : {}),
  };
}

/** Colour only for a person at a terminal who has not asked for none. */
export function colorWanted(flags: ImageFlags, io: Io): boolean {
  return !flags.output && Boolean(io.stdout.isTTY) && !io.env.NO_COLOR;
}
