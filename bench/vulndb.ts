/**
 * Vulnerability DB benchmark (wired into `npm run bench` by the lead; not run by tests):
 * generates a synthetic OSV set of BENCH_VULNDB_RECORDS (default 600,000, the size of all OSV
 * ecosystems) records spread over five ecosystems as OSV-style all.zip files, plus BENCH_NVD_CVES
 * (default 250,000, NVD's size) CVEs as NVD CVE API 2.0 pages of 2,000, builds the database from them
 * and reports build throughput and peak RSS, then, in a fresh process, the time and peak RSS of
 * opening it and looking up 2,000 packages together with the NVD vectors of every record's CVE (what
 * matching does). `--small` (or BENCH_VULNDB_SMALL=1) runs 20,000 records and 10,000 CVEs for a quick check.
 * Numbers are measurements of this machine, not assertions.
 */
import { spawnSync } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import yazl from "yazl";
import { buildDatabase, openDatabase } from "../core/src/vulndb/index.js";

const ECOSYSTEMS = ["PyPI", "npm", "Go", "Maven", "crates.io"];
const SMALL = process.argv.includes("--small") || process.env.BENCH_VULNDB_SMALL === "1";
// The build and lookup phases run in child processes, which must see the same sizes.
if (SMALL) process.env.BENCH_VULNDB_SMALL = "1";
const TOTAL = Number(process.env.BENCH_VULNDB_RECORDS ?? (SMALL ? 20_000 : 600_000));
const NVD_CVES = Number(process.env.BENCH_NVD_CVES ?? (SMALL ? 10_000 : 250_000));
const NVD_PAGE = 2000;
const LOOKUPS = 2000;
// Several advisories per package, as in the real feeds.
const RECORDS_PER_PACKAGE = 4;

function packageName(ecosystem: string, index: number): string {
  return ecosystem === "Maven" ? `org.example${index % 97}:artifact-${index}` : `package-${index}`;
}

function record(ecosystem: string, index: number) {
  const pkg = Math.floor(index / RECORDS_PER_PACKAGE);
  return {
    schema_version: "1.6.0",
    id: `GHSA-${ecosystem.slice(0, 2).toLowerCase()}${index.toString(36)}-aaaa-bbbb`.replace(/[^A-Za-z0-9-]/g, "x"),
    modified: "2025-01-01T00:00:00Z",
    summary: `Synthetic advisory ${index} for ${ecosystem}`,
    details: "Generated for the vulnerability database benchmark. ".repeat(4),
    aliases: [`CVE-2025-${100000 + index}`],
    severity: [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }],
    affected: [
      {
        package: { ecosystem, name: packageName(ecosystem, pkg) },
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: `${(index % 9) + 1}.${index % 13}.0` }] }],
      },
    ],
    references: [{ type: "ADVISORY", url: `https://example.invalid/advisory/${index}` }],
  };
}

/** One NVD CVE API 2.0 page of synthetic CVEs (ids shared with the OSV records' aliases). */
function nvdPage(from: number, to: number, total: number): string {
  const vulnerabilities = [];
  for (let i = from; i < to; i++) {
    vulnerabilities.push({
      cve: {
        id: `CVE-2025-${100000 + i}`,
        sourceIdentifier: "cna@example.invalid",
        published: "2025-01-01T00:00:00.000",
        lastModified: "2025-01-02T00:00:00.000",
        vulnStatus: "Analyzed",
        descriptions: [{ lang: "en", value: `Synthetic CVE ${i} for the vulnerability database benchmark.` }],
        metrics: {
          cvssMetricV31: [
            {
              source: "nvd@nist.gov",
              type: "Primary",
              cvssData: {
                version: "3.1",
                vectorString: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:N",
                baseScore: 6.5,
              },
            },
            {
              source: "cna@example.invalid",
              type: "Secondary",
              cvssData: {
                version: "3.1",
                vectorString: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                baseScore: 9.8,
              },
            },
          ],
        },
      },
    });
  }
  return JSON.stringify({
    resultsPerPage: to - from,
    startIndex: from,
    totalResults: total,
    format: "NVD_CVE",
    version: "2.0",
    timestamp: "2025-01-02T00:00:00.000",
    vulnerabilities,
  });
}

function writeZip(file: string, ecosystem: string, from: number, to: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    for (let i = from; i < to; i++)
      zip.addBuffer(Buffer.from(JSON.stringify(record(ecosystem, i))), `${i}.json`, {
        // Level 1 keeps generation quick; the build still inflates every member as with OSV's zips.
        compressionLevel: 1,
      });
    zip.outputStream.pipe(createWriteStream(file)).on("close", resolve).on("error", reject);
    zip.end();
  });
}

/**
 * Peak RSS of this process. Linux keeps getrusage's maxrss across fork+exec, so a child would report
 * its parent's peak; VmHWM belongs to the address space exec created and starts fresh.
 */
function maxRssMiB(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (match) return Number(match[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

async function lookupMode(dbDir: string): Promise<void> {
  const started = performance.now();
  const store = await openDatabase(dbDir);
  const opened = performance.now();
  const cpu = process.cpuUsage();
  let found = 0;
  let vectors = 0;
  const perEcosystem = Math.ceil(LOOKUPS / ECOSYSTEMS.length);
  const packages = Math.floor(TOTAL / ECOSYSTEMS.length / RECORDS_PER_PACKAGE);
  for (const ecosystem of ECOSYSTEMS) {
    for (let i = 0; i < perEcosystem; i++) {
      const index = Math.floor((i * packages) / perEcosystem);
      const records = await store.advisoriesFor(ecosystem, packageName(ecosystem, index));
      found += records.length;
      for (const record of records) {
        for (const cve of record.aliases ?? []) {
          for (const metrics of (await store.cveMetrics?.(cve)) ?? []) vectors += metrics.vectors.length;
        }
      }
    }
  }
  const done = performance.now();
  const used = process.cpuUsage(cpu);
  await store.close();
  process.stdout.write(
    JSON.stringify({
      openMs: opened - started,
      lookupMs: done - opened,
      lookupCpuMs: (used.user + used.system) / 1000,
      found,
      vectors,
      maxRssMiB: maxRssMiB(),
    }) + "\n",
  );
}

async function buildMode(dbDir: string, zips: string[]): Promise<void> {
  const started = performance.now();
  const metadata = await buildDatabase({ from: zips, dbDir });
  process.stdout.write(
    JSON.stringify({
      records: metadata.records,
      cves: metadata.cveMetrics ?? 0,
      seconds: (performance.now() - started) / 1000,
      maxRssMiB: maxRssMiB(),
    }) + "\n",
  );
}

/** Runs a phase in a fresh process so its peak RSS is its own. */
function child<T>(args: string[]): T {
  const result = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (result.status !== 0) throw new Error(`${args[0]} run failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as T;
}

const ZIP_CHUNK = 25_000;

async function main(): Promise<void> {
  if (process.argv[2] === "--lookup") return lookupMode(process.argv[3]!);
  if (process.argv[2] === "--build") return buildMode(process.argv[3]!, process.argv.slice(4));
  process.stdout.write(`generating ${TOTAL} OSV records and ${NVD_CVES} NVD CVEs${SMALL ? " (small mode)" : ""}\n`);
  const work = mkdtempSync(path.join(os.tmpdir(), "stowaway-bench-vulndb-"));
  try {
    const perEcosystem = Math.ceil(TOTAL / ECOSYSTEMS.length);
    const zips: string[] = [];
    const generating = performance.now();
    for (const ecosystem of ECOSYSTEMS) {
      // Several zips per ecosystem keep the generator's memory bounded (yazl buffers what it is given).
      for (let first = 0; first < perEcosystem; first += ZIP_CHUNK) {
        const file = path.join(work, `${ecosystem}-${first}.zip`);
        await writeZip(file, ecosystem, first, Math.min(perEcosystem, first + ZIP_CHUNK));
        zips.push(file);
      }
    }
    for (let first = 0; first < NVD_CVES; first += NVD_PAGE) {
      const file = path.join(work, `nvd-${first}.json`);
      writeFileSync(file, nvdPage(first, Math.min(NVD_CVES, first + NVD_PAGE), NVD_CVES));
      zips.push(file);
    }
    const generatedSeconds = (performance.now() - generating) / 1000;
    const dbDir = path.join(work, "db");
    const build = child<{ records: number; cves: number; seconds: number; maxRssMiB: number }>([
      "--build",
      dbDir,
      ...zips,
    ]);
    const measured = child<{
      openMs: number;
      lookupMs: number;
      lookupCpuMs: number;
      found: number;
      vectors: number;
      maxRssMiB: number;
    }>(["--lookup", dbDir]);
    const zipMiB = zips.reduce((sum, file) => sum + statSync(file).size, 0) / 2 ** 20;
    const rows: Array<[string, string]> = [
      ["records", String(build.records)],
      ["NVD CVEs", String(build.cves)],
      [
        "input (zip + NVD pages)",
        `${zips.length} files, ${zipMiB.toFixed(1)} MiB, generated in ${generatedSeconds.toFixed(1)} s`,
      ],
      ["build time", `${build.seconds.toFixed(1)} s`],
      ["build throughput", `${Math.round(build.records / build.seconds)} records/s`],
      ["build process peak RSS", `${build.maxRssMiB.toFixed(0)} MiB`],
      ["open", `${measured.openMs.toFixed(1)} ms`],
      [
        `${LOOKUPS} lookups`,
        `${measured.lookupMs.toFixed(1)} ms wall, ${measured.lookupCpuMs.toFixed(1)} ms CPU (${measured.found} records, ${measured.vectors} NVD vectors of their CVEs)`,
      ],
      ["lookup process peak RSS", `${measured.maxRssMiB.toFixed(0)} MiB`],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    process.stdout.write(
      `vulnerability DB benchmark\n${rows.map(([l, v]) => `  ${l.padEnd(width)}  ${v}`).join("\n")}\n`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
