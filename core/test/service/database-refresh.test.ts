import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InProcessQueue } from "../../src/jobs/in-process.js";
import { createJobRunner } from "../../src/jobs/run.js";
import type { JobStatus } from "../../src/jobs/types.js";
import { openServiceStore } from "../../src/store/index.js";
import type { ServiceStore } from "../../src/store/service-state.js";
import { MIRROR_EXPECTED, NO_PROXY_ENV, startDbMirror, type DbMirror } from "../helpers/db-mirror.js";
import { tempDir } from "../helpers/temp-dir.js";

const root = path.resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const demoArchive = path.join(root, "examples/demo/demo-image.oci.tar");

describe("workers keep their vulnerability database fresh (databaseRefresh)", () => {
  let mirror: DbMirror;
  let store: ServiceStore;
  let queue: InProcessQueue;
  const lines: string[] = [];

  beforeAll(async () => {
    mirror = await startDbMirror();
    const dir = tempDir("stowaway-worker-db-");
    store = await openServiceStore(path.join(dir, "store.sqlite"));
    queue = new InProcessQueue(store, { pollMs: 50 });
    await queue.work(
      createJobRunner({
        store,
        database: path.join(dir, "db"),
        cacheDir: path.join(dir, "cache"),
        databaseRefresh: {
          maxAgeMs: 24 * 3600_000,
          mirrors: [mirror.url],
          env: { ...NO_PROXY_ENV },
          log: (line) => lines.push(line),
        },
      }),
    );
  });
  afterAll(async () => {
    await queue.stop();
    await store.close();
    await mirror.close();
  });

  it("downloads the database before the first job when there is none, then matches with it", async () => {
    const id = await queue.submit("scan", { reference: `oci-archive:${demoArchive}` });
    let job: JobStatus | undefined;
    for (let tries = 0; tries < 400; tries += 1) {
      job = await queue.get(id);
      if (job?.state === "succeeded" || job?.state === "failed") break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(job?.state, `${job?.error}\n${lines.join("\n")}`).toBe("succeeded");
    expect(lines.join("\n")).toMatch(/vulnerability database updated/);
    const stored = await store.getImage(String(job!.output!["digest"]));
    const ids = (severity: string) =>
      stored!.result.findings!.filter((finding) => finding.severity === severity).map((finding) => finding.id);
    // The mirror's feeds (core/test/helpers/db-mirror.ts) know one critical and one medium finding for the demo.
    expect(ids("critical")).toEqual(MIRROR_EXPECTED.critical);
    expect(ids("medium")).toEqual(MIRROR_EXPECTED.medium);
  });
});
