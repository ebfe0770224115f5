import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../write-atomic.js";
import { PolicyError } from "./errors.js";
import { fetchPolicyText, PolicyRefusedError, type FetchPolicyOptions } from "./fetch.js";
import { parsePolicy } from "./parse.js";
import type { Policy } from "./types.js";

export interface LoadPolicyOptions {
  /** Where copies of central (URL) policies are kept for offline use. */
  cacheDir?: string;
  /** Extra CA certificates (PEM) for the policy server. */
  caFile?: string;
  /** Environment to read STOWAWAY_POLICY_TOKEN from (defaults to process.env). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/**
 * Loads a policy from a file or an HTTPS URL (a central policy). A URL policy is cached after each
 * successful download; when the server cannot be reached the cached copy is used with a notice that
 * ends up in the verdict's warnings. Refusals (401, 404, TLS trust) are errors even with a cache.
 */
export async function loadPolicy(source: string, options: LoadPolicyOptions = {}): Promise<Policy> {
  if (/^https:\/\//i.test(source)) return loadRemotePolicy(new URL(source), options);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw new PolicyError(`${source}: policies are read from a file or an https:// URL`);
  }
  let text: string;
  try {
    text = await readFile(source, "utf8");
  } catch (error) {
    throw new PolicyError(`${source}: cannot read the policy: ${(error as NodeJS.ErrnoException).code ?? error}`, {
      cause: error,
    });
  }
  return parsePolicy(text, source);
}

async function loadRemotePolicy(url: URL, options: LoadPolicyOptions): Promise<Policy> {
  // Messages name the URL without query or credentials, which may carry tokens.
  const shown = `${url.origin}${url.pathname}`;
  const cacheFile = options.cacheDir
    ? path.join(options.cacheDir, "policies", `${createHash("sha256").update(url.href).digest("hex")}.yaml`)
    : undefined;
  const fetchOptions: FetchPolicyOptions = {
    token: (options.env ?? process.env).STOWAWAY_POLICY_TOKEN || undefined,
    ...(options.caFile ? { caFile: options.caFile } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  };
  try {
    const text = await fetchPolicyText(url, fetchOptions);
    // Validate before caching, so a broken upload never replaces a good offline copy.
    const policy = parsePolicy(text, shown);
    if (cacheFile) await writeFileAtomic(cacheFile, text);
    return policy;
  } catch (error) {
    if (error instanceof PolicyError) throw error;
    const reason = (error as Error).message;
    if (error instanceof PolicyRefusedError || !cacheFile) {
      throw new PolicyError(`${shown}: cannot download the policy: ${reason}`, { cause: error });
    }
    let cached: string;
    let savedAt: Date;
    try {
      [cached, savedAt] = await Promise.all([readFile(cacheFile, "utf8"), stat(cacheFile).then((info) => info.mtime)]);
    } catch {
      throw new PolicyError(`${shown}: cannot download the policy (${reason}) and there is no cached copy`, {
        cause: error,
      });
    }
    const policy = parsePolicy(cached, shown);
    return {
      ...policy,
      notices: [
        ...(policy.notices ?? []),
        `policy server unreachable (${reason}); using the cached copy of ${shown} from ${savedAt.toISOString()}`,
      ],
    };
  }
}
