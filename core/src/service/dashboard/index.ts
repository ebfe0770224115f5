/**
 * The dashboard: page shells ("/", "/images/{digest}", "/cves/{id}", "/registries"), their static
 * assets ("/assets/*") and the read-model JSON endpoints under /api/v1 (docs/dashboard.md).
 * The service calls the handler after authenticating /api/* requests; the handler authenticates
 * nothing itself and answers `false` for every path that is not its own.
 */
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import type { InventoryStore } from "../../store/types.js";
import { neutralizeLog } from "../../report/neutralize.js";
import { ReadModel, ReadModelError } from "../read-model.js";
import { renderPage, type PageKind } from "./html.js";
import { themeCss } from "./palette.js";

export interface DashboardOptions {
  store: InventoryStore;
  now?: () => Date;
  /** How old the read model's snapshot of the store may get before it is read again (default 2000 ms). */
  maxAgeMs?: number;
  /** The longest the store goes without a full read while its runs and digests stay the same (default 60 s). */
  fullReadMs?: number;
  /**
   * Told when the store cannot be read (the client gets a 500 problem without details): one line,
   * already neutralised for logs (docs/log-safety.md), e.g. for the service's log.
   */
  onError?: (line: string) => void;
}

/**
 * Scripts, styles and data only from this origin, nothing inline, no framing, no plugins: a
 * package name that smuggled markup past the escaping still could not run (docs/dashboard.md "Security").
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

const COMMON_HEADERS: Record<string, string> = {
  "Content-Security-Policy": DASHBOARD_CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
};

/** Built by build-assets.mjs during `npm run build` into core/dist/dashboard (the same place from src/ and dist/). */
const ASSET_DIR = fileURLToPath(new URL("../../../dist/dashboard/", import.meta.url));
const ASSETS: Record<string, { file?: string; type: string }> = {
  "app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "app.css": { file: "app.css", type: "text/css; charset=utf-8" },
  "theme.css": { type: "text/css; charset=utf-8" },
};

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): void {
  const data = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  res.writeHead(status, {
    ...COMMON_HEADERS,
    "Content-Type": type,
    "Content-Length": String(data.length),
    ...extra,
  });
  res.end(req.method === "HEAD" ? undefined : data);
}

function sendJson(req: IncomingMessage, res: ServerResponse, value: unknown): void {
  send(req, res, 200, "application/json; charset=utf-8", JSON.stringify(value), { "Cache-Control": "no-store" });
}

/** RFC 9457 problem details. */
function sendProblem(req: IncomingMessage, res: ServerResponse, status: number, title: string, detail: string): void {
  send(req, res, status, "application/problem+json", JSON.stringify({ type: "about:blank", title, status, detail }), {
    "Cache-Control": "no-store",
  });
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export function createDashboardHandler(options: DashboardOptions): Handler {
  const model = new ReadModel({
    store: options.store,
    ...(options.now ? { now: options.now } : {}),
    ...(options.maxAgeMs !== undefined ? { maxAgeMs: options.maxAgeMs } : {}),
    ...(options.fullReadMs !== undefined ? { fullReadMs: options.fullReadMs } : {}),
  });
  const assetCache = new Map<string, Buffer>();

  async function asset(name: string): Promise<Buffer | undefined> {
    const cached = assetCache.get(name);
    if (cached) return cached;
    const spec = ASSETS[name];
    if (!spec) return undefined;
    const data = spec.file ? await readFile(ASSET_DIR + spec.file) : Buffer.from(themeCss(), "utf8");
    assetCache.set(name, data);
    return data;
  }

  async function api(req: IncomingMessage, res: ServerResponse, pathname: string, url: URL): Promise<boolean> {
    let match: RegExpMatchArray | null;
    const run = async (produce: () => Promise<unknown>) => {
      try {
        sendJson(req, res, await produce());
      } catch (error) {
        if (error instanceof ReadModelError) sendProblem(req, res, error.status, error.title, error.message);
        else {
          const reason = error instanceof Error ? error.message : String(error);
          options.onError?.(neutralizeLog(`dashboard: ${pathname}: the inventory store could not be read: ${reason}`));
          sendProblem(req, res, 500, "Store unavailable", "the inventory store could not be read; see the service log");
        }
      }
      return true;
    };
    if (pathname === "/api/v1/overview") return run(() => model.overview());
    if (pathname === "/api/v1/images") {
      const query = Object.fromEntries(
        ["severity", "repository", "q", "limit", "offset"].flatMap((key) => {
          const value = url.searchParams.get(key);
          return value === null ? [] : [[key, value]];
        }),
      );
      return run(() => model.images(query));
    }
    if ((match = /^\/api\/v1\/images\/([^/]+)\/summary$/.exec(pathname))) {
      const digest = decodeSegment(match[1]!);
      if (digest === undefined) return run(async () => Promise.reject(badEncoding()));
      return run(() => model.imageSummary(digest));
    }
    if ((match = /^\/api\/v1\/cves\/([^/]+)$/.exec(pathname))) {
      const id = decodeSegment(match[1]!);
      if (id === undefined) return run(async () => Promise.reject(badEncoding()));
      return run(() => model.cve(id));
    }
    if (pathname === "/api/v1/registries/summary") return run(() => model.registries());
    return false;
  }

  function page(req: IncomingMessage, res: ServerResponse, kind: PageKind, parameter = ""): true {
    send(req, res, 200, "text/html; charset=utf-8", renderPage(kind, parameter), { "Cache-Control": "no-store" });
    return true;
  }

  return async (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    const pathname = url.pathname;
    if (pathname.startsWith("/api/")) return api(req, res, pathname, url);
    if (pathname === "/") return page(req, res, "overview");
    if (pathname === "/registries") return page(req, res, "registries");
    if (pathname.startsWith("/assets/")) {
      const name = pathname.slice("/assets/".length);
      if (!Object.hasOwn(ASSETS, name)) {
        sendProblem(req, res, 404, "Not found", "no such dashboard asset");
        return true;
      }
      let data: Buffer | undefined;
      try {
        data = await asset(name);
      } catch {
        sendProblem(req, res, 503, "Dashboard not built", "the dashboard assets are missing; run `npm run build`");
        return true;
      }
      send(req, res, 200, ASSETS[name]!.type, data!, { "Cache-Control": "no-cache" });
      return true;
    }
    // "/cves/?id=CVE-..." is the header's search form without script: straight to the page.
    if (pathname === "/cves/" || pathname === "/cves") {
      const id = url.searchParams.get("id")?.trim();
      if (!id) return page(req, res, "overview");
      res.writeHead(303, { ...COMMON_HEADERS, Location: `/cves/${encodeURIComponent(id)}`, "Content-Length": "0" });
      res.end();
      return true;
    }
    let match: RegExpMatchArray | null;
    if ((match = /^\/(images|cves)\/([^/]+)$/.exec(pathname))) {
      const parameter = decodeSegment(match[2]!);
      if (parameter === undefined) {
        sendProblem(req, res, 400, "Bad path", "the path is not valid percent-encoding");
        return true;
      }
      return page(req, res, match[1] === "images" ? "image" : "cve", parameter);
    }
    return false;
  };
}

function badEncoding(): ReadModelError {
  return new ReadModelError(400, "Bad path", "the path is not valid percent-encoding");
}
