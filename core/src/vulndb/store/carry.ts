import { createReadStream, existsSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import type { OsvRecord } from "../osv.js";
import type { CveMetrics, DatabaseMetadata, KevEntry } from "../types.js";
import { VulnDbError } from "../errors.js";
import { EPSS_TABLE, KEV_TABLE, LAYOUT_FILE, METADATA_FILE, type Layout } from "./format.js";
import { readIntegrityManifest, verifyFiles } from "./integrity.js";
import type { DatabaseWriter, SourceInfo } from "./writer.js";

async function* lines(file: string): AsyncGenerator<string> {
  const reader = createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity });
  for await (const line of reader) if (line !== "") yield line;
}

function infoOf(source: DatabaseMetadata["sources"][number]): SourceInfo {
  const { name, origin, fetchedAt, url, etag, lastModified, validators } = source;
  return {
    name,
    origin,
    fetchedAt,
    ...(url ? { url } : {}),
    ...(etag ? { etag } : {}),
    ...(lastModified ? { lastModified } : {}),
    ...(validators ? { validators } : {}),
  };
}

/**
 * Copies the sources `keep` selects from an existing generation into a writer, streaming each records
 * file so an update that refreshes one feed does not need the others' original inputs.
 */
export async function carrySources(
  generation: string,
  metadata: DatabaseMetadata,
  layout: Layout,
  writer: DatabaseWriter,
  keep: (sourceName: string) => boolean,
): Promise<string[]> {
  const carried: string[] = [];
  // Carrying damaged records would give them fresh checksums in the new generation: check them first.
  const integrity = readIntegrityManifest(generation);
  await verifyFiles(generation, integrity, [LAYOUT_FILE, METADATA_FILE]);
  for (const [index, source] of metadata.sources.entries()) {
    if (!keep(source.name)) continue;
    carried.push(source.name);
    const info = infoOf(source);
    writer.declareSource(info);
    if (source.name === "cisa-kev" && layout.kev && existsSync(path.join(generation, KEV_TABLE))) {
      await verifyFiles(generation, integrity, [KEV_TABLE]);
      for await (const line of lines(path.join(generation, KEV_TABLE))) {
        // An empty release date lets any freshly downloaded catalog win.
        writer.addKev(JSON.parse(line.slice(line.indexOf("\t") + 1)) as KevEntry, "", info);
      }
      continue;
    }
    if (source.name === "epss" && layout.epss && existsSync(path.join(generation, EPSS_TABLE))) {
      await verifyFiles(generation, integrity, [EPSS_TABLE]);
      for await (const line of lines(path.join(generation, EPSS_TABLE))) {
        const [cveId, rest] = line.split("\t") as [string, string];
        const [score, percentile, date] = rest.split(",");
        writer.addEpss(
          { cveId, score: Number(score), percentile: Number(percentile), ...(date ? { date } : {}) },
          info,
        );
      }
      continue;
    }
    const metrics = layout.metrics?.[source.name];
    if (metrics && existsSync(path.join(generation, metrics.file))) {
      await verifyFiles(generation, integrity, [metrics.file]);
      for await (const line of lines(path.join(generation, metrics.file))) {
        const tab = line.indexOf("\t");
        const { m, v } = JSON.parse(line.slice(tab + 1)) as { m: string; v: CveMetrics["vectors"] };
        writer.addCveMetrics({ cveId: line.slice(0, tab), modified: m, vectors: v }, info);
      }
      continue;
    }
    const file = layout.recordFiles[index];
    if (!file) continue;
    await verifyFiles(generation, integrity, [file]);
    let lineNumber = 0;
    for await (const line of lines(path.join(generation, file))) {
      lineNumber++;
      let record: OsvRecord;
      try {
        record = JSON.parse(line) as OsvRecord;
      } catch (error) {
        throw new VulnDbError(`${path.join(generation, file)}:${lineNumber}: damaged record; rebuild the database`, {
          cause: error,
        });
      }
      writer.addRecord(record, info);
    }
  }
  return carried;
}
