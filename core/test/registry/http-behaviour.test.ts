/**
 * Behaviour a well-behaved docker-registry never shows (CDN redirects, throttling, lying or
 * oversized content, proxies), served by small node:http servers on 127.0.0.1.
 */
import type http from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ImageError } from "../../src/errors.js";
import {
  bypassesProxy,
  openRegistryImage,
  parseWwwAuthenticate,
  retryDelay,
  DEFAULT_RETRY_POLICY,
} from "../../src/image/registry/index.js";
import { buildImage, buildLayer, type BuiltImage } from "../helpers/image-builder.js";
import { startHttpServer, type TestHttpServer } from "../helpers/registry-server.js";

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => boolean | void;

let image: BuiltImage;
let registry: TestHttpServer;
let cdn: TestHttpServer;
let proxy: TestHttpServer;
/** Per-test overrides, consulted before the default routes; returning true means handled. */
let override: Route | undefined;
let sleeps: number[] = [];

const TOKEN = "static-bearer-token-9d3e";

function serveManifest(res: http.ServerResponse, body: Buffer, digest: string): void {
  res.writeHead(200, {
    "Content-Type": image.manifestMediaType,
    "Docker-Content-Digest": digest,
    "Content-Length": body.length,
  });
  res.end(body);
}

function defaultRoutes(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? "";
  if (url === "/v2/") {
    res.writeHead(200).end("{}");
  } else if (url === `/v2/app/manifests/1` || url === `/v2/app/manifests/${image.manifestDigest}`) {
    serveManifest(res, image.manifestBlob, image.manifestDigest);
  } else if (url === `/v2/app/blobs/${image.configDigest}`) {
    res.writeHead(200, { "Content-Length": image.configBlob.length }).end(image.configBlob);
  } else if (url === `/v2/app/blobs/${image.layers[0]!.digest}`) {
    res.writeHead(307, { Location: `${cdn.baseUrl}/cdn/layer?signature=abc` }).end();
  } else {
    res.writeHead(404, { "Content-Type": "application/json" }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
  }
}

function open(options: { digest?: string; env?: NodeJS.ProcessEnv; registryHost?: string; insecure?: boolean } = {}) {
  return openRegistryImage(
    {
      registry: options.registryHost ?? registry.host,
      repository: "app",
      ...(options.digest ? { digest: options.digest } : { tag: "1" }),
    },
    {
      registry: { registryToken: TOKEN, env: options.env ?? {}, ...(options.insecure ? { insecure: true } : {}) },
      client: {
        retry: {
          sleep: async (ms: number) => {
            sleeps.push(ms);
          },
        },
      },
    },
  );
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("registry client against scripted HTTP servers", () => {
  beforeAll(async () => {
    image = buildImage({ layers: [await buildLayer([{ path: "etc/hostname", content: "scripted\n" }])] });
    cdn = await startHttpServer((req, res) => {
      if (override?.(req, res)) return;
      const blob = image.layers[0]!.blob;
      res.writeHead(200, { "Content-Length": blob.length }).end(blob);
    });
    registry = await startHttpServer((req, res) => {
      if (override?.(req, res)) return;
      defaultRoutes(req, res);
    });
    proxy = await startHttpServer(async (req, res, body) => {
      // A forward proxy: absolute-URI requests for any host go to the scripted registry.
      const target = new URL(req.url ?? "/");
      const upstream = await fetch(`${registry.baseUrl}${target.pathname}${target.search}`, {
        method: req.method,
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(([k]) => ["authorization", "accept"].includes(k)) as [string, string][],
        ),
        redirect: "manual",
        ...(body.length ? { body: new Uint8Array(body) } : {}),
      });
      const payload = Buffer.from(await upstream.arrayBuffer());
      const headers: Record<string, string> = {};
      upstream.headers.forEach((v, k) => {
        if (k !== "content-encoding" && k !== "transfer-encoding" && k !== "connection") headers[k] = v;
      });
      headers["content-length"] = String(payload.length);
      res.writeHead(upstream.status, headers).end(payload);
    });
  });

  afterEach(() => {
    override = undefined;
    sleeps = [];
    registry.requests.length = 0;
    cdn.requests.length = 0;
    proxy.requests.length = 0;
  });

  afterAll(async () => {
    await registry?.close();
    await cdn?.close();
    await proxy?.close();
  });

  it("follows a blob redirect to another host without sending it the Authorization header", async () => {
    const resolved = await open();
    const layer = await readAll(await resolved.openLayer(0));
    await resolved.close();
    expect(layer.equals(image.layers[0]!.blob)).toBe(true);
    const manifestRequest = registry.requests.find((r) => r.url === "/v2/app/manifests/1");
    expect(manifestRequest?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(registry.requests.find((r) => r.url.includes(image.layers[0]!.digest))?.headers.authorization).toBe(
      `Bearer ${TOKEN}`,
    );
    expect(cdn.requests).toHaveLength(1);
    expect(cdn.requests[0]!.url).toBe("/cdn/layer?signature=abc");
    expect(cdn.requests[0]!.headers.authorization).toBeUndefined();
  });

  it("waits as Retry-After says on 429, then succeeds", async () => {
    let throttled = 0;
    override = (req, res) => {
      if (req.url === "/v2/app/manifests/1" && throttled++ === 0) {
        res.writeHead(429, { "Retry-After": "7" }).end();
        return true;
      }
    };
    const resolved = await open();
    expect(resolved.manifestDigest).toBe(image.manifestDigest);
    await resolved.close();
    expect(sleeps).toEqual([7000]);
  });

  it("backs off exponentially on 5xx, caps Retry-After, and gives up after four tries", async () => {
    override = (req, res) => {
      if (req.url === "/v2/app/manifests/1") {
        res.writeHead(503, req.headers["x-never"] ? {} : { "Retry-After": "86400" }).end();
        return true;
      }
    };
    await expect(open()).rejects.toThrow(
      `registry ${registry.host} answered HTTP 503 for the manifest of ${registry.host}/app:1; try again later`,
    );
    expect(sleeps).toEqual([30_000, 30_000, 30_000]);
    expect(registry.requests.filter((r) => r.url === "/v2/app/manifests/1")).toHaveLength(4);
    expect(retryDelay(1, undefined, DEFAULT_RETRY_POLICY)).toBe(500);
    expect(retryDelay(3, undefined, DEFAULT_RETRY_POLICY)).toBe(2000);
  });

  it("retries a connection reset", async () => {
    let resets = 0;
    override = (req, res) => {
      if (req.url === "/v2/app/manifests/1" && resets++ === 0) {
        res.socket?.destroy();
        return true;
      }
    };
    const resolved = await open();
    expect(resolved.manifestDigest).toBe(image.manifestDigest);
    await resolved.close();
    expect(sleeps).toEqual([500]);
  });

  it("rejects a manifest whose bytes do not match Docker-Content-Digest", async () => {
    override = (req, res) => {
      if (req.url === "/v2/app/manifests/1") {
        const tampered = Buffer.from(
          image.manifestBlob.toString("utf8").replace('"schemaVersion":2', '"schemaVersion": 2'),
        );
        serveManifest(res, tampered, image.manifestDigest);
        return true;
      }
    };
    await expect(open()).rejects.toThrow(
      /manifest of 127\.0\.0\.1:\d+\/app:1: the registry announced sha256:\w+ but the content hashes to sha256:\w+/,
    );
  });

  it("rejects a manifest pulled by digest that hashes to something else", async () => {
    override = (req, res) => {
      if (req.url === `/v2/app/manifests/${image.manifestDigest}`) {
        const other = Buffer.from(`${image.manifestBlob.toString("utf8")} `);
        res.writeHead(200, { "Content-Type": image.manifestMediaType }).end(other);
        return true;
      }
    };
    const error = await open({ digest: image.manifestDigest }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageError);
    expect((error as Error).message).toContain(`does not match ${image.manifestDigest}`);
  });

  it("fails the layer stream when the blob bytes are not what the digest says", async () => {
    override = (req, res) => {
      if (req.url?.startsWith("/cdn/")) {
        const wrong = Buffer.from(image.layers[0]!.blob);
        wrong[wrong.length - 1] = wrong[wrong.length - 1]! ^ 0xff;
        res.writeHead(200, { "Content-Length": wrong.length }).end(wrong);
        return true;
      }
    };
    const resolved = await open();
    await expect(readAll(await resolved.openLayer(0))).rejects.toThrow(
      new RegExp(`content digest sha256:\\w+ does not match ${image.layers[0]!.digest}`),
    );
    await resolved.close();
  });

  it("stops reading a blob that is longer than its descriptor", async () => {
    override = (req, res) => {
      if (req.url?.startsWith("/cdn/")) {
        res.writeHead(200);
        res.write(image.layers[0]!.blob);
        res.end(Buffer.alloc(1024));
        return true;
      }
    };
    const resolved = await open();
    await expect(readAll(await resolved.openLayer(0))).rejects.toThrow(
      /blob is larger than the \d+ bytes its descriptor declares/,
    );
    await resolved.close();
  });

  it("refuses manifests over 4 MiB, declared or streamed", async () => {
    const huge = Buffer.alloc(5 * 1024 * 1024, 0x20);
    override = (req, res) => {
      if (req.url === "/v2/app/manifests/1") {
        res.writeHead(200, { "Content-Type": image.manifestMediaType, "Content-Length": huge.length }).end(huge);
        return true;
      }
    };
    await expect(open()).rejects.toThrow(
      /manifest of 127\.0\.0\.1:\d+\/app:1 is 5242880 bytes, over the 4194304-byte limit/,
    );
    override = (req, res) => {
      if (req.url === "/v2/app/manifests/1") {
        res.writeHead(200, { "Content-Type": image.manifestMediaType });
        res.end(huge);
        return true;
      }
    };
    await expect(open()).rejects.toThrow(/is larger than the 4194304-byte limit/);
  });

  it("goes through HTTP_PROXY for remote hosts and never through it for NO_PROXY or loopback", async () => {
    const resolved = await open({
      registryHost: "registry.invalid:5000",
      insecure: true,
      env: { HTTP_PROXY: proxy.baseUrl },
    });
    expect(resolved.manifestDigest).toBe(image.manifestDigest);
    await resolved.close();
    expect(proxy.requests.map((r) => r.url)).toContain("http://registry.invalid:5000/v2/app/manifests/1");

    await expect(
      open({
        registryHost: "registry.invalid:5000",
        insecure: true,
        env: { HTTP_PROXY: proxy.baseUrl, NO_PROXY: ".invalid" },
      }),
    ).rejects.toThrow(/^cannot resolve registry host registry\.invalid:5000 \(ENOTFOUND\)/);

    proxy.requests.length = 0;
    const direct = await open({ env: { HTTP_PROXY: proxy.baseUrl, HTTPS_PROXY: proxy.baseUrl } });
    await direct.close();
    expect(proxy.requests).toHaveLength(0);
  });
});

describe("registry protocol details", () => {
  it("parses WWW-Authenticate with comma-separated scopes inside quotes", () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push",error="insufficient_scope"',
      ),
    ).toEqual([
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:samalba/my-app:pull,push",
          error: "insufficient_scope",
        },
      },
    ]);
    expect(parseWwwAuthenticate('Basic realm="Registry Realm"')).toEqual([
      { scheme: "basic", params: { realm: "Registry Realm" } },
    ]);
  });

  it("applies NO_PROXY like Go's net/http", () => {
    const url = (u: string) => new URL(u);
    expect(bypassesProxy(url("https://127.0.0.1:5000/v2/"), undefined)).toBe(true);
    expect(bypassesProxy(url("https://localhost/v2/"), "")).toBe(true);
    expect(bypassesProxy(url("https://[::1]:5000/v2/"), undefined)).toBe(true);
    expect(bypassesProxy(url("https://ghcr.io/v2/"), undefined)).toBe(false);
    expect(bypassesProxy(url("https://ghcr.io/v2/"), "*")).toBe(true);
    expect(bypassesProxy(url("https://registry.corp.example/v2/"), "corp.example")).toBe(true);
    expect(bypassesProxy(url("https://registry.corp.example/v2/"), ".corp.example")).toBe(true);
    expect(bypassesProxy(url("https://registry.corp.example/v2/"), "*.corp.example")).toBe(true);
    expect(bypassesProxy(url("https://notcorp.example/v2/"), "corp.example")).toBe(false);
    expect(bypassesProxy(url("https://registry.corp.example:5000/v2/"), "registry.corp.example:443")).toBe(false);
    expect(bypassesProxy(url("https://registry.corp.example:5000/v2/"), "registry.corp.example:5000")).toBe(true);
    expect(bypassesProxy(url("https://10.1.2.3/v2/"), "10.0.0.0/8")).toBe(true);
    expect(bypassesProxy(url("https://11.1.2.3/v2/"), "10.0.0.0/8, other")).toBe(false);
  });

  it("reads Retry-After as an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryDelay(1, "Thu, 01 Jan 2026 00:00:05 GMT", DEFAULT_RETRY_POLICY, now)).toBe(5000);
  });
});
