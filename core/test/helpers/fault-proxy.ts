/**
 * A fault-injecting reverse proxy on 127.0.0.1 in front of a real registry: it forwards every
 * request unchanged unless the test's rule names a fault for it, and then breaks the exchange the
 * way real networks do (a body cut mid-way, headers that never come, a body that goes silent or
 * trickles). Plus a TCP server that accepts and never speaks (a TLS handshake that stalls) and a
 * listener that never completes a TCP handshake at all, for stalls while connecting.
 */
import { spawn } from "node:child_process";
import http from "node:http";
import net from "node:net";

export type Fault =
  /** Headers and the first `afterBytes` body bytes, then the connection is destroyed. */
  | { kind: "cut"; afterBytes: number }
  /** The request is read but never answered. */
  | { kind: "stall-headers" }
  /** Headers and the first `afterBytes` body bytes, then silence with the connection open. */
  | { kind: "stall-body"; afterBytes: number }
  /** The body trickles `bytes` every `everyMs` (a slow-loris). */
  | { kind: "trickle"; bytes: number; everyMs: number }
  /** The request goes upstream without its Range header (a registry that ignores ranges). */
  | { kind: "ignore-range" };

export interface ProxiedRequest {
  method: string;
  url: string;
  range?: string;
  status?: number;
  fault?: Fault["kind"];
}

export interface FaultProxy {
  host: string;
  baseUrl: string;
  requests: ProxiedRequest[];
  /** Decides the fault for each request (undefined = forward untouched); `seen` counts earlier requests for the URL. */
  rule: (request: { method: string; url: string; range?: string; seen: number }) => Fault | undefined;
  /** Forgets the rule, the recorded requests and how often each URL was seen. */
  reset(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const seen = new Map<string, number>();
  const proxy: FaultProxy = {
    host: "",
    baseUrl: "",
    requests: [],
    rule: () => undefined,
    reset: () => {
      proxy.rule = () => undefined;
      proxy.requests.length = 0;
      seen.clear();
    },
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    const range = typeof req.headers.range === "string" ? req.headers.range : undefined;
    const key = `${req.method} ${url}`;
    const count = seen.get(key) ?? 0;
    seen.set(key, count + 1);
    const fault = proxy.rule({ method: req.method ?? "GET", url, ...(range ? { range } : {}), seen: count });
    const record: ProxiedRequest = {
      method: req.method ?? "",
      url,
      ...(range ? { range } : {}),
      ...(fault ? { fault: fault.kind } : {}),
    };
    proxy.requests.push(record);
    if (fault?.kind === "stall-headers") return;
    const headers = { ...req.headers, host: target.host };
    if (fault?.kind === "ignore-range") delete headers.range;
    const upstreamRequest = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: url, headers },
      (upstreamResponse) => {
        record.status = upstreamResponse.statusCode;
        res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        if (!fault || fault.kind === "ignore-range") {
          upstreamResponse.pipe(res);
          return;
        }
        if (fault.kind === "trickle") {
          const chunks: Buffer[] = [];
          upstreamResponse.on("data", (c: Buffer) => chunks.push(c));
          upstreamResponse.on("end", () => {
            let rest = Buffer.concat(chunks);
            const timer = setInterval(() => {
              if (rest.length === 0 || res.destroyed) {
                clearInterval(timer);
                timers.delete(timer);
                res.end();
                return;
              }
              res.write(rest.subarray(0, fault.bytes));
              rest = rest.subarray(fault.bytes);
            }, fault.everyMs);
            timers.add(timer);
          });
          return;
        }
        // The headers leave now even if no body byte follows (a stall right after the headers).
        res.flushHeaders();
        let sent = 0;
        let stopped = false;
        upstreamResponse.on("data", (chunk: Buffer) => {
          if (stopped) return;
          const room = fault.afterBytes - sent;
          const part = chunk.subarray(0, Math.max(0, room));
          sent += part.length;
          if (part.length > 0) res.write(part);
          if (sent >= fault.afterBytes) {
            stopped = true;
            upstreamResponse.destroy();
            // Let the written bytes leave before the cut, so the client really has a partial body.
            if (fault.kind === "cut") setTimeout(() => res.socket?.destroy(), 20);
          }
        });
      },
    );
    upstreamRequest.on("error", () => res.destroy());
    req.pipe(upstreamRequest);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  proxy.host = `127.0.0.1:${port}`;
  proxy.baseUrl = `http://127.0.0.1:${port}`;
  return proxy;
}

/** A TCP listener that accepts connections and never sends a byte: TLS handshakes to it stall. */
export async function startSilentServer(): Promise<{ host: string; accepted: () => number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    accepted: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A TCP listener whose TCP handshakes never complete: a socket that listens with a backlog of 0
 * and never accepts (Python's socket module; Node accepts every connection on its own), with its
 * one-entry accept queue filled by a connection of ours. Linux then drops further SYNs on the
 * floor, so a client's `connect` stays pending, as behind a firewall that drops packets.
 */
export async function startUnacceptingListener(): Promise<{ host: string; close(): Promise<void> }> {
  const script = [
    "import socket, sys",
    "s = socket.socket()",
    "s.bind(('127.0.0.1', 0))",
    "s.listen(0)",
    "print(s.getsockname()[1], flush=True)",
    "sys.stdin.read()",
  ].join("\n");
  const child = spawn("python3", ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.stdout!.once("data", (data: Buffer) => resolve(Number(data.toString("utf8").trim())));
  });
  const filler = net.connect(port, "127.0.0.1");
  filler.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    filler.once("connect", () => resolve());
    filler.once("error", reject);
  });
  return {
    host: `127.0.0.1:${port}`,
    close: async () => {
      filler.destroy();
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.stdin!.end();
      child.kill();
      await exited;
    },
  };
}
