import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ImageError, RegistryAuthError } from "../../src/errors.js";
import { openRegistryImage, RegistryClient, TokenCache } from "../../src/image/registry/index.js";
import type { RegistryOptions } from "../../src/image/types.js";
import { buildImage, buildLayer, type BuiltImage } from "../helpers/image-builder.js";
import { pushImage } from "../helpers/registry-push.js";
import {
  describeWithRegistry,
  makeSigningCert,
  startRegistry,
  type RegistryServer,
} from "../helpers/registry-server.js";
import { startTokenServer, type TokenServer } from "../helpers/registry-token-server.js";

const FAST_RETRY = { sleep: async () => undefined };

describeWithRegistry("registry pull over TLS with a private CA", () => {
  let registry: RegistryServer;
  let image: BuiltImage;

  beforeAll(async () => {
    registry = await startRegistry({ kind: "tls" });
    image = buildImage({ layers: [await buildLayer([{ path: "tls", content: "yes" }])] });
    await pushImage(
      { baseUrl: registry.baseUrl, ca: await readFile(registry.tls!.caFile, "utf8") },
      "secure/app",
      image,
      "1",
    );
  });

  afterAll(async () => {
    await registry?.stop();
  });

  const open = (registryOptions: RegistryOptions) =>
    openRegistryImage(
      { registry: registry.host, repository: "secure/app", tag: "1" },
      { registry: registryOptions, client: { retry: FAST_RETRY } },
    );

  it("trusts the registry through --ca-file", async () => {
    const resolved = await open({ caFile: registry.tls!.caFile });
    expect(resolved.manifestDigest).toBe(image.manifestDigest);
    await resolved.close();
  });

  it("says to pass --ca-file or --insecure when the certificate is not trusted", async () => {
    const error = await open({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageError);
    expect((error as Error).message).toMatch(
      /^TLS connection to 127\.0\.0\.1:\d+ failed \([A-Z_]+\): pass --ca-file with the registry's CA certificate, or --insecure/,
    );
  });

  it("skips verification with --insecure", async () => {
    const resolved = await open({ insecure: true });
    expect(resolved.manifestDigest).toBe(image.manifestDigest);
    await resolved.close();
  });

  it("refuses a --ca-file that holds no certificate", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "stowaway-ca-"));
    const bogus = path.join(dir, "bogus.pem");
    await writeFile(bogus, "not a certificate");
    await expect(open({ caFile: bogus })).rejects.toThrow(/holds no PEM certificate/);
    await rm(dir, { recursive: true, force: true });
  });
});

describeWithRegistry("registry pull with token auth", () => {
  const USER = "bob";
  const PASSWORD = "t0ken-Pa55-a41d";
  const REFRESH = "refresh-token-5e0b-secret";
  const SERVICE = "stowaway-test-registry";
  const ISSUER = "stowaway-test-issuer";
  let tmp: string;
  let tokens: TokenServer;
  let registry: RegistryServer;
  let first: BuiltImage;
  let second: BuiltImage;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "stowaway-token-"));
    const signing = makeSigningCert(tmp);
    tokens = await startTokenServer({
      ...signing,
      service: SERVICE,
      issuer: ISSUER,
      users: { [USER]: PASSWORD },
      refreshTokens: { [REFRESH]: USER },
      expiresIn: 120,
    });
    registry = await startRegistry({
      kind: "token",
      realm: tokens.realm,
      service: SERVICE,
      issuer: ISSUER,
      rootCertFile: signing.certFile,
    });
    const target = {
      baseUrl: registry.baseUrl,
      authorization: (repository: string) => `Bearer ${tokens.mint("pusher", [`repository:${repository}:pull,push`])}`,
    };
    first = buildImage({ layers: [await buildLayer([{ path: "one", content: "1" }])] });
    second = buildImage({ layers: [await buildLayer([{ path: "two", content: "2" }])] });
    await pushImage(target, "team/first", first, "1");
    await pushImage(target, "team/second", second, "1");
  });

  afterAll(async () => {
    await registry?.stop();
    await tokens?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const open = (repository: string, registryOptions: RegistryOptions, cache = new TokenCache(), now?: () => number) =>
    openRegistryImage(
      { registry: registry.host, repository, tag: "1" },
      {
        registry: {
          dockerConfigDir: path.join(tmp, "none"),
          podmanAuthFile: path.join(tmp, "none.json"),
          ...registryOptions,
        },
        client: { retry: FAST_RETRY, tokenCache: cache, ...(now ? { now } : {}) },
      },
    );

  it("fetches a token with Basic credentials, then reuses it per (registry, scope)", async () => {
    const cache = new TokenCache();
    const before = tokens.issued.length;
    for (let i = 0; i < 2; i++) {
      const resolved = await open("team/first", { username: USER, password: PASSWORD }, cache);
      expect(resolved.manifestDigest).toBe(first.manifestDigest);
      await resolved.close();
    }
    expect(tokens.issued.slice(before)).toEqual([
      { method: "GET", scopes: ["repository:team/first:pull"], user: USER },
    ]);

    const other = await open("team/second", { username: USER, password: PASSWORD }, cache);
    expect(other.manifestDigest).toBe(second.manifestDigest);
    await other.close();
    expect(tokens.issued.slice(before).map((r) => r.scopes[0])).toEqual([
      "repository:team/first:pull",
      "repository:team/second:pull",
    ]);
  });

  it("renews a token once its expires_in has passed", async () => {
    const cache = new TokenCache();
    let clock = Date.now();
    const before = tokens.issued.length;
    const one = await open("team/first", { username: USER, password: PASSWORD }, cache, () => clock);
    await one.close();
    clock += 121_000;
    const two = await open("team/first", { username: USER, password: PASSWORD }, cache, () => clock);
    await two.close();
    expect(tokens.issued.length - before).toBe(2);
  });

  it("streams layers with the token (blob requests reuse the cached token)", async () => {
    const cache = new TokenCache();
    const before = tokens.issued.length;
    const resolved = await open("team/first", { username: USER, password: PASSWORD }, cache);
    const chunks: Buffer[] = [];
    for await (const chunk of await resolved.openLayer(0)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(first.layers[0]!.blob)).toBe(true);
    await resolved.close();
    expect(tokens.issued.length - before).toBe(1);
  });

  it("exchanges a config.json identitytoken at the token endpoint by OAuth2 POST", async () => {
    const dir = path.join(tmp, "docker-identity");
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, "config.json"),
      JSON.stringify({ auths: { [registry.host]: { identitytoken: REFRESH } } }),
    );
    const before = tokens.issued.length;
    const resolved = await open("team/second", { dockerConfigDir: dir });
    expect(resolved.manifestDigest).toBe(second.manifestDigest);
    await resolved.close();
    expect(tokens.issued.slice(before)).toEqual([
      { method: "POST", scopes: ["repository:team/second:pull"], user: USER, grant: "refresh_token" },
    ]);
  });

  it("sends --registry-token as a Bearer token without asking the token server", async () => {
    const before = tokens.issued.length;
    const token = tokens.mint(USER, ["repository:team/first:pull"]);
    const resolved = await open("team/first", { registryToken: token });
    expect(resolved.manifestDigest).toBe(first.manifestDigest);
    await resolved.close();
    expect(tokens.issued.length).toBe(before);
  });

  it("reports rejected credentials without the password", async () => {
    const wrong = "wr0ng-token-Pa55-77aa";
    const error = await open("team/first", { username: USER, password: wrong }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect((error as Error).message).toBe(
      `authentication failed for ${registry.host}/team/first: the registry rejected the credentials from --username/--password; check them or pass --username/--password, --registry-token or log in with docker login`,
    );
    expect(inspect(error, { depth: 20, showHidden: true })).not.toContain(wrong);
  });

  it("asks anonymous users to authenticate", async () => {
    await expect(open("team/first", {})).rejects.toThrow(
      `authentication required for ${registry.host}/team/first: pass --username/--password, --registry-token or log in with docker login`,
    );
  });

  it("accepts access_token answers and lists tags with the token", async () => {
    tokens.settings.useAccessTokenField = true;
    const before = tokens.issued.length;
    const client = new RegistryClient(registry.host, {
      username: USER,
      password: PASSWORD,
      retry: FAST_RETRY,
      tokenCache: new TokenCache(),
    });
    try {
      expect(await client.listTags("team/first")).toEqual(["1"]);
      expect(await client.tokenRequestCount()).toBe(1);
      expect(tokens.issued.length - before).toBe(1);
    } finally {
      client.close();
      tokens.settings.useAccessTokenField = false;
    }
  });
});
