/**
 * Scale benchmark phase (bench/scale.ts), run in a fresh process: opens the database and matches the
 * lookup set (bench/scale/inventory.ts) through core's matcher, cold then warm. Prints one JSON line.
 * Usage: tsx bench/scale/lookup.ts DB_DIR PACKAGES SCALE
 */
// The built core, as the CLI runs it (the TypeScript sources under tsx carry transform overhead).
import { matchPackages, openDatabase } from "@stowaway/core";
import { lookupPackages } from "./inventory.js";

const [dbDir, count, scale] = process.argv.slice(2);
const packages = lookupPackages(Number(count), Number(scale));
const started = performance.now();
const cpuStart = process.cpuUsage();
const store = await openDatabase(dbDir!);
const opened = performance.now();
const cold = await matchPackages(packages, store);
const coldDone = performance.now();
const cpu = process.cpuUsage(cpuStart);
await matchPackages(packages, store);
const warmDone = performance.now();
await store.close();
process.stdout.write(
  `${JSON.stringify({
    packages: packages.length,
    openMs: opened - started,
    coldMs: coldDone - opened,
    // CPU time of open + cold match: on a shared machine wall time also counts waiting for a core.
    coldCpuMs: (cpu.user + cpu.system) / 1000,
    warmMs: warmDone - coldDone,
    findings: cold.findings.length,
  })}\n`,
);
