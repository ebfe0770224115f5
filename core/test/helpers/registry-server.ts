/**
 * Starts a real `docker-registry` (Debian package docker-registry, distribution 2.8) on a free
 * 127.0.0.1 port with a generated config, plus small node:http servers for the cases a real
 * registry cannot produce (redirects, throttling, lying content).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { describe } from "vitest";

export const REGISTRY_BIN = "/usr/bin/docker-registry";
export const HAS_REGISTRY = existsSync(REGISTRY_BIN);

/** `describe` for suites that need docker-registry; skipped with the reason when it is missing. */
export function describeWithRegistry(name: string, body: () => void): void {
  if (HAS_REGISTRY) {
    describe(name, body);
  } else {
    describe.skip(
      `${name} (skipped: ${REGISTRY_BIN} is absent; apt-get install -y docker-registry apache2-utils openssl)`,
      body,
    );
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

export interface TlsMaterial {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** A throwaway CA and a server certificate for 127.0.0.1 / localhost, made with the openssl CLI. */
export function makeTlsMaterial(dir: string): TlsMaterial {
  const caKey = path.join(dir, "ca.key");
  const caFile = path.join(dir, "ca.pem");
  const keyFile = path.join(dir, "server.key");
  const csr = path.join(dir, "server.csr");
  const certFile = path.join(dir, "server.pem");
  const ext = path.join(dir, "server.ext");
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  selfSignedCert(caKey, caFile, "/CN=Stowaway Test CA", [
    "basicConstraints=critical,CA:TRUE",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", csr, "-subj", "/CN=127.0.0.1"]);
  execFileSync("sh", [
    "-c",
    `printf '%s\\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'basicConstraints=CA:FALSE' 'extendedKeyUsage=serverAuth' > '${ext}'`,
  ]);
  run([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    caFile,
    "-CAkey",
    caKey,
    "-CAcreateserial",
    "-out",
    certFile,
    "-days",
    "2",
    "-sha256",
    "-extfile",
    ext,
  ]);
  return { caFile, certFile, keyFile };
}

/** A two-day self-signed certificate and its key, made with the openssl CLI. */
function selfSignedCert(keyFile: string, certFile: string, subject: string, extensions: string[] = []): void {
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "2",
      "-subj",
      subject,
      ...extensions.flatMap((extension) => ["-addext", extension]),
    ],
    { stdio: "pipe" },
  );
}

/** A self-signed signing certificate for the token server; the registry trusts it as rootcertbundle. */
export function makeSigningCert(dir: string): { certFile: string; keyFile: string } {
  const keyFile = path.join(dir, "token.key");
  const certFile = path.join(dir, "token.pem");
  selfSignedCert(keyFile, certFile, "/CN=stowaway-test-token-issuer");
  return { certFile, keyFile };
}

/** htpasswd file with bcrypt entries, made by apache2-utils' htpasswd like an operator would. */
export async function makeHtpasswd(dir: string, users: Record<string, string>): Promise<string> {
  const lines = Object.entries(users).map(([user, password]) =>
    execFileSync("htpasswd", ["-Bbn", user, password], { encoding: "utf8" }).trim(),
  );
  const file = path.join(dir, "htpasswd");
  await writeFile(file, `${lines.join("\n")}\n`);
  return file;
}

export type RegistryMode =
  | { kind: "plain" }
  | { kind: "basic"; users: Record<string, string> }
  | { kind: "tls" }
  | { kind: "token"; realm: string; service: string; issuer: string; rootCertFile: string };

export interface RegistryServer {
  /** 127.0.0.1:port */
  host: string;
  /** http(s)://127.0.0.1:port */
  baseUrl: string;
  dir: string;
  tls?: TlsMaterial;
  htpasswdFile?: string;
  /** What the registry printed, for failure messages. */
  output(): string;
  /** "METHOD /path?query" of every request, from the registry's own access log (only with `accessLog`). */
  accessLog(): string[];
  stop(): Promise<void>;
}

function registryConfig(port: number, dir: string, auth: string, tls: string, accessLog = false): string {
  return [
    "version: 0.1",
    "log:",
    "  level: warn",
    "  accesslog:",
    `    disabled: ${accessLog ? "false" : "true"}`,
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${path.join(dir, "data")}`,
    "  delete:",
    "    enabled: true",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    "  secret: stowaway-test-secret",
    tls,
    auth,
    "",
  ]
    .filter((line) => line !== "")
    .join("\n");
}

async function waitUntilUp(
  baseUrl: string,
  ca: string | undefined,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const client = baseUrl.startsWith("https") ? https : http;
      const req = client.get(`${baseUrl}/v2/`, { ca, timeout: 1000 }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on("error", () => resolve(false));
      req.on("timeout", () => {
        req.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not start within 20 s: ${output()}`);
}

export interface RegistryStartOptions {
  /** Keep the registry's access log (combined format on its stdout) for assertions on what was requested. */
  accessLog?: boolean;
}

export async function startRegistry(mode: RegistryMode, options: RegistryStartOptions = {}): Promise<RegistryServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "stowaway-registry-"));
  const port = await freePort();
  let auth = "";
  let tlsConfig = "";
  let tls: TlsMaterial | undefined;
  let htpasswdFile: string | undefined;
  if (mode.kind === "basic") {
    htpasswdFile = await makeHtpasswd(dir, mode.users);
    auth = ["auth:", "  htpasswd:", "    realm: stowaway-test", `    path: ${htpasswdFile}`].join("\n");
  } else if (mode.kind === "token") {
    auth = [
      "auth:",
      "  token:",
      `    realm: ${mode.realm}`,
      `    service: ${mode.service}`,
      `    issuer: ${mode.issuer}`,
      `    rootcertbundle: ${mode.rootCertFile}`,
    ].join("\n");
  } else if (mode.kind === "tls") {
    tls = makeTlsMaterial(dir);
    tlsConfig = ["  tls:", `    certificate: ${tls.certFile}`, `    key: ${tls.keyFile}`].join("\n");
  }
  const configFile = path.join(dir, "config.yml");
  await writeFile(configFile, registryConfig(port, dir, auth, tlsConfig, options.accessLog));
  let output = "";
  let accessLines = "";
  const child = spawn(REGISTRY_BIN, ["serve", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
    if (options.accessLog) accessLines += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const host = `127.0.0.1:${port}`;
  const baseUrl = `${tls ? "https" : "http"}://${host}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilUp(baseUrl, tls ? await readFile(tls.caFile, "utf8") : undefined, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  const accessLog = () =>
    [...accessLines.matchAll(/"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP\/[\d.]+"/g)].map((m) => `${m[1]} ${m[2]}`);
  return { host, baseUrl, dir, tls, htpasswdFile, output: () => output, accessLog, stop };
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface TestHttpServer {
  port: number;
  host: string;
  baseUrl: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A node:http server on 127.0.0.1 that records every request before handing it to `handler`. */
export async function startHttpServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void | Promise<void>,
): Promise<TestHttpServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
      Promise.resolve(handler(req, res, Buffer.concat(chunks))).catch((error: Error) => {
        res.statusCode = 500;
        res.end(error.message);
      });
    });
  });
  server.keepAliveTimeout = 500;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    host: `127.0.0.1:${port}`,
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A registry stand-in that asks for Basic credentials and, once given any, says the manifest is
 * unknown: enough to see what a CI adapter sends (its `requests` record the Authorization header)
 * without serving an image.
 */
export function startCredentialProbeRegistry(): Promise<TestHttpServer> {
  return startHttpServer((req, res) => {
    if (!req.headers.authorization) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="test"', "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED" }] }));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN" }] }));
  });
}
