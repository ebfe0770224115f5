import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alpineImage } from "../../core/test/inventory/fixtures.js";
import { startFaultProxy, type FaultProxy } from "../../core/test/helpers/fault-proxy.js";
import { describeWithPostgres, startPostgres, type PostgresServer } from "../../core/test/helpers/postgres-server.js";
import { pushImage } from "../../core/test/helpers/registry-push.js";
import { HAS_REGISTRY, startRegistry, type RegistryServer } from "../../core/test/helpers/registry-server.js";
import { cliEntry, demoArchive, demoDb, root } from "./harness.js";

/** A `stowaway serve` process with everything it printed to stderr. */
interface ServeProcess {
  child: ChildProcess;
  log(): string;
  /** Job ids this process logged as "started" / "succeeded", in order. */
  started(): string[];
  succeeded(): string[];
}

interface JobView {
  id: string;
  state: string;
  attempts: number;
  error?: string;
  output?: Record<string, unknown>;
}

describeWithPostgres("stowaway serve on PostgreSQL: an API process and worker processes sharing one queue", () => {
  let postgres: PostgresServer;
  let work: string;
  let storeUrl: string;
  let token: string;
  let apiUrl: string;
  let registry: RegistryServer | undefined;
  let proxy: FaultProxy | undefined;
  const processes: ServeProcess[] = [];

  const env = (home: string): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: home,
    CI: "true",
    // Short queue timings so a killed worker's job is noticed within seconds (docs/service.md).
    STOWAWAY_QUEUE_POLL_SECONDS: "0.5",
    STOWAWAY_QUEUE_MAINTENANCE_SECONDS: "1",
    // Long enough that a scan slowed by a loaded CI machine is not taken for a dead worker's job;
    // the kill test waits this long for the retry.
    STOWAWAY_JOB_EXPIRE_SECONDS: "20",
    STOWAWAY_JOB_RETRY_DELAY_SECONDS: "1",
  });

  function serve(name: string, args: string[], ready: RegExp): Promise<ServeProcess> {
    const home = path.join(work, name);
    const child = spawn(
      process.execPath,
      [cliEntry, "serve", "--store", storeUrl, "--cache-dir", path.join(home, "cache"), ...args],
      { env: env(home), cwd: root, stdio: ["ignore", "ignore", "pipe"] },
    );
    let text = "";
    const lines = (what: string) =>
      [...text.matchAll(new RegExp(`job ([0-9a-f-]{36}) \\S+(?: attempt \\d+)?: ${what}`, "g"))].map((m) => m[1]!);
    const handle: ServeProcess = {
      child,
      log: () => text,
      started: () => lines("started"),
      succeeded: () => lines("succeeded"),
    };
    processes.push(handle);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${text}`)), 30_000);
      child.stderr!.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
        if (ready.test(text)) {
          clearTimeout(timer);
          resolve(handle);
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code}:\n${text}`));
      });
    });
  }

  const api = async (pathname: string, body?: unknown): Promise<Response> =>
    fetch(`${apiUrl}${pathname}`, {
      method: body === undefined ? "GET" : "POST",
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  async function submit(body: unknown): Promise<string> {
    const response = await api("/api/v1/scans", body);
    expect(response.status).toBe(202);
    return ((await response.json()) as { id: string }).id;
  }

  /** A job's view; a client polling many jobs meets the per-token rate limit and waits as Retry-After says. */
  async function job(id: string): Promise<JobView> {
    for (;;) {
      const response = await api(`/api/v1/jobs/${id}`);
      if (response.status !== 429) return (await response.json()) as JobView;
      await response.body?.cancel();
      const wait = Number(response.headers.get("retry-after") ?? "1");
      await new Promise((resolve) => setTimeout(resolve, Math.max(wait, 0.1) * 1000));
    }
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 25_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), "stowaway-serve-pg-"));
    postgres = await startPostgres();
    storeUrl = await postgres.createDatabase("stowaway_service");
    const created = spawnSync(
      process.execPath,
      [cliEntry, "serve", "token", "create", "--scope", "write", "--name", "test", "--store", storeUrl],
      { encoding: "utf8", env: env(work), cwd: root },
    );
    expect(created.status, created.stderr).toBe(0);
    token = created.stdout.trim();
    expect(created.stderr).not.toContain(token);
    const apiProcess = await serve(
      "api",
      ["--no-worker", "--listen", "127.0.0.1:0", "--allow-local-images"],
      /listening on (http:\/\/\S+)/,
    );
    apiUrl = /listening on (http:\/\/\S+)/.exec(apiProcess.log())![1]!;
    const workerArgs = ["--worker", "--db", demoDb, "--concurrency", "1"];
    await Promise.all([
      serve("worker-a", workerArgs, /workers: 1 on the postgres queue/),
      serve("worker-b", workerArgs, /workers: 1 on the postgres queue/),
    ]);
  });

  afterAll(async () => {
    for (const { child } of processes) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await Promise.all(
      processes.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) resolve();
            else child.once("exit", () => resolve());
          }),
      ),
    );
    await proxy?.close();
    await registry?.stop();
    await postgres?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it(
    "two worker processes share 20 scan jobs: each runs exactly once, none is lost",
    { timeout: 180_000 },
    async () => {
      const ids: string[] = [];
      for (let index = 0; index < 20; index += 1) ids.push(await submit({ reference: `oci-archive:${demoArchive}` }));
      const finished = await until(
        "20 jobs",
        async () => {
          const views = await Promise.all(ids.map(job));
          return views.every((view) => view.state === "succeeded" || view.state === "failed") ? views : undefined;
        },
        30_000,
      );
      expect(finished.map((view) => view.state)).toEqual(ids.map(() => "succeeded"));
      expect(finished.map((view) => view.attempts)).toEqual(ids.map(() => 1));
      const [, a, b] = processes;
      const started = [...a!.started(), ...b!.started()];
      // Every job started once, on one of the two workers, and both took a share.
      expect(started.sort()).toEqual([...ids].sort());
      expect([...a!.succeeded(), ...b!.succeeded()].sort()).toEqual([...ids].sort());
      expect(a!.started().length).toBeGreaterThan(0);
      expect(b!.started().length).toBeGreaterThan(0);
      // The result is in the shared store, served by the API process (which runs no worker).
      const digest = String(finished[0]!.output?.["digest"]);
      const result = await api(`/api/v1/results/${digest}`);
      expect(result.status).toBe(200);
      const document = (await result.json()) as { findings: { severity: string }[] };
      // The demo's findings (examples/demo/db): 9 critical.
      expect(document.findings.filter((finding) => finding.severity === "critical")).toHaveLength(9);
    },
  );

  it.runIf(HAS_REGISTRY)("a worker killed mid-job: the job is retried on the other worker and completes", async () => {
    registry = await startRegistry({ kind: "plain" });
    const image = await alpineImage({ openssl: "3.1.4-r0" });
    await pushImage({ baseUrl: registry.baseUrl }, "team/app", image, "1.0");
    proxy = await startFaultProxy(registry.baseUrl);
    // The registry answers nothing while `hold` is set: the job stays running on whichever worker took it.
    let hold = true;
    proxy.rule = () => (hold ? { kind: "stall-headers" } : undefined);
    const id = await submit({ reference: `${proxy.host}/team/app:1.0`, insecure: true });
    const [, a, b] = processes;
    const holder = await until("a worker to take the job", async () =>
      a!.started().includes(id) ? a : b!.started().includes(id) ? b : undefined,
    );
    expect((await job(id)).state).toBe("running");
    holder!.child.kill("SIGKILL");
    hold = false;
    const done = await until(
      "the retried job",
      async () => {
        const view = await job(id);
        return view.state === "succeeded" || view.state === "failed" ? view : undefined;
      },
      60_000,
    );
    expect(done.state, done.error).toBe("succeeded");
    expect(done.attempts).toBe(2);
    const survivor = holder === a ? b! : a!;
    expect(survivor.succeeded()).toContain(id);
    expect(String(done.output?.["digest"])).toMatch(/^sha256:/);
  });
});

describe("examples/kubernetes-service", () => {
  it("has the API and worker Deployments, the Secret and the Service, using only flags serve has", async () => {
    const { readFileSync, readdirSync } = await import("node:fs");
    const yaml = (await import("js-yaml")).default;
    const dir = path.join(root, "examples/kubernetes-service");
    const documents = readdirSync(dir)
      .filter((file) => file.endsWith(".yaml"))
      .flatMap((file) => yaml.loadAll(readFileSync(path.join(dir, file), "utf8")) as Record<string, unknown>[]);
    const kinds = documents.map(
      (document) => `${String(document["kind"])}/${String((document["metadata"] as { name: string }).name)}`,
    );
    expect(kinds.sort()).toEqual(
      [
        "Deployment/stowaway-api",
        "Deployment/stowaway-worker",
        "Secret/stowaway-registry",
        "Secret/stowaway-store",
        "Service/stowaway",
      ].sort(),
    );
    const help = spawnSync(process.execPath, [cliEntry, "serve", "--help"], { encoding: "utf8" }).stdout;
    const commands = documents
      .filter((document) => document["kind"] === "Deployment")
      .map((document) => {
        const container = (
          document as { spec: { template: { spec: { containers: { command: string[]; args?: string[] }[] } } } }
        ).spec.template.spec.containers[0]!;
        return [...container.command, ...(container.args ?? [])].join(" ");
      });
    expect(commands.join("\n")).toMatch(/serve --no-worker/);
    expect(commands.join("\n")).toMatch(/serve --worker/);
    for (const flag of commands.join(" ").match(/--[a-z-]+/g) ?? []) {
      if (help.includes(flag)) continue;
      throw new Error(`${flag} is not an option of stowaway serve`);
    }
  });
});
