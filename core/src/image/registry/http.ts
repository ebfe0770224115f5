import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { rootCertificates, TLSSocket } from "node:tls";
import type { Readable } from "node:stream";
import type { AxiosInstance, AxiosResponse } from "axios";
import { ImageError } from "../../errors.js";
import type { RegistryTimeouts } from "../types.js";
import { proxyFor } from "./proxy.js";
import { formatSeconds, resolveTimeouts } from "./timeouts.js";

export interface RetryPolicy {
  /** Total tries per request, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  /** Upper bound for one wait, Retry-After included, so a hostile server cannot park us. */
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface TransportOptions {
  /** host[:port] of the registry; TLS relaxations and extra CAs apply to it alone. */
  registryHost: string;
  insecure?: boolean;
  /** Extra trusted CA certificates (PEM). */
  caPem?: string;
  env: NodeJS.ProcessEnv;
  retry?: Partial<RetryPolicy>;
  timeouts?: RegistryTimeouts;
}

export interface HttpRequest {
  method: "GET" | "HEAD" | "POST";
  url: URL;
  headers?: Record<string, string>;
  body?: string;
  /** Follows 3xx answers; Authorization is dropped whenever the origin changes. */
  followRedirects?: boolean;
  /** One try only (probes whose failure is an answer in itself). */
  noRetry?: boolean;
  /** Names the request in timeout messages ("manifest of host/repo:tag", "blob sha256:..."). */
  what?: string;
  /**
   * The caller guards the body's idle time itself (ResumableBody counts only time spent waiting
   * for bytes, not backpressure pauses); otherwise a socket idle timer guards the body.
   */
  streaming?: boolean;
}

export interface HttpResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** The URL that produced this answer, after redirects. */
  url: URL;
  body: Readable;
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRYABLE_NETWORK_CODES = new Set(["ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ECONNABORTED"]);
const CONNECT_TIMEOUT = "ERR_STOWAWAY_CONNECT_TIMEOUT";
const FIRST_BYTE_TIMEOUT = "ERR_STOWAWAY_FIRST_BYTE_TIMEOUT";
/** A stalled request is tried once more (a fresh connection often helps), not the full retry budget. */
const MAX_STALL_ATTEMPTS = 2;
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

const TLS_ERROR_CODES = new Set(["EPROTO", "ERR_SSL_WRONG_VERSION_NUMBER"]);
const CERTIFICATE_ERROR_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_SIGNATURE_FAILURE",
]);

/** A failure below HTTP (DNS, TCP, TLS); carries only a code so no request detail can leak. */
export class NetworkError extends ImageError {
  constructor(
    message: string,
    readonly networkCode: string,
  ) {
    super(message);
  }

  get isTls(): boolean {
    return TLS_ERROR_CODES.has(this.networkCode) || this.networkCode.startsWith("ERR_SSL") || this.isCertificate;
  }

  /** The peer spoke TLS but its certificate was not accepted. */
  get isCertificate(): boolean {
    return CERTIFICATE_ERROR_CODES.has(this.networkCode) || this.networkCode.startsWith("CERT_");
  }
}

/** The connection failed after the headers, while the body was being read. */
export class BodyBrokenError extends NetworkError {}

export type StallPhase = "connect" | "first-byte" | "idle";

/** A request that stopped making progress within one of the timeouts; the message names it. */
export class StallError extends NetworkError {
  constructor(
    message: string,
    readonly phase: StallPhase,
  ) {
    super(message, "ETIMEDOUT");
  }
}

function peer(host: string, registryHost: string): string {
  return host === registryHost ? `registry ${host}` : `${host} (where the registry redirected)`;
}

/** The one line a stall becomes: which host, which request, which timeout, and the flag that raises it. */
export function stallError(
  phase: StallPhase,
  url: URL,
  what: string,
  ms: number,
  registryHost: string,
  bytesInWindow = 0,
): StallError {
  const who = peer(url.host, registryHost);
  const limit = formatSeconds(ms);
  const message =
    phase === "idle" && bytesInWindow > 0
      ? `${who} sent only ${bytesInWindow} bytes of ${what} in ${limit} (idle timeout: too slow to count as progress; raise with --timeout-idle)`
      : phase === "connect"
        ? `cannot connect to ${who} within ${limit} while requesting ${what} (connect timeout, TCP and TLS handshake; raise with --timeout-connect)`
        : phase === "first-byte"
          ? `${who} sent no response to the request for ${what} within ${limit} (first-byte timeout; raise with --timeout-first-byte)`
          : `${who} sent no bytes of ${what} for ${limit} (idle timeout; raise with --timeout-idle)`;
  return new StallError(message, phase);
}

/** What a request is, for messages, when the caller did not say: its path without the query. */
function describeRequest(request: HttpRequest): string {
  return request.what ?? request.url.pathname;
}

/**
 * The connect and first-byte clocks of one request: connect runs while a new socket connects
 * (TCP, then TLS for https), first-byte from then (or at once on a reused keep-alive socket)
 * until the response headers arrive. When one runs out the request is aborted and `expired`
 * names which.
 */
class PhaseTimer {
  expired: typeof CONNECT_TIMEOUT | typeof FIRST_BYTE_TIMEOUT | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeouts: Required<RegistryTimeouts>,
    private readonly controller: AbortController,
  ) {
    // Until a socket is assigned (agent queueing, proxies), the first-byte clock runs.
    this.start(FIRST_BYTE_TIMEOUT, timeouts.firstByteMs);
  }

  watch(socket: Socket): void {
    const secure = socket instanceof TLSSocket;
    const pending =
      socket.connecting || (secure && !(socket as TLSSocket & { _secureEstablished?: boolean })._secureEstablished);
    if (!pending) return;
    this.start(CONNECT_TIMEOUT, this.timeouts.connectMs);
    socket.once(secure ? "secureConnect" : "connect", () => {
      if (this.timer) this.start(FIRST_BYTE_TIMEOUT, this.timeouts.firstByteMs);
    });
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private start(phase: typeof CONNECT_TIMEOUT | typeof FIRST_BYTE_TIMEOUT, ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.expired = phase;
      this.controller.abort();
    }, ms);
  }
}

function errorCode(error: unknown): string {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === "object" && !seen.has(current)) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && code !== "ERR_BAD_RESPONSE" && code !== "ERR_NETWORK") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return "ERR_NETWORK";
}

function describeNetworkFailure(code: string, url: URL, registryHost: string): NetworkError {
  const host = url.host;
  const probe = new NetworkError("", code);
  if (probe.isTls) {
    const advice =
      host === registryHost
        ? "pass --ca-file with the registry's CA certificate, or --insecure to skip verification for this registry"
        : "the registry redirected to a host whose certificate is not trusted; pass --ca-file with its CA";
    return new NetworkError(`TLS connection to ${host} failed (${code}): ${advice}`, code);
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new NetworkError(`cannot resolve registry host ${host} (${code}): check the image reference and DNS`, code);
  }
  return new NetworkError(
    `cannot reach ${host} (${code}): check the registry address, the network and HTTPS_PROXY/NO_PROXY`,
    code,
  );
}

/** Delay before try `attempt + 1`, honouring Retry-After (seconds or HTTP date) within the cap. */
export function retryDelay(
  attempt: number,
  retryAfter: string | undefined,
  policy: RetryPolicy,
  now = Date.now(),
): number {
  let delay = policy.baseDelayMs * 2 ** (attempt - 1);
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) {
      delay = seconds * 1000;
    } else {
      const date = Date.parse(retryAfter);
      if (!Number.isNaN(date)) delay = Math.max(0, date - now);
    }
  }
  return Math.min(delay, policy.maxDelayMs);
}

function flattenHeaders(headers: AxiosResponse["headers"]): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined || value === null) continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return flat;
}

function discard(stream: Readable): void {
  stream.on("error", () => undefined);
  stream.destroy();
}

/**
 * HTTP for one registry: TLS settings scoped to that host, proxies from the given environment,
 * bounded retries on 429/5xx/resets and manual redirects that never carry Authorization to
 * another origin (registries hand blobs to CDNs that must not see our token).
 */
export class RegistryTransport {
  private axios?: AxiosInstance;
  private readonly registryAgents: { http: http.Agent; https: https.Agent };
  private readonly foreignAgents: { http: http.Agent; https: https.Agent };
  private readonly retry: RetryPolicy;
  readonly timeouts: Required<RegistryTimeouts>;

  constructor(private readonly options: TransportOptions) {
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.timeouts = resolveTimeouts(options.timeouts);
    const ca = options.caPem ? [...rootCertificates, options.caPem] : undefined;
    this.registryAgents = {
      http: new http.Agent({ keepAlive: true }),
      https: new https.Agent({ keepAlive: true, ca, rejectUnauthorized: !options.insecure }),
    };
    this.foreignAgents = {
      http: new http.Agent({ keepAlive: true }),
      https: new https.Agent({ keepAlive: true, ca }),
    };
  }

  /** axios is imported on the first request, so commands that read no registry never load it (README "Caching and speed"). */
  private async client(): Promise<AxiosInstance> {
    if (!this.axios) {
      const { default: axios } = await import("axios");
      this.axios ??= axios.create({
        maxRedirects: 0,
        validateStatus: () => true,
        responseType: "stream",
        decompress: false,
        maxContentLength: -1,
        maxBodyLength: -1,
        timeout: 0,
      });
    }
    return this.axios;
  }

  get registryHost(): string {
    return this.options.registryHost;
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    let url = request.url;
    let method = request.method;
    let body = request.body;
    const headers = { ...request.headers };
    for (let hop = 0; ; hop++) {
      const response = await this.sendWithRetries({ ...request, method, url, headers, body });
      const location = response.headers["location"];
      if (!request.followRedirects || !REDIRECT_STATUS.has(response.status) || !location) return response;
      discard(response.body);
      if (hop >= MAX_REDIRECTS) {
        throw new ImageError(`${this.registryHost}: more than ${MAX_REDIRECTS} redirects for ${request.url.pathname}`);
      }
      const next = new URL(location, url);
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        throw new ImageError(`${this.registryHost}: redirect to unsupported scheme ${next.protocol}`);
      }
      if (next.origin !== url.origin) {
        for (const name of Object.keys(headers)) {
          if (name.toLowerCase() === "authorization") delete headers[name];
        }
      }
      if (response.status === 303) {
        method = "GET";
        body = undefined;
      }
      url = next;
    }
  }

  close(): void {
    for (const agent of [...Object.values(this.registryAgents), ...Object.values(this.foreignAgents)]) {
      agent.destroy();
    }
  }

  private async sendWithRetries(request: HttpRequest): Promise<HttpResponse> {
    let stalls = 0;
    for (let attempt = 1; ; attempt++) {
      const last = request.noRetry === true || attempt >= this.retry.maxAttempts;
      let response: HttpResponse;
      try {
        response = await this.sendOnce(request);
      } catch (error) {
        const code = errorCode(error);
        if (code === CONNECT_TIMEOUT || code === FIRST_BYTE_TIMEOUT) {
          stalls++;
          if (last || stalls >= MAX_STALL_ATTEMPTS) {
            const phase = code === CONNECT_TIMEOUT ? "connect" : "first-byte";
            const ms = phase === "connect" ? this.timeouts.connectMs : this.timeouts.firstByteMs;
            throw stallError(phase, request.url, describeRequest(request), ms, this.registryHost);
          }
          await this.retry.sleep(retryDelay(attempt, undefined, this.retry));
          continue;
        }
        if (last || !RETRYABLE_NETWORK_CODES.has(code)) {
          throw describeNetworkFailure(code, request.url, this.registryHost);
        }
        await this.retry.sleep(retryDelay(attempt, undefined, this.retry));
        continue;
      }
      if (last || !RETRYABLE_STATUS.has(response.status)) return response;
      discard(response.body);
      await this.retry.sleep(retryDelay(attempt, response.headers["retry-after"], this.retry));
    }
  }

  private async sendOnce(request: HttpRequest): Promise<HttpResponse> {
    const url = request.url;
    const agents = url.host === this.registryHost ? this.registryAgents : this.foreignAgents;
    const client = await this.client();
    const controller = new AbortController();
    const phases = new PhaseTimer(this.timeouts, controller);
    let response: AxiosResponse<Readable>;
    try {
      response = await client.request<Readable>({
        url: url.toString(),
        method: request.method,
        headers: { "Accept-Encoding": "identity", "User-Agent": "stowaway", ...request.headers },
        data: request.body,
        httpAgent: agents.http,
        httpsAgent: agents.https,
        proxy: proxyFor(url, this.options.env) ?? false,
        signal: controller.signal,
        // Node's own request functions, wrapped only to see when the socket is connected.
        transport: {
          request: (options: https.RequestOptions, callback: (res: http.IncomingMessage) => void) => {
            const send = options.protocol === "https:" ? https.request : http.request;
            const clientRequest = send(options, callback);
            clientRequest.once("socket", (socket) => phases.watch(socket));
            return clientRequest;
          },
        },
      });
    } catch (error) {
      if (phases.expired) throw Object.assign(new Error("timeout"), { code: phases.expired });
      throw error;
    } finally {
      phases.stop();
    }
    const body = response.data;
    if (!request.streaming) {
      // Bodies read whole (manifests, tokens, lists) are drained eagerly, so socket silence is
      // the registry's. Streamed blobs pause under backpressure and guard themselves instead.
      const idle = this.timeouts.idleMs;
      (body as Readable & { setTimeout?: (ms: number, cb: () => void) => void }).setTimeout?.(idle, () => {
        body.destroy(stallError("idle", url, describeRequest(request), idle, this.registryHost));
      });
    }
    return { status: response.status, headers: flattenHeaders(response.headers), url, body };
  }
}

/** Buffers a response body, failing as soon as it exceeds `maxBytes`. */
export async function readLimited(body: Readable, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      total += buffer.length;
      if (total > maxBytes) {
        discard(body);
        throw new ImageError(`${what} is larger than the ${maxBytes}-byte limit; refusing to read it`);
      }
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof ImageError) throw error;
    const code = errorCode(error);
    throw new BodyBrokenError(`${what}: the connection failed while reading (${code}); try again`, code);
  }
  return Buffer.concat(chunks);
}

/** Reads a short error body for its registry error code (distribution spec "errors" array). */
export async function readErrorCodes(body: Readable): Promise<string[]> {
  try {
    const text = (await readLimited(body, 64 * 1024, "error body")).toString("utf8");
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: unknown }> };
    return (parsed.errors ?? []).map((e) => String(e.code ?? "")).filter((c) => c !== "");
  } catch {
    return [];
  }
}
