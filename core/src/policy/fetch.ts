import { readFile } from "node:fs/promises";

export interface FetchPolicyOptions {
  /** Bearer token; never logged or put in messages. */
  token?: string;
  /** Extra CA certificates (PEM) trusted in addition to the system ones. */
  caFile?: string;
  timeoutMs?: number;
}

/** A failure that a cached copy may stand in for (the server could not be reached or is down). */
export class PolicyUnreachableError extends Error {}

/** A refusal a cached copy must not hide (bad token, missing policy). */
export class PolicyRefusedError extends Error {}

const MAX_REDIRECTS = 3;
const MAX_BYTES = 1024 * 1024;

export async function fetchPolicyText(url: URL, options: FetchPolicyOptions = {}): Promise<string> {
  // Loaded here: every scan's request resolution imports this module, and only a central policy URL
  // needs the HTTPS stack (https, tls, net, http: several ms of a warm `scan --db` otherwise).
  const [{ default: https }, { rootCertificates }] = await Promise.all([import("node:https"), import("node:tls")]);
  const ca = options.caFile ? [...rootCertificates, await readFile(options.caFile, "utf8")] : undefined;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    // The token goes only to the host it was meant for, never along a redirect to another one.
    const token = current.host === url.host ? options.token : undefined;
    const response = await get(https, current, token, ca, options.timeoutMs ?? 15_000);
    if (response.location) {
      const next = new URL(response.location, current);
      if (next.protocol !== "https:") throw new PolicyRefusedError(`redirected to a non-HTTPS URL (${next.origin})`);
      current = next;
      continue;
    }
    return response.body;
  }
  throw new PolicyRefusedError(`more than ${MAX_REDIRECTS} redirects`);
}

function get(
  https: typeof import("node:https"),
  url: URL,
  token: string | undefined,
  ca: string[] | undefined,
  timeoutMs: number,
): Promise<{ body: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get(
      url,
      {
        headers: {
          accept: "application/yaml, text/yaml, text/plain",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(ca ? { ca } : {}),
        timeout: timeoutMs,
      },
      (response) => {
        const status = response.statusCode ?? 0;
        if (status >= 300 && status < 400 && response.headers.location) {
          response.resume();
          resolve({ body: "", location: response.headers.location });
          return;
        }
        if (status >= 500) {
          response.resume();
          reject(new PolicyUnreachableError(`the server answered HTTP ${status}`));
          return;
        }
        if (status !== 200) {
          response.resume();
          const hint = status === 401 || status === 403 ? " (check STOWAWAY_POLICY_TOKEN)" : "";
          reject(new PolicyRefusedError(`the server answered HTTP ${status}${hint}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BYTES) {
            request.destroy(new PolicyRefusedError(`the policy is larger than ${MAX_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on("end", () => resolve({ body: Buffer.concat(chunks).toString("utf8") }));
        response.on("error", (error) => reject(new PolicyUnreachableError(error.message)));
      },
    );
    request.on("timeout", () => request.destroy(new PolicyUnreachableError(`no answer within ${timeoutMs} ms`)));
    request.on("error", (error) => {
      if (error instanceof PolicyRefusedError || error instanceof PolicyUnreachableError) reject(error);
      else if (
        /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/i.test((error as NodeJS.ErrnoException).code ?? error.message)
      ) {
        // A TLS trust failure is a configuration problem, not an outage: a stale copy must not hide it.
        reject(new PolicyRefusedError(`TLS verification failed: ${error.message} (pass the CA with caFile)`));
      } else reject(new PolicyUnreachableError(error.message));
    });
  });
}
