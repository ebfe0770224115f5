import { gunzipSync } from "node:zlib";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { open, readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import type { OsvRecord } from "../osv.js";
import { VulnDbError, type WarningSink } from "../errors.js";
import { baseEcosystem } from "../../versions/index.js";
import { normalizeEcosystem } from "../normalize.js";
import type { DatabaseWriter, SourceInfo } from "../store/writer.js";
import {
  DEBIAN_TRACKER_SOURCE,
  DebianTrackerAccumulator,
  looksLikeDebianDistributions,
  looksLikeDebianTracker,
} from "../sources/debian.js";
import { ALPINE_SECDB_SOURCE, AlpineSecdbAccumulator, looksLikeAlpineSecdb } from "../sources/alpine.js";
import {
  REDHAT_SOURCE,
  REDHAT_VEX_SOURCE,
  RedHatAccumulator,
  isCsafVex,
  looksLikeCsaf,
  looksLikeRedHatCve,
} from "../sources/redhat.js";
import { KEV_SOURCE, looksLikeKevCatalog, parseKevCatalog } from "../sources/kev.js";
import { EPSS_SOURCE, looksLikeEpssCsv, parseEpssCsv } from "../sources/epss.js";
import { looksLikeNvdCve, looksLikeNvdPage, NVD_SOURCE, parseNvdCve, parseNvdPage } from "../sources/nvd.js";
import { CVE5_SOURCE, looksLikeCve5Record, parseCve5Record } from "../sources/cve5.js";
import { acceptOsvRecord, looksLikeOsv, parseStructuredText } from "./osv.js";
import { addCve5Zip } from "./cve5.js";
import { DEFAULT_ZIP_LIMITS, looksLikeZip, readZipMembers, type ZipLimits } from "./zip.js";
import { looksLikeZstd, readTarMembers } from "./tar.js";

/** Fixed provenance for everything read from one input (used by `db update` for downloaded feeds). */
export type SourceOverride = Partial<SourceInfo>;

const FEEDS =
  "OSV JSON/YAML/zip, NVD CVE API 2.0 JSON, CVE List V5 JSON, Debian tracker JSON, Alpine secdb, Red Hat CSAF/VEX or Security Data API JSON, CISA KEV JSON or EPSS CSV";
// The Debian tracker JSON (~80 MB) and EPSS CSV (~15 MB) are the largest single-document feeds.
const MAX_TEXT_FEED_BYTES = 1024 * 1024 * 1024;
const MAX_GUNZIP_BYTES = MAX_TEXT_FEED_BYTES;

function osvSourceName(record: OsvRecord): string {
  const first = record.affected?.find((affected) => affected.package?.ecosystem)?.package?.ecosystem;
  return first ? `osv:${baseEcosystem(normalizeEcosystem(first))}` : "osv";
}

/** Marks where an OSV record came from without touching anything that affects evaluation. */
function tagOsv(record: OsvRecord): OsvRecord {
  for (const affected of record.affected ?? []) {
    const specific = affected.database_specific ?? {};
    if (!("stowaway" in specific)) affected.database_specific = { ...specific, stowaway: { source: "osv" } };
  }
  return record;
}

/**
 * Reads vulnerability inputs of any supported kind, recognised by content, into a DatabaseWriter.
 * Unusable records and unrecognised files cost one warning each, never the whole build.
 */
export class Ingestor {
  private readonly debian = new DebianTrackerAccumulator();
  private readonly alpine = new AlpineSecdbAccumulator();
  private readonly debianSources: SourceInfo[] = [];
  private readonly alpineSources: SourceInfo[] = [];
  private readonly redhat = new RedHatAccumulator();
  private readonly redhatSources: SourceInfo[] = [];

  constructor(
    private readonly writer: DatabaseWriter,
    private readonly warn: WarningSink,
    private readonly zipLimits: ZipLimits = DEFAULT_ZIP_LIMITS,
  ) {}

  /** A file or a directory (walked recursively, hidden entries skipped). */
  async addPath(input: string, override: SourceOverride = {}): Promise<void> {
    let info;
    try {
      info = await stat(input);
    } catch (error) {
      throw new VulnDbError(
        `${input}: cannot read this --from input (${(error as NodeJS.ErrnoException).code}); check the path`,
        {
          cause: error,
        },
      );
    }
    if (info.isDirectory()) {
      await this.addDirectory(input, { origin: input, ...override });
    } else {
      await this.addFile(input, { origin: input, ...override });
    }
  }

  private async addDirectory(dir: string, override: SourceOverride): Promise<void> {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        await this.addDirectory(full, override);
      } else if (entry.isFile()) {
        await this.addFile(full, override);
      } else if (entry.isSymbolicLink()) {
        // Linked files are read; linked directories are not followed, so a loop cannot trap the walk.
        const target = await stat(full).catch(() => undefined);
        if (target?.isFile()) await this.addFile(full, override);
      }
    }
  }

  private source(name: string, file: string, mtime: Date, override: SourceOverride): SourceInfo {
    return {
      name: override.name ?? name,
      origin: override.origin ?? file,
      fetchedAt: override.fetchedAt ?? mtime.toISOString(),
      ...(override.url ? { url: override.url } : {}),
      ...(override.etag ? { etag: override.etag } : {}),
      ...(override.lastModified ? { lastModified: override.lastModified } : {}),
      ...(override.validators ? { validators: override.validators } : {}),
    };
  }

  private addOsv(record: OsvRecord, file: string, mtime: Date, override: SourceOverride): void {
    this.writer.addRecord(tagOsv(record), this.source(osvSourceName(record), file, mtime, override));
  }

  private async addFile(file: string, override: SourceOverride): Promise<void> {
    const { mtime, size } = await stat(file);
    const head = Buffer.alloc(4);
    const handle = await open(file, "r");
    try {
      await handle.read(head, 0, 4, 0);
    } finally {
      await handle.close();
    }
    if (looksLikeZip(head)) {
      // OSV all.zip, or a cvelistV5 release asset: a delta of CVE records, or the baseline that
      // nests `cves.zip` (read by addCve5Zip, which streams the nested archive to disk).
      const nested: string[] = [];
      const skip = (name: string) => name.endsWith(".zip") && nested.push(name) > 0;
      for await (const member of readZipMembers(file, this.zipLimits, skip)) {
        if (!/\.json$/i.test(member.name)) continue;
        const where = `${file}!${member.name}`;
        let value: unknown;
        try {
          value = parseStructuredText(member.data.toString("utf8"), "json");
        } catch (error) {
          this.warn(`${where}: not valid JSON (${(error as Error).message.split("\n")[0]}); skipped`);
          continue;
        }
        if (looksLikeCve5Record(value)) {
          const metrics = parseCve5Record(value, where, this.warn);
          if (metrics) this.writer.addCveMetrics(metrics, this.source(CVE5_SOURCE, file, mtime, override));
          continue;
        }
        const record = acceptOsvRecord(value, where, this.warn);
        if (record) this.addOsv(record, file, mtime, override);
      }
      if (nested.length > 0) {
        const scratch = mkdtempSync(path.join(os.tmpdir(), "stowaway-zip-"));
        try {
          await addCve5Zip(
            file,
            this.writer,
            this.source(CVE5_SOURCE, file, mtime, override),
            this.warn,
            this.zipLimits,
            scratch,
          );
        } finally {
          rmSync(scratch, { recursive: true, force: true });
        }
      }
      return;
    }
    if (looksLikeZstd(head)) {
      // Red Hat's CSAF/VEX archives (csaf_vex_<date>.tar.zst): one JSON document per member.
      let members = 0;
      for await (const member of readTarMembers(file, this.zipLimits, (name) => /\.json$/i.test(name))) {
        members++;
        // Member names come from the archive's publisher; warnings show them without control characters.
        const where = `${file}!${member.name.replace(/[^\x20-\x7e]/g, "?")}`;
        let value: unknown;
        try {
          value = JSON.parse(member.data.toString("utf8"));
        } catch (error) {
          this.warn(`${where}: not valid JSON (${(error as Error).message.split("\n")[0]}); skipped`);
          continue;
        }
        this.addDocument(value, where, mtime, { origin: file, ...override });
      }
      if (members === 0) this.warn(`${file}: a zstd archive without JSON members (only ${FEEDS} are read); skipped`);
      return;
    }
    if (size > MAX_TEXT_FEED_BYTES) {
      this.warn(`${file}: ${size} bytes is too large for a JSON/YAML/CSV feed (zip it as OSV all.zip); skipped`);
      return;
    }
    let name = file;
    let data = await readFile(file);
    if (head[0] === 0x1f && head[1] === 0x8b) {
      try {
        data = gunzipSync(data, { maxOutputLength: MAX_GUNZIP_BYTES });
      } catch (error) {
        this.warn(`${file}: not a readable gzip file (${(error as Error).message}); skipped`);
        return;
      }
      name = file.replace(/\.gz$/i, "");
    }
    const extension = path.extname(name).toLowerCase();
    const text = data.toString("utf8");
    if (extension === ".csv") {
      if (!looksLikeEpssCsv(text)) {
        this.warn(`${file}: CSV that is not an EPSS score file (only ${FEEDS} are read); skipped`);
        return;
      }
      const source = this.source(EPSS_SOURCE, file, mtime, override);
      for (const score of parseEpssCsv(text, file, this.warn)) this.writer.addEpss(score, source);
      return;
    }
    let format: "json" | "yaml";
    if (extension === ".json") format = "json";
    else if (extension === ".yaml" || extension === ".yml") format = "yaml";
    // Renamed downloads ("debian.json.sample", no extension) are still recognised by their content.
    else if (/^\s*[[{]/.test(text.slice(0, 64))) format = "json";
    else {
      this.warn(`${file}: not a recognised vulnerability feed (${FEEDS}); skipped`);
      return;
    }
    let value: unknown;
    try {
      value = parseStructuredText(text, format);
    } catch (error) {
      this.warn(`${file}: not valid ${format.toUpperCase()} (${(error as Error).message.split("\n")[0]}); skipped`);
      return;
    }
    this.addDocument(value, file, mtime, override);
  }

  /** An archive's members share one origin; it is listed once, not once per document. */
  private noteRedHatSource(source: SourceInfo): void {
    if (this.redhatSources.at(-1)?.origin !== source.origin) this.redhatSources.push(source);
  }

  private addDocument(value: unknown, file: string, mtime: Date, override: SourceOverride): void {
    // Checked before OSV: a CSAF document is never an OSV record, and neither shape overlaps the others.
    if (looksLikeCsaf(value) && isCsafVex(value)) {
      const vex = new RedHatAccumulator(REDHAT_VEX_SOURCE);
      vex.addCsaf(value as Record<string, unknown>, file, mtime.toISOString(), this.warn);
      const source = this.source(REDHAT_SOURCE, file, mtime, override);
      for (const record of vex.records()) this.writer.addRecord(record, source);
    } else if (looksLikeCsaf(value)) {
      this.redhat.addCsaf(value as Record<string, unknown>, file, mtime.toISOString(), this.warn);
      this.noteRedHatSource(this.source(REDHAT_SOURCE, file, mtime, override));
    } else if (looksLikeRedHatCve(value)) {
      this.redhat.addCveRecord(value as Record<string, unknown>, file, mtime.toISOString(), this.warn);
      this.noteRedHatSource(this.source(REDHAT_SOURCE, file, mtime, override));
    } else if (looksLikeOsv(value)) {
      const record = acceptOsvRecord(value, file, this.warn);
      if (record) this.addOsv(record, file, mtime, override);
    } else if (Array.isArray(value) && value.length > 0 && value.every(looksLikeOsv)) {
      value.forEach((item, index) => {
        const record = acceptOsvRecord(item, `${file}[${index}]`, this.warn);
        if (record) this.addOsv(record, file, mtime, override);
      });
    } else if (looksLikeNvdPage(value)) {
      const source = this.source(NVD_SOURCE, file, mtime, override);
      for (const metrics of parseNvdPage(value, file, this.warn)) this.writer.addCveMetrics(metrics, source);
    } else if (looksLikeNvdCve(value)) {
      const metrics = parseNvdCve(value, file, this.warn);
      if (metrics) this.writer.addCveMetrics(metrics, this.source(NVD_SOURCE, file, mtime, override));
    } else if (looksLikeCve5Record(value)) {
      const metrics = parseCve5Record(value, file, this.warn);
      if (metrics) this.writer.addCveMetrics(metrics, this.source(CVE5_SOURCE, file, mtime, override));
    } else if (looksLikeKevCatalog(value)) {
      const { released, entries } = parseKevCatalog(value, file, this.warn);
      const source = this.source(KEV_SOURCE, file, mtime, override);
      for (const entry of entries) this.writer.addKev(entry, released, source);
    } else if (looksLikeAlpineSecdb(value)) {
      this.alpine.add(value, file, mtime.toISOString(), this.warn);
      this.alpineSources.push(this.source(ALPINE_SECDB_SOURCE, file, mtime, override));
    } else if (looksLikeDebianDistributions(value)) {
      this.debian.addDistributions(value as Record<string, { "major-version"?: unknown }>);
    } else if (looksLikeDebianTracker(value)) {
      this.debian.addTracker(value as Record<string, Record<string, unknown>>, file, mtime.toISOString(), this.warn);
      this.debianSources.push(this.source(DEBIAN_TRACKER_SOURCE, file, mtime, override));
    } else {
      this.warn(`${file}: not a recognised vulnerability feed (${FEEDS}); skipped`);
    }
  }

  /** Emits the records that need every input seen first (Debian codenames, Alpine and Red Hat per-CVE merging). */
  finish(): void {
    const emit = (records: Iterable<OsvRecord>, sources: SourceInfo[], name: string) => {
      if (sources.length === 0) return;
      const source: SourceInfo = {
        ...sources[0]!,
        name,
        origin: [...new Set(sources.map((s) => s.origin))].sort().join(", "),
        fetchedAt: sources
          .map((s) => s.fetchedAt)
          .sort()
          .at(-1)!,
      };
      const validators = Object.assign({}, ...sources.map((s) => s.validators ?? {})) as SourceInfo["validators"];
      if (validators && Object.keys(validators).length > 0) source.validators = validators;
      for (const record of records) this.writer.addRecord(record, source);
    };
    emit(this.debian.records(), this.debianSources, DEBIAN_TRACKER_SOURCE);
    emit(this.alpine.records(), this.alpineSources, ALPINE_SECDB_SOURCE);
    emit(this.redhat.records(), this.redhatSources, REDHAT_SOURCE);
  }
}
