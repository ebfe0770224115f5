/**
 * Scale benchmark phase (bench/scale.ts), run in a fresh process: writes IMAGES inventories (shared
 * bases and application stacks, bench/scale/inventory.ts) straight into a new SQLite store, then runs
 * `registry rescan`'s core (rescanStore) twice against the database: the first run finds everything
 * new, the second is the daily case (nothing changed). Prints one JSON line.
 * Usage: tsx bench/scale/rescan.ts DB_DIR STORE_FILE IMAGES SCALE
 */
import { statSync } from "node:fs";
// The built core, as the CLI runs it (the TypeScript sources under tsx carry transform overhead).
import { openDatabase } from "@stowaway/core";
import { openStore, rescanStore } from "@stowaway/core/inventory";
import { registryInventories } from "./inventory.js";

const [dbDir, storeFile, count, scale] = process.argv.slice(2);
const images = Number(count);
const inventory = registryInventories(images, Number(scale));
const filling = performance.now();
let store = await openStore(storeFile!);
let packages = 0;
const now = "2026-01-01T00:00:00.000Z";
for (let i = 0; i < images; i++) {
  const result = inventory(i);
  packages += result.packages.length;
  await store.putImage({ digest: result.artifact.manifestDigest, result, firstScanned: now, lastMatched: now });
}
await store.close();
const fillSeconds = (performance.now() - filling) / 1000;

async function rescan(): Promise<{ seconds: number; cpuSeconds: number; changes: number }> {
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  store = await openStore(storeFile!);
  const database = await openDatabase(dbDir!);
  // As `registry rescan` does: the changes are counted, and stay in the store.
  const { summary } = await rescanStore({ store, database, keepChanges: false });
  const changes = summary.newFindings + summary.fixedFindings + summary.newlyFixable;
  await database.close();
  await store.close();
  const cpu = process.cpuUsage(cpuStart);
  return {
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    changes,
  };
}
const first = await rescan();
const second = await rescan();
process.stdout.write(
  `${JSON.stringify({
    images,
    packages,
    fillSeconds,
    firstSeconds: first.seconds,
    firstCpuSeconds: first.cpuSeconds,
    secondSeconds: second.seconds,
    secondCpuSeconds: second.cpuSeconds,
    firstChanges: first.changes,
    secondChanges: second.changes,
    storeMiB: statSync(storeFile!).size / 2 ** 20,
  })}\n`,
);
