import { isIP } from "node:net";
import { ImageError } from "../../errors.js";

/** What axios needs to send a request through a forward proxy. */
export interface ProxyTarget {
  protocol: string;
  host: string;
  port: number;
  auth?: { username: string; password: string };
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  // Lower-case wins like curl and Go's httpproxy, because some tools only export that form.
  const value = env[name.toLowerCase()] ?? env[name.toUpperCase()];
  return value && value.trim() !== "" ? value.trim() : undefined;
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1" || /^::ffff:127\./.test(host);
  return false;
}

function ipv4ToNumber(ip: string): number {
  return ip.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}

function matchesCidr(host: string, entry: string): boolean {
  const [base, bits] = entry.split("/");
  if (!base || bits === undefined || isIP(base) !== 4 || isIP(host) !== 4) return false;
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) return false;
  if (prefix === 0) return true;
  const mask = prefix === 32 ? 0xffffffff : ~((1 << (32 - prefix)) - 1) >>> 0;
  return (ipv4ToNumber(host) & mask) >>> 0 === (ipv4ToNumber(base) & mask) >>> 0;
}

/**
 * NO_PROXY as Go's net/http (and therefore docker) reads it: `*`, exact hosts, IPs, CIDRs,
 * `.example.com` / `*.example.com` / `example.com` (the last also covering subdomains), each with an
 * optional `:port`.
 */
export function bypassesProxy(url: URL, noProxy: string | undefined): boolean {
  const hostname = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  // Go never proxies loopback, and a proxy cannot reach our loopback anyway.
  if (isLoopback(hostname)) return true;
  if (!noProxy) return false;
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return true;
    if (entry.includes("/")) {
      if (matchesCidr(hostname, entry)) return true;
      continue;
    }
    let entryPort: string | undefined;
    const portMatch = /^(.*[^:]):(\d+)$/.exec(entry);
    if (portMatch && isIP(entry) !== 6) {
      entry = portMatch[1]!;
      entryPort = portMatch[2];
    }
    entry = entry.replace(/^\[|\]$/g, "");
    if (entryPort !== undefined && entryPort !== port) continue;
    if (entry.startsWith("*.")) entry = entry.slice(1);
    if (entry.startsWith(".")) {
      if (hostname.endsWith(entry) || hostname === entry.slice(1)) return true;
    } else if (hostname === entry || (isIP(entry) === 0 && hostname.endsWith(`.${entry}`))) {
      return true;
    }
  }
  return false;
}

/** The proxy to use for `url` according to HTTPS_PROXY / HTTP_PROXY / NO_PROXY in `env`, if any. */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv): ProxyTarget | undefined {
  const raw = url.protocol === "https:" ? envValue(env, "https_proxy") : envValue(env, "http_proxy");
  if (!raw || bypassesProxy(url, envValue(env, "no_proxy"))) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw.includes("://") ? raw : `http://${raw}`);
  } catch {
    // The proxy URL may embed credentials, so it is not echoed back.
    throw new ImageError("the HTTPS_PROXY/HTTP_PROXY value is not a valid URL; fix or unset it");
  }
  const target: ProxyTarget = {
    protocol: parsed.protocol.replace(/:$/, ""),
    host: parsed.hostname.replace(/^\[|\]$/g, ""),
    port: Number(parsed.port) || (parsed.protocol === "https:" ? 443 : 80),
  };
  if (parsed.username) {
    target.auth = {
      username: decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
    };
  }
  return target;
}
