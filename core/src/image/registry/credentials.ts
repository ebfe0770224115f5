import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { RegistryAuthError } from "../../errors.js";
import type { RegistryOptions } from "../types.js";

/** Where a credential came from, named in errors so users know which one to fix (never the secret). */
export type CredentialSource = string;

export type Credential =
  | { kind: "anonymous" }
  | { kind: "basic"; username: string; password: string; source: CredentialSource }
  /** An OAuth2 refresh token (docker `identitytoken`), exchanged at the token endpoint. */
  | { kind: "refresh"; username: string; refreshToken: string; source: CredentialSource }
  /** A token sent as-is as Bearer, without the challenge flow. */
  | { kind: "bearer"; token: string; source: CredentialSource };

export const DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/";
const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

export function isDockerHub(host: string): boolean {
  return DOCKER_HUB_HOSTS.has(host.toLowerCase());
}

/** `https://host:port/v1/` and friends reduced to `host:port`, the way docker matches auths keys. */
export function normalizeConfigKey(key: string): string {
  const withoutScheme = key.replace(/^[a-z]+:\/\//i, "");
  const host = withoutScheme.split("/")[0] ?? "";
  return isDockerHub(host) ? "docker.io" : host.toLowerCase();
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

function readAuthFile(file: string): AuthFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === "object" ? (parsed as AuthFile) : undefined;
  } catch {
    throw new RegistryAuthError(`${file} is not valid JSON; fix it or remove it`);
  }
}

function findKey<T>(record: Record<string, T> | undefined, host: string): [string, T] | undefined {
  if (!record) return undefined;
  const wanted = isDockerHub(host) ? "docker.io" : host.toLowerCase();
  if (wanted === "docker.io" && record[DOCKER_HUB_CONFIG_KEY] !== undefined) {
    return [DOCKER_HUB_CONFIG_KEY, record[DOCKER_HUB_CONFIG_KEY]];
  }
  for (const [key, value] of Object.entries(record)) {
    if (normalizeConfigKey(key) === wanted) return [key, value];
  }
  return undefined;
}

function fromAuthEntry(entry: AuthEntry, file: string): Credential | undefined {
  const source = `auths in ${file}`;
  let username = entry.username;
  let password = entry.password;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0)
      throw new RegistryAuthError(`an "auth" entry in ${file} is not base64 of user:password; log in again`);
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (entry.identitytoken) {
    return { kind: "refresh", username: username ?? "", refreshToken: entry.identitytoken, source };
  }
  if (entry.registrytoken) return { kind: "bearer", token: entry.registrytoken, source };
  if (username !== undefined && password !== undefined && (username !== "" || password !== "")) {
    return { kind: "basic", username, password, source };
  }
  return undefined;
}

export type HelperRunner = (helper: string, serverUrl: string, env: NodeJS.ProcessEnv) => Promise<string | undefined>;

/** Runs `docker-credential-<helper> get`; undefined when the helper has nothing for the server. */
export const runCredentialHelper: HelperRunner = (helper, serverUrl, env) =>
  new Promise((resolve, reject) => {
    const program = `docker-credential-${helper}`;
    const child = execFile(program, ["get"], { env, timeout: 30_000, maxBuffer: 1024 * 1024 }, (error, stdout) => {
      if (!error) {
        resolve(stdout);
        return;
      }
      const text = String(stdout ?? "");
      // The helper protocol reports a missing entry on stdout with a non-zero exit.
      if (/credentials not found/i.test(text)) {
        resolve(undefined);
        return;
      }
      const reason =
        (error as NodeJS.ErrnoException).code === "ENOENT"
          ? `${program} is not on PATH; install it or remove it from the docker config`
          : `${program} get failed (exit code ${String((error as { code?: unknown }).code ?? "unknown")})`;
      reject(new RegistryAuthError(`credential helper for ${serverUrl}: ${reason}`));
    });
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(serverUrl);
  });

async function fromHelper(
  helper: string,
  serverUrl: string,
  env: NodeJS.ProcessEnv,
  runner: HelperRunner,
): Promise<Credential | undefined> {
  const source = `credential helper docker-credential-${helper}`;
  const output = await runner(helper, serverUrl, env);
  if (output === undefined) return undefined;
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(output) as typeof parsed;
  } catch {
    throw new RegistryAuthError(`${source} returned output that is not JSON for ${serverUrl}`);
  }
  const username = typeof parsed.Username === "string" ? parsed.Username : "";
  const secret = typeof parsed.Secret === "string" ? parsed.Secret : "";
  if (secret === "") return undefined;
  // Docker's convention: the user name "<token>" marks the secret as an identity (refresh) token.
  if (username === "<token>") return { kind: "refresh", username: "", refreshToken: secret, source };
  return { kind: "basic", username, password: secret, source };
}

export interface CredentialLookup {
  /** host[:port] as used on the wire (registry-1.docker.io for Docker Hub). */
  host: string;
  options: RegistryOptions;
  env: NodeJS.ProcessEnv;
  runHelper?: HelperRunner;
}

function dockerConfigFile(options: RegistryOptions, env: NodeJS.ProcessEnv): string {
  const dir = options.dockerConfigDir ?? env.DOCKER_CONFIG ?? path.join(env.HOME ?? os.homedir(), ".docker");
  return path.join(dir, "config.json");
}

function podmanAuthFiles(options: RegistryOptions, env: NodeJS.ProcessEnv): string[] {
  if (options.podmanAuthFile) return [options.podmanAuthFile];
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(path.join(env.XDG_RUNTIME_DIR, "containers", "auth.json"));
  return files;
}

/**
 * The credential for a registry, in the order explicit flags, docker config.json (credHelpers,
 * auths, credsStore), podman auth.json, anonymous.
 */
export async function resolveCredential(lookup: CredentialLookup): Promise<Credential> {
  const { host, options, env } = lookup;
  const runner = lookup.runHelper ?? runCredentialHelper;
  if (options.username !== undefined || options.password !== undefined) {
    if (!options.username || !options.password) {
      throw new RegistryAuthError(`registry ${host}: pass both --username and --password, or neither`);
    }
    return { kind: "basic", username: options.username, password: options.password, source: "--username/--password" };
  }
  if (options.registryToken) return { kind: "bearer", token: options.registryToken, source: "--registry-token" };

  const serverUrl = isDockerHub(host) ? DOCKER_HUB_CONFIG_KEY : host;
  const dockerFile = dockerConfigFile(options, env);
  const docker = readAuthFile(dockerFile);
  if (docker) {
    const helper = findKey(docker.credHelpers, host);
    if (helper) {
      const credential = await fromHelper(helper[1], serverUrl, env, runner);
      if (credential) return credential;
    }
    const entry = findKey(docker.auths, host);
    const fromFile = entry ? fromAuthEntry(entry[1], dockerFile) : undefined;
    if (fromFile) return fromFile;
    if (docker.credsStore) {
      const credential = await fromHelper(docker.credsStore, entry?.[0] ?? serverUrl, env, runner);
      if (credential) return credential;
    }
  }
  for (const file of podmanAuthFiles(options, env)) {
    const entry = findKey(readAuthFile(file)?.auths, host);
    const credential = entry ? fromAuthEntry(entry[1], file) : undefined;
    if (credential) return credential;
  }
  return { kind: "anonymous" };
}
