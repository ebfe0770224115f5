import { readFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import { StowawayError } from "../errors.js";
import type { AdmissionController } from "./decide.js";
import { admissionResponse, parseAdmissionReview, ReviewError } from "./review.js";

/**
 * The largest AdmissionReview read: objects are at most ~1.5 MB in etcd and a review carries the
 * object and, on UPDATE, the old one. Larger bodies are refused with 413 without being buffered.
 */
export const MAX_REVIEW_BYTES = 3 * 1024 * 1024;
/** Margin kept below the API server's `?timeout=` so the answer arrives before it gives up. */
const ANSWER_MARGIN_MS = 500;

export interface AdmissionServerOptions {
  controller: AdmissionController;
  /** "127.0.0.1:8443", "0.0.0.0:8443", ":8443" */
  listen: string;
  tlsCert: string;
  tlsKey: string;
  log?: (line: string) => void;
}

export interface AdmissionServer {
  /** host:port actually bound (a port 0 request gets a free one). */
  address: string;
  close(): Promise<void>;
}

function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen.trim());
  if (!match) throw new StowawayError(`--listen ${listen}: expected HOST:PORT, e.g. 0.0.0.0:8443`);
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port: Number(match[3]) };
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new StowawayError(
      `${flag} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"}); pass a PEM file`,
    );
  }
}

/** `?timeout=10s` as the API server appends it to the webhook URL. */
function requestTimeoutMs(url: URL): number | undefined {
  const match = /^(\d+)s$/.exec(url.searchParams.get("timeout") ?? "");
  return match ? Number(match[1]) * 1000 : undefined;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === "string" ? `${body}\n` : JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * The ValidatingAdmissionWebhook over HTTPS (docs/admission.md §1): POST /validate takes an
 * AdmissionReview v1 and answers one; GET /healthz answers "ok". Malformed reviews get 400 and
 * oversized ones 413, which the API server treats as a webhook failure (its failurePolicy decides).
 */
export async function startAdmissionServer(options: AdmissionServerOptions): Promise<AdmissionServer> {
  const { host, port } = parseListen(options.listen);
  const server = https.createServer({
    cert: readPem(options.tlsCert, "--tls-cert"),
    key: readPem(options.tlsKey, "--tls-key"),
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, options).catch((error: unknown) => {
      options.log?.(`admission: internal error: ${(error as Error).message}`);
      if (!res.headersSent) send(res, 500, "internal error");
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new StowawayError(`--listen ${options.listen}: cannot listen (${error.code ?? error.message})`)),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    address: `${bound.family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer | "too-large"> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > MAX_REVIEW_BYTES) {
    req.resume();
    return "too-large";
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REVIEW_BYTES) {
      req.resume();
      return "too-large";
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function handle(req: IncomingMessage, res: ServerResponse, options: AdmissionServerOptions): Promise<void> {
  const url = new URL(req.url ?? "/", "https://webhook.invalid");
  if (url.pathname === "/healthz" && req.method === "GET") return send(res, 200, "ok");
  if (url.pathname !== "/validate") return send(res, 404, "not found: the webhook answers POST /validate");
  if (req.method !== "POST") return send(res, 405, "method not allowed: POST an AdmissionReview to /validate");
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") return send(res, 415, "unsupported media type: send application/json");
  const body = await readBody(req);
  if (body === "too-large") {
    res.setHeader("Connection", "close");
    return send(res, 413, `request too large: an AdmissionReview is at most ${MAX_REVIEW_BYTES} bytes`);
  }
  let request;
  try {
    request = parseAdmissionReview(JSON.parse(body.toString("utf8")) as unknown);
  } catch (error) {
    const why = error instanceof ReviewError ? error.message : "the body is not JSON";
    options.log?.(`admission: rejected a malformed AdmissionReview: ${why}`);
    return send(res, 400, `malformed AdmissionReview: ${why}`);
  }
  const apiTimeout = requestTimeoutMs(url);
  const timeout = apiTimeout === undefined ? undefined : Math.max(100, apiTimeout - ANSWER_MARGIN_MS);
  const response = await options.controller.review(
    request,
    timeout === undefined ? undefined : Math.min(timeout, options.controller.timeout),
  );
  send(res, 200, admissionResponse(response));
}
