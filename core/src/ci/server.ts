import { StowawayError } from "../errors.js";
import { parseTarget } from "../image/reference.js";
import { renderCycloneDx } from "../report/cyclonedx.js";
import type { ScanResult } from "../result.js";
import { scan, type ScanOptions } from "../scan.js";

export interface ServerScanRequest {
  /** The service's base URL (`https://stowaway.example.com`). */
  server: string;
  /** An API token with the write scope (STOWAWAY_SERVER_TOKEN); sent only in the Authorization header. */
  token?: string;
  image: string;
  insecure?: boolean;
  /** How a local archive is read to make the SBOM the service matches (platform, cache). */
  scanOptions?: ScanOptions;
  /** Give up waiting for the job after this long (default 30 minutes). */
  timeoutMs?: number;
  pollMs?: number;
  log?: (line: string) => void;
}

export interface ServerScan {
  result: ScanResult;
  jobId: string;
  digest: string;
}

interface Problem {
  detail?: string;
  title?: string;
}

/** The URL without credentials, query or fragment, for messages. */
function shown(url: URL): string {
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/**
 * CI delegation (docs/ci-contract.md): the scan runs on the Stowaway service, with its database and
 * central policy. A registry image is pulled by the service's workers; a local archive is
 * inventoried here and sent as a CycloneDX SBOM (the service never sees the runner's disk). Waits
 * for the job and returns the stored result, verdict included when the service has a policy.
 */
export async function scanOnServer(request: ServerScanRequest): Promise<ServerScan> {
  let base: URL;
  try {
    base = new URL(request.server.endsWith("/") ? request.server : `${request.server}/`);
  } catch {
    throw new StowawayError(`input server: "${request.server}" is not a URL; give the service's https:// address`);
  }
  if (base.protocol !== "https:" && base.protocol !== "http:") {
    throw new StowawayError(`input server: ${shown(base)} must be an http:// or https:// URL`);
  }
  base.username = "";
  base.password = "";
  const where = shown(base);
  const headers: Record<string, string> = request.token ? { authorization: `Bearer ${request.token}` } : {};

  const call = async (path: string, init: RequestInit = {}): Promise<Response> => {
    let response: Response;
    try {
      response = await fetch(new URL(path, base), { ...init, headers: { ...headers, ...init.headers } });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new StowawayError(`Stowaway service ${where}: cannot connect (${cause}); check the server input`);
    }
    if (response.ok) return response;
    let detail = "";
    try {
      const problem = (await response.json()) as Problem;
      detail = problem.detail ?? problem.title ?? "";
    } catch {
      detail = response.statusText;
    }
    const hint =
      response.status === 401
        ? "; check STOWAWAY_SERVER_TOKEN"
        : response.status === 403
          ? "; the token needs the write scope"
          : "";
    throw new StowawayError(
      `Stowaway service ${where}: ${init.method ?? "GET"} /${path} answered ${response.status}: ${detail}${hint}`,
    );
  };

  const local = parseTarget(request.image).kind !== "registry";
  let submitted: Response;
  if (local) {
    request.log?.(`inventorying ${request.image} here; the service matches its SBOM`);
    const inventory = await scan(request.image, { ...request.scanOptions });
    submitted = await call("api/v1/scans", {
      method: "POST",
      headers: { "content-type": "application/vnd.cyclonedx+json" },
      body: renderCycloneDx(inventory),
    });
  } else {
    submitted = await call("api/v1/scans", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ reference: request.image, ...(request.insecure ? { insecure: true } : {}) }),
    });
  }
  const { id } = (await submitted.json()) as { id: string };
  request.log?.(`scan submitted to ${where} as job ${id}`);
  const deadline = Date.now() + (request.timeoutMs ?? 30 * 60_000);
  let wait = request.pollMs ?? 500;
  for (;;) {
    const job = (await (await call(`api/v1/jobs/${encodeURIComponent(id)}`)).json()) as {
      state: string;
      error?: string;
      output?: { digest?: string };
    };
    if (job.state === "succeeded") {
      const digest = job.output?.digest;
      if (!digest) throw new StowawayError(`Stowaway service ${where}: job ${id} finished without a result digest`);
      const result = (await (await call(`api/v1/results/${encodeURIComponent(digest)}`)).json()) as ScanResult;
      if (local) result.artifact = { ...result.artifact, reference: request.image };
      return { result, jobId: id, digest };
    }
    if (job.state === "failed") {
      throw new StowawayError(`Stowaway service ${where}: job ${id} failed: ${job.error ?? "no reason given"}`);
    }
    if (Date.now() > deadline) {
      throw new StowawayError(
        `Stowaway service ${where}: job ${id} still ${job.state} after the timeout; check the service's workers`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, 5_000);
  }
}
