import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdmissionController, type AdmissionOptions } from "../../src/admission/decide.js";
import { MAX_REVIEW_BYTES, startAdmissionServer, type AdmissionServer } from "../../src/admission/server.js";
import { parsePolicy } from "../../src/policy/parse.js";
import { openStore } from "../../src/store/index.js";
import { buildImage, buildLayer, OCI_MANIFEST } from "../helpers/image-builder.js";
import { pushArchive, pushImage, type PushTarget } from "../helpers/registry-push.js";
import {
  describeWithRegistry,
  makeTlsMaterial,
  startRegistry,
  type RegistryServer,
  type TlsMaterial,
} from "../helpers/registry-server.js";
import { cosignKeyPair, cosignSignature, pushCosignSignature, simpleSigningPayload } from "../helpers/signing.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const DEMO_ARCHIVE = path.join(ROOT, "examples/demo/demo-image.oci.tar");
const DEMO_DB = path.join(ROOT, "examples/demo/db");

let registry: RegistryServer;
let dir: string;
let tls: TlsMaterial;
let ca: string;
let keyPem: string;

interface Reply {
  status: number;
  body: string;
  json?: {
    apiVersion: string;
    kind: string;
    response: { uid: string; allowed: boolean; status?: { code: number; message: string }; warnings?: string[] };
  };
}

/** POSTs like the API server does: HTTPS, JSON, `?timeout=10s` on the URL. */
function post(server: AdmissionServer, body: string | Buffer, contentType = "application/json"): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `https://${server.address}/validate?timeout=10s`,
      { method: "POST", ca, headers: { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: Reply["json"];
          try {
            json = JSON.parse(text) as Reply["json"];
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: text, ...(json ? { json } : {}) });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

let counter = 0;

/** An AdmissionReview v1 request as the Kubernetes API reference describes it. */
function review(kind: string, group: string, object: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  counter += 1;
  const resource = `${kind.toLowerCase()}s`;
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: `0e4ab3a0-8a0c-4d6e-9c3b-${String(counter).padStart(12, "0")}`,
      kind: { group, version: "v1", kind },
      resource: { group, version: "v1", resource },
      requestKind: { group, version: "v1", kind },
      requestResource: { group, version: "v1", resource },
      name: "web",
      namespace: "shop",
      operation: "CREATE",
      userInfo: { username: "alice", uid: "014fbff9a07c", groups: ["system:authenticated"] },
      object,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
      ...extra,
    },
  });
}

type Containers = {
  containers: { name: string; image: string }[];
  initContainers?: { name: string; image: string }[];
  ephemeralContainers?: { name: string; image: string }[];
};

const pod = (spec: Containers) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web", namespace: "shop" },
  spec,
});
const deployment = (spec: Containers) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "shop" },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "web" } },
    template: { metadata: { labels: { app: "web" } }, spec },
  },
});
const cronJob = (spec: Containers) => ({
  apiVersion: "batch/v1",
  kind: "CronJob",
  metadata: { name: "nightly", namespace: "shop" },
  spec: {
    schedule: "0 3 * * *",
    jobTemplate: { spec: { template: { spec: { ...spec, restartPolicy: "OnFailure" } } } },
  },
});

function policyText(mode: "enforce" | "warn" = "enforce"): string {
  return [
    "version: 1",
    `mode: ${mode}`,
    "gate:",
    "  failOn: high",
    "trust:",
    "  registries:",
    `    - ${registry.host}/`,
    "  signatures:",
    `    - repository: ${registry.host}/signed/`,
    "      required: true",
    "      keys:",
    "        - |",
    ...keyPem
      .trim()
      .split("\n")
      .map((line) => `          ${line}`),
    "",
  ].join("\n");
}

const servers: AdmissionServer[] = [];

async function webhook(options: Partial<AdmissionOptions> = {}, mode: "enforce" | "warn" = "enforce") {
  const controller = new AdmissionController({
    policy: parsePolicy(policyText(mode), "policy.yaml"),
    database: DEMO_DB,
    registry: { env: {} },
    cacheDir: false,
    ...options,
  });
  const server = await startAdmissionServer({
    controller,
    listen: "127.0.0.1:0",
    tlsCert: tls.certFile,
    tlsKey: tls.keyFile,
  });
  servers.push(server);
  return server;
}

describeWithRegistry("admission webhook over HTTPS with a real registry", () => {
  let demo: string;
  let signed: string;
  let unsigned: string;

  beforeAll(async () => {
    registry = await startRegistry({ kind: "plain" }, { accessLog: true });
    dir = mkdtempSync(path.join(os.tmpdir(), "stowaway-admission-"));
    tls = makeTlsMaterial(dir);
    ca = readFileSync(tls.caFile, "utf8");
    const target: PushTarget = { baseUrl: registry.baseUrl };
    const signer = cosignKeyPair();
    keyPem = signer.publicPem;
    await pushArchive(target, "shop/demo", DEMO_ARCHIVE, "1.0");
    demo = `${registry.host}/shop/demo:1.0`;
    for (const repository of ["signed/api", "signed/unsigned"]) {
      const image = buildImage({ layers: [await buildLayer([{ path: "etc/app", content: repository }])] });
      await pushImage(target, repository, image, "1.0");
      if (repository === "signed/api") {
        const payload = simpleSigningPayload(`${registry.host}/${repository}`, image.manifestDigest);
        const subject = { mediaType: OCI_MANIFEST, digest: image.manifestDigest, size: image.manifestBlob.length };
        await pushCosignSignature(
          target,
          repository,
          subject,
          [{ payload, signature: cosignSignature(payload, signer.privateKey) }],
          "tag",
        );
      }
    }
    signed = `${registry.host}/signed/api:1.0`;
    unsigned = `${registry.host}/signed/unsigned:1.0`;
  }, 60_000);

  afterAll(async () => {
    for (const server of servers) await server.close();
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("denies a Deployment whose image fails the gate, naming the image, the rule and the worst findings", async () => {
    const server = await webhook();
    const reply = await post(
      server,
      review("Deployment", "apps", deployment({ containers: [{ name: "web", image: demo }] })),
    );
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" });
    const { response } = reply.json!;
    expect(response.allowed).toBe(false);
    expect(response.status?.code).toBe(403);
    expect(response.status?.message).toContain(`image ${demo}`);
    expect(response.status?.message).toContain("gate.failOn");
    // The demo image's ratings (examples/demo): critical findings exist, so the first one shown is critical.
    expect(response.status?.message).toMatch(/top findings: (CVE|GHSA)-[\w-]+ \(critical\) in /);
    expect(response.status?.message).toContain("[containers[0] web]");
  });

  it("admits a signed image and answers the repeat from the verdict cache in under 50 ms", async () => {
    const server = await webhook();
    const body = () => review("Pod", "", pod({ containers: [{ name: "api", image: signed }] }));
    const first = await post(server, body());
    expect(first.json?.response).toMatchObject({ allowed: true });
    const requestsBefore = registry.accessLog().length;
    const started = performance.now();
    const second = await post(server, body());
    const elapsed = performance.now() - started;
    expect(second.json?.response.allowed).toBe(true);
    expect(elapsed).toBeLessThan(50);
    expect(registry.accessLog().length).toBe(requestsBefore);
  });

  it("denies unsigned images in init and ephemeral containers and CronJob templates (trust.signatures)", async () => {
    const server = await webhook();
    const job = await post(
      server,
      review(
        "CronJob",
        "batch",
        cronJob({
          initContainers: [{ name: "migrate", image: unsigned }],
          containers: [{ name: "run", image: signed }],
        }),
      ),
    );
    expect(job.json?.response.allowed).toBe(false);
    expect(job.json?.response.status?.message).toMatch(/violates trust\.signatures: .* is not signed/);
    expect(job.json?.response.status?.message).toContain("[initContainers[0] migrate]");

    const debug = await post(
      server,
      review(
        "Pod",
        "",
        pod({
          containers: [{ name: "api", image: signed }],
          ephemeralContainers: [{ name: "debugger", image: unsigned }],
        }),
      ),
    );
    expect(debug.json?.response.allowed).toBe(false);
    expect(debug.json?.response.status?.message).toContain("[ephemeralContainers[0] debugger]");
  });

  it("denies an image from an untrusted registry without contacting any registry", async () => {
    const server = await webhook();
    const before = registry.accessLog().length;
    const reply = await post(
      server,
      review("Pod", "", pod({ containers: [{ name: "x", image: "docker.io/library/nginx:1.25" }] })),
    );
    expect(reply.json?.response.allowed).toBe(false);
    expect(reply.json?.response.status?.message).toMatch(
      /violates trust\.registries: .* is not from a trusted registry/,
    );
    expect(registry.accessLog().length).toBe(before);
  });

  it("dry-run requests never scan; exempt namespaces and images pass unchecked", async () => {
    const server = await webhook({ exemptNamespaces: ["kube-system"], exemptImages: [`${registry.host}/shop/*`] });
    const before = registry.accessLog().filter((line) => line.includes("/blobs/")).length;
    const dry = await post(
      server,
      review("Pod", "", pod({ containers: [{ name: "u", image: unsigned }] }), { dryRun: true }),
    );
    // Trust needs no scan, so it is still judged on a dry run.
    expect(dry.json?.response.allowed).toBe(false);
    expect(dry.json?.response.status?.message).toMatch(/is not signed/);
    const dryScan = await webhook({});
    const unscanned = await post(
      dryScan,
      review("Deployment", "apps", deployment({ containers: [{ name: "d", image: demo }] }), { dryRun: true }),
    );
    expect(unscanned.json?.response.allowed).toBe(true);
    expect(unscanned.json?.response.warnings?.[0]).toMatch(/dry-run requests never scan/);
    // Only manifests and the config were read: no layer blob of the demo image.
    const layerReads = registry
      .accessLog()
      .filter((line) => line.includes("/blobs/") && line.includes("shop/demo")).length;
    expect(layerReads - before).toBeLessThanOrEqual(1);

    const system = await post(
      server,
      review("Pod", "", pod({ containers: [{ name: "u", image: unsigned }] }), { namespace: "kube-system" }),
    );
    expect(system.json?.response).toMatchObject({ allowed: true });
    const exempt = await post(server, review("Pod", "", pod({ containers: [{ name: "d", image: demo }] })));
    expect(exempt.json?.response).toMatchObject({ allowed: true });
  });

  it("warn mode admits with AdmissionReview warnings", async () => {
    const server = await webhook({}, "warn");
    const reply = await post(server, review("Pod", "", pod({ containers: [{ name: "u", image: unsigned }] })));
    expect(reply.json?.response.allowed).toBe(true);
    expect(reply.json?.response.warnings?.join("\n")).toMatch(/violates trust\.signatures/);
  });

  it("warn mode splits findings into warnings short enough for the API server (256 chars each, 4096 in all)", async () => {
    const server = await webhook({}, "warn");
    const reply = await post(server, review("Pod", "", pod({ containers: [{ name: "d", image: demo }] })));
    expect(reply.json?.response.allowed).toBe(true);
    const warnings = reply.json?.response.warnings ?? [];
    expect(warnings[0], warnings.join("\n")).toMatch(
      /^Stowaway: image .*shop\/demo:1\.0 \[containers\[0\] d\] violates gate\.failOn: /,
    );
    // One warning per top finding, naming the image, so a kubectl user sees them uncut.
    expect(warnings.some((w) => /shop\/demo:1\.0: (CVE|GHSA)-[\w-]+ \(critical\) in /.test(w))).toBe(true);
    for (const warning of warnings) expect(warning.length).toBeLessThanOrEqual(256);
    expect(warnings.join("").length).toBeLessThanOrEqual(4096);
  });

  it("fail-closed denies and fail-open admits when the image cannot be judged in time", async () => {
    const closed = await webhook({ timeoutMs: 1 });
    const denied = await post(
      closed,
      review("Pod", "", pod({ containers: [{ name: "d", image: `${registry.host}/signed/api:missing` }] })),
    );
    expect(denied.json?.response.allowed).toBe(false);
    expect(denied.json?.response.status?.message).toMatch(/could not be checked \(fail-closed\)/);
    const open = await webhook({ timeoutMs: 2000, failOpen: true });
    const admitted = await post(
      open,
      review("Pod", "", pod({ containers: [{ name: "d", image: `${registry.host}/signed/api:missing` }] })),
    );
    expect(admitted.json?.response.allowed).toBe(true);
    expect(admitted.json?.response.warnings?.[0]).toMatch(/admitted unchecked \(fail-open\): manifest unknown/);
  });

  it("answers from the store without pulling layers again", async () => {
    const storeFile = path.join(dir, "store.sqlite");
    const store = await openStore(storeFile);
    try {
      const first = await webhook({ store });
      await post(first, review("Pod", "", pod({ containers: [{ name: "d", image: demo }] })));
      const logged: string[] = [];
      const second = await webhook({ store, log: (line) => logged.push(line) });
      const blobsBefore = registry.accessLog().filter((line) => line.includes("/blobs/")).length;
      const reply = await post(second, review("Pod", "", pod({ containers: [{ name: "d", image: demo }] })));
      expect(reply.json?.response.allowed).toBe(false);
      expect(logged.join("\n")).toContain(`${demo} via store`);
      // The config blob is read to resolve the platform; no layer.
      expect(registry.accessLog().filter((line) => line.includes("/blobs/")).length - blobsBefore).toBeLessThanOrEqual(
        1,
      );
    } finally {
      await store.close();
    }
  });

  it("reuses a digest's verdict for every tag and digest reference that resolves to it, within the TTL", async () => {
    const digest = await pushArchive({ baseUrl: registry.baseUrl }, "shop/demo", DEMO_ARCHIVE, "stable");
    const logged: string[] = [];
    const server = await webhook({ log: (line) => logged.push(line) });
    const admit = (image: string) => post(server, review("Pod", "", pod({ containers: [{ name: "d", image }] })));
    const first = await admit(demo);
    expect(first.json?.response.allowed).toBe(false);
    expect(logged.pop()).toContain(`${demo} via scan`);

    // Another tag and a digest reference: resolved at the registry (manifests, the config), never scanned again.
    const blobsBefore = registry.accessLog().filter((line) => line.includes("/blobs/")).length;
    for (const other of [`${registry.host}/shop/demo:stable`, `${registry.host}/shop/demo@${digest}`]) {
      const reply = await admit(other);
      expect(reply.json?.response.allowed).toBe(false);
      // The message names the reference the pod used, with the same rule and findings.
      expect(reply.json?.response.status?.message).toContain(`image ${other} (`);
      expect(reply.json?.response.status?.message).toContain("gate.failOn");
      expect(logged.pop()).toContain(`${other} via cache`);
    }
    expect(registry.accessLog().filter((line) => line.includes("/blobs/")).length - blobsBefore).toBeLessThanOrEqual(2);

    // The repeat of a reference needs no registry request at all, and answers in under 50 ms.
    const requestsBefore = registry.accessLog().length;
    const started = performance.now();
    const repeat = await admit(`${registry.host}/shop/demo:stable`);
    expect(performance.now() - started).toBeLessThan(50);
    expect(repeat.json?.response.allowed).toBe(false);
    expect(registry.accessLog().length).toBe(requestsBefore);

    // Past the TTL the digest is judged afresh.
    const shortLived = await webhook({ cacheTtlMs: 1, log: (line) => logged.push(line) });
    await post(shortLived, review("Pod", "", pod({ containers: [{ name: "d", image: demo }] })));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await post(
      shortLived,
      review("Pod", "", pod({ containers: [{ name: "d", image: `${registry.host}/shop/demo:stable` }] })),
    );
    expect(logged.pop()).toContain(`${registry.host}/shop/demo:stable via scan`);
  }, 60_000);

  it("scans a digest once when two tags of it arrive at the same moment", async () => {
    await pushArchive({ baseUrl: registry.baseUrl }, "shop/twin", DEMO_ARCHIVE, "a");
    await pushArchive({ baseUrl: registry.baseUrl }, "shop/twin", DEMO_ARCHIVE, "b");
    await pushArchive({ baseUrl: registry.baseUrl }, "shop/single", DEMO_ARCHIVE, "only");
    const blobGets = (repository: string) =>
      registry.accessLog().filter((line) => line.startsWith(`GET /v2/${repository}/blobs/`)).length;

    // One reference alone: what a single scan of this image reads (the config and every layer).
    const single = await webhook({});
    await post(
      single,
      review("Pod", "", pod({ containers: [{ name: "d", image: `${registry.host}/shop/single:only` }] })),
    );
    const oneScan = blobGets("shop/single");
    expect(oneScan).toBeGreaterThanOrEqual(2);

    // Two containers, two tags, one digest: one scan; the second reference reads only its config.
    const logged: string[] = [];
    const server = await webhook({ log: (line) => logged.push(line) });
    const reply = await post(
      server,
      review(
        "Pod",
        "",
        pod({
          containers: [
            { name: "a", image: `${registry.host}/shop/twin:a` },
            { name: "b", image: `${registry.host}/shop/twin:b` },
          ],
        }),
      ),
    );
    expect(reply.json?.response.allowed).toBe(false);
    // Each reference is named in the verdict with its own container.
    expect(reply.json?.response.status?.message).toContain(`image ${registry.host}/shop/twin:a (`);
    expect(reply.json?.response.status?.message).toContain(`image ${registry.host}/shop/twin:b (`);
    expect(blobGets("shop/twin")).toBeLessThanOrEqual(oneScan + 1);
  }, 60_000);
});

describe("admission webhook HTTP edge cases", () => {
  let server: AdmissionServer;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "stowaway-admission-http-"));
    tls = makeTlsMaterial(dir);
    ca = readFileSync(tls.caFile, "utf8");
    const controller = new AdmissionController({ policy: parsePolicy("version: 1\n", "policy.yaml") });
    server = await startAdmissionServer({
      controller,
      listen: "127.0.0.1:0",
      tlsCert: tls.certFile,
      tlsKey: tls.keyFile,
    });
  }, 30_000);
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("rejects malformed, mistyped and oversized bodies with one clear line", async () => {
    expect(await post(server, "{not json")).toMatchObject({
      status: 400,
      body: "malformed AdmissionReview: the body is not JSON\n",
    });
    expect(
      (
        await post(
          server,
          JSON.stringify({
            apiVersion: "admission.k8s.io/v1",
            kind: "AdmissionReview",
            request: { kind: { kind: "Pod" } },
          }),
        )
      ).body,
    ).toContain("request.uid is missing");
    expect((await post(server, "{}", "text/plain")).status).toBe(415);
    const huge = Buffer.alloc(MAX_REVIEW_BYTES + 1024, 0x20);
    expect((await post(server, huge)).status).toBe(413);
  });

  it("admits kinds that run no containers and DELETE operations", async () => {
    const configMap = await post(
      server,
      review("ConfigMap", "", { apiVersion: "v1", kind: "ConfigMap", data: { a: "b" } }),
    );
    expect(configMap.json?.response).toMatchObject({ allowed: true });
    expect(configMap.json?.response.uid).toMatch(/^0e4ab3a0-/);
  });
});
