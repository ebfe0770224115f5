/**
 * Registry faults as networks produce them, injected by our own proxy (helpers/fault-proxy.ts)
 * in front of a real docker-registry: bodies cut mid-way, requests that never get an answer,
 * bodies that go silent or trickle, and connections that never finish their handshake. Each case
 * asserts the outcome (the right inventory, or one line naming the request and the timeout) and
 * a time bound derived from the small timeouts the test sets.
 */
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { StowawayError } from "../../src/errors.js";
import { scan } from "../../src/scan.js";
import { openRegistryImage, parseTimeoutSeconds } from "../../src/image/registry/index.js";
import { sha256 } from "../helpers/registry-push.js";
import { imageAccessFrom, parseCommonInputs } from "../../src/ci/inputs.js";
import { runCi } from "../../src/ci/run.js";
import { tempDir } from "../helpers/temp-dir.js";
import type { RegistryTimeouts } from "../../src/image/types.js";
import {
  startFaultProxy,
  startSilentServer,
  startUnacceptingListener,
  type FaultProxy,
} from "../helpers/fault-proxy.js";
import { buildImage, buildLayer, type BuiltImage } from "../helpers/image-builder.js";
import { pushImage } from "../helpers/registry-push.js";
import { describeWithRegistry, startRegistry, type RegistryServer } from "../helpers/registry-server.js";

const STATUS = [
  "Package: libfault1",
  "Status: install ok installed",
  "Architecture: amd64",
  "Version: 1.2.3-1",
  "",
  "Package: resumer",
  "Status: install ok installed",
  "Architecture: all",
  "Version: 4.5~rc1-2",
  "",
].join("\n");
/** What the status file above lists, written out by hand. */
const EXPECTED_PACKAGES = ["libfault1@1.2.3-1", "resumer@4.5~rc1-2"];

/** The small timeouts the stall tests set, so stalls resolve in well under a second each. */
const TIMEOUTS: Required<RegistryTimeouts> = { connectMs: 300, firstByteMs: 300, idleMs: 300 };
/**
 * Each test shortens only the timeout it is about; the others stay generous so that a slow
 * answer from a loaded machine is not mistaken for the fault under test.
 */
const GENEROUS: Required<RegistryTimeouts> = { connectMs: 10_000, firstByteMs: 10_000, idleMs: 10_000 };
const SHORT_CONNECT = { ...GENEROUS, connectMs: TIMEOUTS.connectMs };
const SHORT_FIRST_BYTE = { ...GENEROUS, firstByteMs: TIMEOUTS.firstByteMs };
const SHORT_IDLE = { ...GENEROUS, idleMs: TIMEOUTS.idleMs };
/** The transport's first retry waits DEFAULT_RETRY_POLICY.baseDelayMs (500 ms). */
const RETRY_WAIT_MS = 500;
/** Slack for a loaded machine on top of the derived bounds. */
const SLACK_MS = 2500;

let registry: RegistryServer;
let proxy: FaultProxy;
let image: BuiltImage;

function layerPath(): string {
  return `/v2/faults/app/blobs/${image.layers[0]!.digest}`;
}
function configPath(): string {
  return `/v2/faults/app/blobs/${image.configDigest}`;
}

function packagesOf(result: Awaited<ReturnType<typeof scan>>): string[] {
  return result.packages.map((p) => `${p.name}@${p.version}`).sort();
}

async function timed<T>(body: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const started = Date.now();
  try {
    const value = await body();
    return { ms: Date.now() - started, value };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

function scanThroughProxy(timeouts: RegistryTimeouts, host = proxy.host) {
  return scan(`${host}/faults/app:1`, { cacheDir: false, registry: { env: {}, timeouts } });
}

/** The failure is one clear line of ours, not a stack or a wrapped low-level error. */
function expectOneLine(error: unknown, pattern: RegExp): void {
  expect(error).toBeInstanceOf(StowawayError);
  const message = (error as Error).message;
  expect(message).not.toContain("\n");
  expect(message).toMatch(pattern);
}

describeWithRegistry("registry faults through a fault-injecting proxy", () => {
  beforeAll(async () => {
    registry = await startRegistry({ kind: "plain" });
    image = buildImage({
      layers: [
        await buildLayer([
          { path: "etc/os-release", content: 'ID=debian\nVERSION_ID="12"\n' },
          { path: "var/lib/dpkg/status", content: STATUS },
          // Incompressible padding so the layer blob is large enough to be cut in the middle.
          { path: "opt/padding.bin", content: randomBytes(256 * 1024) },
        ]),
      ],
    });
    await pushImage({ baseUrl: registry.baseUrl }, "faults/app", image, "1");
    proxy = await startFaultProxy(registry.baseUrl);
  }, 60_000);

  afterEach(() => proxy.reset());

  afterAll(async () => {
    await proxy?.close();
    await registry?.stop();
  });

  it("scans through the proxy untouched (the baseline the faults are compared with)", async () => {
    const result = await scanThroughProxy(GENEROUS);
    expect(packagesOf(result)).toEqual(EXPECTED_PACKAGES);
    expect(proxy.requests.some((r) => r.range)).toBe(false);
  });

  it("resumes a config blob cut once mid-body with a Range request and scans correctly", async () => {
    const cutAt = Math.floor(image.configBlob.length / 2);
    proxy.rule = (r) => (r.url === configPath() && r.seen === 0 ? { kind: "cut", afterBytes: cutAt } : undefined);
    const result = await scanThroughProxy(GENEROUS);
    expect(packagesOf(result)).toEqual(EXPECTED_PACKAGES);
    const configRequests = proxy.requests.filter((r) => r.url === configPath());
    expect(configRequests.map((r) => r.range)).toEqual([undefined, `bytes=${cutAt}-`]);
    expect(configRequests[1]!.status).toBe(206);
  });

  it("resumes a layer cut once mid-body, feeding the decompressor one seamless stream", async () => {
    const cutAt = 100_000;
    expect(image.layers[0]!.blob.length).toBeGreaterThan(cutAt * 2);
    proxy.rule = (r) => (r.url === layerPath() && r.seen === 0 ? { kind: "cut", afterBytes: cutAt } : undefined);
    const result = await scanThroughProxy(GENEROUS);
    expect(packagesOf(result)).toEqual(EXPECTED_PACKAGES);
    const layerRequests = proxy.requests.filter((r) => r.url === layerPath());
    expect(layerRequests.map((r) => r.range)).toEqual([undefined, `bytes=${cutAt}-`]);
    expect(layerRequests[1]!.status).toBe(206);
  });

  it("restarts from byte 0 and skips what it has when the registry ignores Range", async () => {
    const cutAt = 70_000;
    proxy.rule = (r) =>
      r.url !== layerPath()
        ? undefined
        : r.seen === 0
          ? { kind: "cut", afterBytes: cutAt }
          : r.seen === 1
            ? { kind: "cut", afterBytes: cutAt * 2 }
            : { kind: "ignore-range" };
    const result = await scanThroughProxy(GENEROUS);
    expect(packagesOf(result)).toEqual(EXPECTED_PACKAGES);
    const layerRequests = proxy.requests.filter((r) => r.url === layerPath());
    expect(layerRequests.map((r) => r.range)).toEqual([undefined, `bytes=${cutAt}-`, `bytes=${cutAt * 3}-`]);
    expect(layerRequests.map((r) => r.status)).toEqual([200, 206, 200]);
  });

  it("gives up on a layer cut every time after a bounded number of tries, in one line", async () => {
    proxy.rule = (r) => (r.url === layerPath() ? { kind: "cut", afterBytes: 10_000 } : undefined);
    const outcome = await timed(() => scanThroughProxy(GENEROUS));
    expectOneLine(
      outcome.error,
      new RegExp(`blob .*${image.layers[0]!.digest}: the download broke off 4 times \\(last at \\d+ of \\d+ bytes`),
    );
    // First try plus MAX_BLOB_RESUMES (3) continuations, and no more.
    expect(proxy.requests.filter((r) => r.url === layerPath())).toHaveLength(4);
    expect(outcome.ms).toBeLessThan(SLACK_MS + 1000);
  });

  it("fails a manifest whose headers never come within two first-byte timeouts, naming it", async () => {
    proxy.rule = (r) => (r.url.includes("/manifests/") ? { kind: "stall-headers" } : undefined);
    const outcome = await timed(() => scanThroughProxy(SHORT_FIRST_BYTE));
    expectOneLine(
      outcome.error,
      new RegExp(
        `^registry ${proxy.host.replace(/\./g, "\\.")} sent no response to the request for the manifest of .*faults/app:1 within 0\\.3 s \\(first-byte timeout; raise with --timeout-first-byte\\)$`,
      ),
    );
    expect(proxy.requests.filter((r) => r.url.includes("/manifests/"))).toHaveLength(2);
    expect(outcome.ms).toBeGreaterThanOrEqual(2 * TIMEOUTS.firstByteMs);
    expect(outcome.ms).toBeLessThan(2 * TIMEOUTS.firstByteMs + RETRY_WAIT_MS + SLACK_MS);
  });

  it("retries a request whose headers stalled once and then scans correctly", async () => {
    proxy.rule = (r) => (r.url.includes("/manifests/") && r.seen === 0 ? { kind: "stall-headers" } : undefined);
    const result = await scanThroughProxy(SHORT_FIRST_BYTE);
    expect(packagesOf(result)).toEqual(EXPECTED_PACKAGES);
  });

  it("resumes a layer body that went silent once", async () => {
    proxy.rule = (r) =>
      r.url === layerPath() && r.seen === 0 ? { kind: "stall-body", afterBytes: 50_000 } : undefined;
    const result = await scanThroughProxy(SHORT_IDLE);
    expect(packagesOf(result)).toEqual(EXPECTED_PACKAGES);
    expect(proxy.requests.filter((r) => r.url === layerPath()).map((r) => r.range)).toEqual([
      undefined,
      "bytes=50000-",
    ]);
  });

  it("fails a layer body that stays silent within two idle timeouts, naming the blob", async () => {
    proxy.rule = (r) => (r.url === layerPath() ? { kind: "stall-body", afterBytes: 50_000 } : undefined);
    const outcome = await timed(() => scanThroughProxy(SHORT_IDLE));
    expectOneLine(
      outcome.error,
      new RegExp(
        `^registry ${proxy.host.replace(/\./g, "\\.")} sent no bytes of blob ${image.layers[0]!.digest} for 0\\.3 s \\(idle timeout; raise with --timeout-idle\\)$`,
      ),
    );
    expect(proxy.requests.filter((r) => r.url === layerPath())).toHaveLength(2);
    expect(outcome.ms).toBeLessThan(2 * TIMEOUTS.idleMs + SLACK_MS);
  });

  it("does not count a slow consumer's pauses as registry silence", async () => {
    const resolved = await openRegistryImage(
      { registry: proxy.host, repository: "faults/app", tag: "1" },
      { registry: { env: {}, timeouts: SHORT_IDLE } },
    );
    try {
      const stream = await resolved.openLayer(0);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) {
        chunks.push(chunk as Buffer);
        // The first pause alone is several idle timeouts long.
        if (chunks.length <= 3) await new Promise((r) => setTimeout(r, chunks.length === 1 ? 4 * TIMEOUTS.idleMs : 50));
      }
      expect(sha256(Buffer.concat(chunks))).toBe(image.layers[0]!.digest);
    } finally {
      await resolved.close();
    }
    expect(proxy.requests.some((r) => r.range)).toBe(false);
  });

  it("fails a slow-loris layer body (a few bytes now and then) as stalled", async () => {
    proxy.rule = (r) => (r.url === layerPath() ? { kind: "trickle", bytes: 16, everyMs: 50 } : undefined);
    const outcome = await timed(() => scanThroughProxy(SHORT_IDLE));
    expectOneLine(
      outcome.error,
      new RegExp(
        `sent only \\d+ bytes of blob ${image.layers[0]!.digest} in 0\\.3 s \\(idle timeout: too slow to count as progress; raise with --timeout-idle\\)$`,
      ),
    );
    expect(outcome.ms).toBeLessThan(2 * TIMEOUTS.idleMs + SLACK_MS);
  });

  it("reads a manifest again whole when its body was cut once", async () => {
    proxy.rule = (r) => (r.url.includes("/manifests/") && r.seen === 0 ? { kind: "cut", afterBytes: 40 } : undefined);
    const result = await scanThroughProxy(GENEROUS);
    expect(packagesOf(result)).toEqual(EXPECTED_PACKAGES);
    expect(proxy.requests.filter((r) => r.url.includes("/manifests/")).map((r) => r.fault)).toEqual(["cut", undefined]);
  });

  it("fails a manifest body that goes silent, after one more whole read, within two idle timeouts", async () => {
    proxy.rule = (r) => (r.url.includes("/manifests/") ? { kind: "stall-body", afterBytes: 20 } : undefined);
    const outcome = await timed(() => scanThroughProxy(SHORT_IDLE));
    expectOneLine(
      outcome.error,
      /sent no bytes of the manifest of .*faults\/app:1 for 0\.3 s \(idle timeout; raise with --timeout-idle\)$/,
    );
    expect(proxy.requests.filter((r) => r.url.includes("/manifests/"))).toHaveLength(2);
    expect(outcome.ms).toBeLessThan(2 * TIMEOUTS.idleMs + SLACK_MS);
  });

  it("fails a connection whose handshake never completes within the connect timeout", async () => {
    const silent = await startSilentServer();
    try {
      const outcome = await timed(() => scanThroughProxy(SHORT_CONNECT, silent.host));
      expectOneLine(
        outcome.error,
        new RegExp(
          `^cannot connect to registry ${silent.host.replace(/\./g, "\\.")} within 0\\.3 s .*\\(connect timeout, TCP and TLS handshake; raise with --timeout-connect\\)$`,
        ),
      );
      expect(silent.accepted()).toBeGreaterThan(0);
      expect(outcome.ms).toBeLessThan(TIMEOUTS.connectMs + SLACK_MS);
    } finally {
      await silent.close();
    }
  });

  it("fails a TCP connect that never completes (SYNs dropped) within the connect timeout, naming the request", async () => {
    // The first request of a pull is the API root (the registry's version check).
    const dropped = await startUnacceptingListener();
    try {
      const outcome = await timed(() => scanThroughProxy(SHORT_CONNECT, dropped.host));
      expectOneLine(
        outcome.error,
        new RegExp(
          `^cannot connect to registry ${dropped.host.replace(/\./g, "\\.")} within 0\\.3 s while requesting the API root /v2/ \\(connect timeout, TCP and TLS handshake; raise with --timeout-connect\\)$`,
        ),
      );
      expect(outcome.ms).toBeLessThan(TIMEOUTS.connectMs + SLACK_MS);
    } finally {
      await dropped.close();
    }
  });

  it("takes the timeouts from the common CI inputs the adapters use, and stops a stall with them", async () => {
    proxy.rule = (r) => (r.url.includes("/manifests/") ? { kind: "stall-headers" } : undefined);
    {
      const dir = tempDir("stowaway-faults-ci-");
      const values: Record<string, string> = {
        image: `${proxy.host}/faults/app:1`,
        "output-dir": dir,
        "cache-dir": dir,
        "timeout-first-byte": "0.3",
        // No database to provision: the scan itself is what must stop at the stall.
        offline: "true",
      };
      const inputs = parseCommonInputs((name) => values[name], { outputDir: dir });
      expect(inputs.timeouts).toEqual({ firstByteMs: 300 });
      const outcome = await timed(() => runCi(inputs, { env: {} }));
      expectOneLine(outcome.error, /within 0\.3 s \(first-byte timeout; raise with --timeout-first-byte\)$/);
      expect(outcome.ms).toBeLessThan(2 * 300 + RETRY_WAIT_MS + SLACK_MS);
    }
  });

  it("fills CI timeouts from STOWAWAY_TIMEOUT_* when no input gives them, inputs winning", () => {
    const inputs = parseCommonInputs((name) => ({ image: "x/y:1", "timeout-idle": "2.5" })[name], {
      outputDir: "out",
    });
    const access = imageAccessFrom(inputs, { STOWAWAY_TIMEOUT_CONNECT: "4", STOWAWAY_TIMEOUT_IDLE: "99" });
    expect(access.registry?.timeouts).toEqual({ connectMs: 4000, idleMs: 2500 });
    expect(() =>
      parseCommonInputs((name) => ({ image: "x/y:1", "timeout-idle": "soon" })[name], { outputDir: "o" }),
    ).toThrow(/^input timeout-idle: "soon" is not a number of seconds/);
  });
});

describe("timeout values as flags, inputs and variables give them", () => {
  it.each([
    ["30", 30_000],
    ["2.5", 2_500],
    [" 10s ", 10_000],
    ["0.3", 300],
  ])("%j seconds is %d ms", (text, ms) => {
    expect(parseTimeoutSeconds("--timeout-idle", text)).toBe(ms);
  });

  it.each(["0", "-1", "soon", "1e3", "3601", "1,5"])("refuses %j in one line naming the setting", (text) => {
    expect(() => parseTimeoutSeconds("--timeout-idle", text)).toThrow(
      /^--timeout-idle: ".*" is not a number of seconds/,
    );
  });

  it("treats blank as not given", () => {
    expect(parseTimeoutSeconds("--timeout-idle", "  ")).toBeUndefined();
    expect(parseTimeoutSeconds("--timeout-idle", undefined)).toBeUndefined();
  });
});
