import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPolicy } from "../../src/policy/load.js";
import { makeTlsMaterial } from "../helpers/registry-server.js";

const OPENSSL = ["/usr/bin/openssl", "/usr/local/bin/openssl"].find((candidate) => existsSync(candidate));
const TOKEN = "policy-token-fixture-123";
const POLICY = "version: 1\ngate:\n  failOn: critical\n";

const describeWithOpenssl = OPENSSL ? describe : describe.skip;

describeWithOpenssl(`central policy over HTTPS${OPENSSL ? "" : " (skipped: openssl is not installed)"}`, () => {
  let dir: string;
  let server: https.Server;
  let base: string;
  let caFile: string;
  let served = POLICY;
  let status = 200;
  const seenAuth: (string | undefined)[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "stowaway-remote-policy-"));
    const tls = makeTlsMaterial(dir);
    caFile = tls.caFile;
    server = https.createServer(
      { key: await readFile(tls.keyFile), cert: await readFile(tls.certFile) },
      (request, response) => {
        seenAuth.push(request.headers.authorization);
        if (request.url === "/moved") {
          response.writeHead(302, { location: "/policy.yaml" }).end();
        } else if (request.headers.authorization !== `Bearer ${TOKEN}`) {
          response.writeHead(401).end();
        } else {
          response.writeHead(status, { "content-type": "application/yaml" }).end(status === 200 ? served : "");
        }
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  const env = { STOWAWAY_POLICY_TOKEN: TOKEN };

  it("downloads with the bearer token and trusts the given CA", async () => {
    const cacheDir = path.join(dir, "cache-a");
    const policy = await loadPolicy(`${base}/policy.yaml`, { caFile, env, cacheDir });
    expect(policy.gate.failOn).toBe("critical");
    expect(policy.notices).toBeUndefined();
    expect(seenAuth.at(-1)).toBe(`Bearer ${TOKEN}`);
    const moved = await loadPolicy(`${base}/moved`, { caFile, env });
    expect(moved.gate.failOn).toBe("critical");
  });

  it("refuses an untrusted certificate even when a cached copy exists", async () => {
    const cacheDir = path.join(dir, "cache-b");
    await loadPolicy(`${base}/policy.yaml`, { caFile, env, cacheDir });
    await expect(loadPolicy(`${base}/policy.yaml`, { env, cacheDir })).rejects.toThrow(/TLS verification failed/);
  });

  it("a refused token is an error, not a reason to use the cache, and the token is never shown", async () => {
    const cacheDir = path.join(dir, "cache-c");
    await loadPolicy(`${base}/policy.yaml`, { caFile, env, cacheDir });
    const error = await loadPolicy(`${base}/policy.yaml?token=${TOKEN}`, {
      caFile,
      env: { STOWAWAY_POLICY_TOKEN: "wrong" },
      cacheDir,
    }).catch((caught: Error) => caught);
    expect((error as Error).message).toBe(
      `${base}/policy.yaml: cannot download the policy: the server answered HTTP 401 (check STOWAWAY_POLICY_TOKEN)`,
    );
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it("uses the cached copy with a notice when the server is down or unreachable", async () => {
    const cacheDir = path.join(dir, "cache-d");
    await loadPolicy(`${base}/policy.yaml`, { caFile, env, cacheDir });
    status = 503;
    try {
      const policy = await loadPolicy(`${base}/policy.yaml`, { caFile, env, cacheDir });
      expect(policy.gate.failOn).toBe("critical");
      expect(policy.notices).toHaveLength(1);
      expect(policy.notices![0]).toMatch(
        new RegExp(
          `^policy server unreachable \\(the server answered HTTP 503\\); using the cached copy of ${base.replace(/\./g, "\\.")}/policy\\.yaml from \\d{4}-`,
        ),
      );
      await expect(
        loadPolicy(`${base}/policy.yaml`, { caFile, env, cacheDir: path.join(dir, "empty") }),
      ).rejects.toThrow(/HTTP 503\) and there is no cached copy/);
    } finally {
      status = 200;
    }
    const offline = await loadPolicy("https://127.0.0.1:9/policy.yaml", {
      caFile,
      env,
      cacheDir,
      timeoutMs: 2000,
    }).catch((caught: Error) => caught);
    expect((offline as Error).message).toMatch(
      /cannot download the policy .* and there is no cached copy|ECONNREFUSED/,
    );
  });

  it("never caches an invalid policy over a good one", async () => {
    const cacheDir = path.join(dir, "cache-e");
    await loadPolicy(`${base}/policy.yaml`, { caFile, env, cacheDir });
    served = "version: 1\ngate:\n  failOn: sometimes\n";
    try {
      await expect(loadPolicy(`${base}/policy.yaml`, { caFile, env, cacheDir })).rejects.toThrow(
        `${base}/policy.yaml:3: gate.failOn: must be one of critical, high, medium, low, none`,
      );
    } finally {
      served = POLICY;
    }
    status = 503;
    try {
      expect((await loadPolicy(`${base}/policy.yaml`, { caFile, env, cacheDir })).gate.failOn).toBe("critical");
    } finally {
      status = 200;
    }
  });
});
