import path from "node:path";
import { fileURLToPath } from "node:url";
import { InProcessQueue } from "../../src/jobs/in-process.js";
import { createJobRunner } from "../../src/jobs/run.js";
import { parsePolicy } from "../../src/policy/parse.js";
import { startService, type RunningService } from "../../src/service/server.js";
import { createApiToken } from "../../src/service/tokens.js";
import { openServiceStore } from "../../src/store/index.js";
import type { ServiceStore } from "../../src/store/service-state.js";

const demoDb = path.resolve(fileURLToPath(new URL("../../../examples/demo/db", import.meta.url)));

export interface DemoService {
  store: ServiceStore;
  queue: InProcessQueue;
  service: RunningService;
  /** An API token with the write scope. */
  token: string;
  close(): Promise<void>;
}

/**
 * A real Stowaway service on 127.0.0.1 (SQLite store, in-process queue) matching against the demo
 * database, optionally with a central policy: the target of the CI `server` input in tests.
 */
export async function startDemoService(dir: string, policyText?: string): Promise<DemoService> {
  const store = await openServiceStore(path.join(dir, "store.sqlite"));
  const token = (await createApiToken(store, { scope: "write" })).token;
  const queue = new InProcessQueue(store, { pollMs: 50 });
  await queue.work(
    createJobRunner({
      store,
      database: demoDb,
      cacheDir: path.join(dir, "cache"),
      ...(policyText ? { policy: parsePolicy(policyText, "central.yaml") } : {}),
    }),
  );
  const service = await startService({ store, queue, listen: "127.0.0.1:0" });
  return {
    store,
    queue,
    service,
    token,
    async close() {
      await service.close();
      await queue.stop();
      await store.close();
    },
  };
}
