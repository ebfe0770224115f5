import { chmod, mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RegistryAuthError } from "../../src/errors.js";
import { openRegistryImage } from "../../src/image/registry/index.js";
import type { RegistryOptions } from "../../src/image/types.js";
import { buildImage, buildLayer, type BuiltImage } from "../helpers/image-builder.js";
import { basicAuthorization, pushImage } from "../helpers/registry-push.js";
import { describeWithRegistry, startRegistry, type RegistryServer } from "../helpers/registry-server.js";

const USER = "alice";
const PASSWORD = "s3cret-Pa55-7f1c";
const WRONG_PASSWORD = "not-the-Pa55word-93b2";
const FAST_RETRY = { sleep: async () => undefined };

let registry: RegistryServer;
let image: BuiltImage;
let tmp: string;

function open(registryOptions: RegistryOptions) {
  return openRegistryImage(
    { registry: registry.host, repository: "private/app", tag: "1" },
    {
      registry: {
        dockerConfigDir: path.join(tmp, "empty-docker"),
        podmanAuthFile: path.join(tmp, "none.json"),
        ...registryOptions,
      },
      client: { retry: FAST_RETRY },
    },
  );
}

async function expectPulls(registryOptions: RegistryOptions): Promise<void> {
  const resolved = await open(registryOptions);
  try {
    expect(resolved.manifestDigest).toBe(image.manifestDigest);
    expect(resolved.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => l.digest));
  } finally {
    await resolved.close();
  }
}

async function dockerConfig(name: string, content: unknown): Promise<string> {
  const dir = path.join(tmp, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "config.json"), JSON.stringify(content));
  return dir;
}

/** A `docker-credential-<name>` script that logs the server URL it was asked for. */
async function credentialHelper(name: string, script: string): Promise<string> {
  const dir = path.join(tmp, `bin-${name}`);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `docker-credential-${name}`);
  await writeFile(file, `#!/bin/sh\n${script}\n`);
  await chmod(file, 0o755);
  return dir;
}

describeWithRegistry("registry pull with Basic auth (htpasswd)", () => {
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "stowaway-basic-"));
    registry = await startRegistry({ kind: "basic", users: { [USER]: PASSWORD } });
    image = buildImage({ layers: [await buildLayer([{ path: "secret.txt", content: "inside" }])] });
    await pushImage(
      { baseUrl: registry.baseUrl, authorization: basicAuthorization(USER, PASSWORD) },
      "private/app",
      image,
      "1",
    );
  });

  afterAll(async () => {
    await registry?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("tells an anonymous user how to authenticate", async () => {
    const error = await open({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect((error as Error).message).toBe(
      `authentication required for ${registry.host}/private/app: pass --username/--password, --registry-token or log in with docker login`,
    );
  });

  it("pulls with --username/--password", async () => {
    await expectPulls({ username: USER, password: PASSWORD });
  });

  it("rejects a wrong password without the password (or its encoding) anywhere in the error", async () => {
    const error = await open({ username: USER, password: WRONG_PASSWORD }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    const message = (error as Error).message;
    expect(message).toMatch(
      new RegExp(
        `^authentication failed for ${registry.host.replace(/\./g, "\\.")}/private/app: .*--username/--password`,
      ),
    );
    expect(message).not.toContain("\n");
    const everything = [
      message,
      inspect(error, { depth: 20, showHidden: true }),
      JSON.stringify(error),
      String((error as Error).stack),
    ].join("\n");
    expect(everything).not.toContain(WRONG_PASSWORD);
    expect(everything).not.toContain(Buffer.from(`${USER}:${WRONG_PASSWORD}`).toString("base64"));
  });

  it("reads auths[host].auth from config.json", async () => {
    const dir = await dockerConfig("docker-auths", {
      auths: { [`http://${registry.host}`]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString("base64") } },
    });
    await expectPulls({ dockerConfigDir: dir });
  });

  it("reads the config dir from DOCKER_CONFIG in the given environment", async () => {
    const dir = await dockerConfig("docker-env", {
      auths: { [registry.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString("base64") } },
    });
    const resolved = await openRegistryImage(
      { registry: registry.host, repository: "private/app", tag: "1" },
      {
        registry: { env: { DOCKER_CONFIG: dir }, podmanAuthFile: path.join(tmp, "none.json") },
        client: { retry: FAST_RETRY },
      },
    );
    expect(resolved.manifestDigest).toBe(image.manifestDigest);
    await resolved.close();
  });

  it("asks credHelpers[host] with the server URL on stdin", async () => {
    const log = path.join(tmp, "helper-stdin.log");
    const bin = await credentialHelper(
      "test",
      `[ "$1" = get ] || exit 3\nread server\nprintf '%s' "$server" > '${log}'\nprintf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}' "$server"`,
    );
    const dir = await dockerConfig("docker-helper", { credHelpers: { [registry.host]: "test" } });
    await expectPulls({ dockerConfigDir: dir, env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` } });
    expect(await readFile(log, "utf8")).toBe(registry.host);
  });

  it("falls back to credsStore when no helper or auths entry names the registry", async () => {
    const bin = await credentialHelper("store", `read server\nprintf '{"Username":"${USER}","Secret":"${PASSWORD}"}'`);
    const dir = await dockerConfig("docker-store", { auths: { [registry.host]: {} }, credsStore: "store" });
    await expectPulls({ dockerConfigDir: dir, env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` } });
  });

  it("reports a failing credential helper by name, without its output", async () => {
    const bin = await credentialHelper("broken", `echo "leaked ${WRONG_PASSWORD}"\nexit 4`);
    const dir = await dockerConfig("docker-broken", { credHelpers: { [registry.host]: "broken" } });
    const error = await open({
      dockerConfigDir: dir,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect((error as Error).message).toContain("docker-credential-broken get failed");
    expect(inspect(error, { depth: 20 })).not.toContain(WRONG_PASSWORD);
  });

  it("reads podman's auth.json (REGISTRY_AUTH_FILE)", async () => {
    const file = path.join(tmp, "podman-auth.json");
    await writeFile(
      file,
      JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString("base64") } } }),
    );
    const resolved = await openRegistryImage(
      { registry: registry.host, repository: "private/app", tag: "1" },
      {
        registry: { dockerConfigDir: path.join(tmp, "empty-docker"), env: { REGISTRY_AUTH_FILE: file } },
        client: { retry: FAST_RETRY },
      },
    );
    expect(resolved.manifestDigest).toBe(image.manifestDigest);
    await resolved.close();
  });

  it("reads podman's auth.json under XDG_RUNTIME_DIR", async () => {
    const runtime = path.join(tmp, "xdg");
    await mkdir(path.join(runtime, "containers"), { recursive: true });
    await writeFile(
      path.join(runtime, "containers", "auth.json"),
      JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString("base64") } } }),
    );
    const resolved = await openRegistryImage(
      { registry: registry.host, repository: "private/app", tag: "1" },
      {
        registry: { dockerConfigDir: path.join(tmp, "empty-docker"), env: { XDG_RUNTIME_DIR: runtime } },
        client: { retry: FAST_RETRY },
      },
    );
    expect(resolved.manifestDigest).toBe(image.manifestDigest);
    await resolved.close();
  });
});
