/**
 * The dashboard's read model: what the overview, image, CVE and registries pages show, computed
 * from the inventory store (results by manifest digest, sightings, runs and their changes) and
 * served as JSON under /api/v1 (docs/dashboard.md "Read-model endpoints"). Nothing here writes.
 *
 * `readModelOpenApiPaths` describes these endpoints (OpenAPI 3.1 path items with JSON Schema
 * 2020-12 bodies); the service merges it into /openapi.json.
 */
import type { Finding, MatchDetails, PolicyVerdict } from "../result.js";
import {
  currentReferences,
  findingsTally,
  trendOverRuns,
  worstSeverity,
  type SeverityTally,
  type TrendPoint,
} from "../store/queries.js";
import type { InventoryStore, RunRecord, Sighting, StoredImage } from "../store/types.js";
import { SEVERITY_ORDER, type Severity } from "../vulndb/osv.js";

export type { SeverityTally, TrendPoint } from "../store/queries.js";

/** An image's worst severity, "none" when matched with no findings, "unchecked" when never matched. */
export type WorstSeverity = Severity | "none" | "unchecked";

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;
const SEVERITIES_DESC: Severity[] = [...SEVERITY_ORDER].reverse();
const WORST_VALUES: WorstSeverity[] = [...SEVERITIES_DESC, "none", "unchecked"];
/** Manifest digests as the OCI image spec defines them (algorithm ":" encoded). */
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** Vulnerability ids and aliases: CVE-2024-1, GHSA-xxxx-xxxx-xxxx, PYSEC-2021-1, DSA-5000-1 ... */
const VULN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{1,127}$/;

/** A request the read model refuses (400) or cannot answer (404); the handler turns it into problem details. */
export class ReadModelError extends Error {
  constructor(
    readonly status: 400 | 404,
    readonly title: string,
    message: string,
  ) {
    super(message);
    this.name = "ReadModelError";
  }
}

export interface Overview {
  generatedAt: string;
  images: number;
  repositories: number;
  registries: number;
  /** Images by their worst severity; images never matched are counted in `unchecked` instead. */
  bySeverity: SeverityTally & { none: number };
  unchecked: number;
  /** Findings first recorded by runs started in the last 24 hours, and images first scanned then. */
  newSinceYesterday: { findings: number; images: number };
  lastRun?: RunRecord;
  /** Findings by severity after each finished run, oldest first. */
  trend: TrendPoint[];
}

export interface ImageListItem {
  digest: string;
  /** registry/repository the image is tagged in now. */
  repositories: string[];
  /** registry/repository:tag references pointing at it now. */
  tags: string[];
  reference: string;
  platform: string;
  worstSeverity: WorstSeverity;
  counts: SeverityTally;
  findings: number;
  verdict?: PolicyVerdict["outcome"];
  lastMatched: string;
}

export interface ImageList {
  total: number;
  limit: number;
  offset: number;
  items: ImageListItem[];
}

export interface ImageQuery {
  severity?: string;
  repository?: string;
  q?: string;
  limit?: string;
  offset?: string;
}

export interface FindingView {
  findingId: string;
  id: string;
  aliases: string[];
  packageName: string;
  installedVersion: string;
  fixedVersion?: string;
  status: string;
  severity: Severity;
  severitySource: string;
  kev: boolean;
  epss?: { score: number; percentile: number };
  layerIndex: number;
  summary?: string;
  match: MatchDetails;
  /** One sentence saying why the finding matched (docs/dashboard.md "Why it matched"). */
  why: string;
  /** Set when the policy suppressed the finding (exception, VEX, ignore file). */
  suppressed?: { source: string; reason: string };
}

export interface ImageSummary {
  digest: string;
  reference: string;
  platform: string;
  os: { family: string; version?: string; prettyName?: string };
  created?: string;
  firstScanned: string;
  lastMatched: string;
  dbBuiltAt?: string;
  worstSeverity: WorstSeverity;
  counts: SeverityTally;
  layers: {
    index: number;
    digest: string;
    size: number;
    createdBy?: string;
    packages: number;
    findings: number;
  }[];
  packages: {
    id: string;
    name: string;
    version: string;
    type: string;
    ecosystem: string;
    purl: string;
    layerIndex: number;
    source?: { name: string; version: string };
  }[];
  findings: FindingView[];
  verdict?: PolicyVerdict;
  sightings: Omit<Sighting, "digest">[];
  warnings: string[];
}

export interface CveImage {
  digest: string;
  repositories: string[];
  tags: string[];
  packages: { name: string; installedVersion: string; fixedVersion?: string; layerIndex: number }[];
}

export interface CveView {
  id: string;
  /** Absent when no stored image has the vulnerability. */
  severity?: Severity;
  aliases: string[];
  summary?: string;
  fixedVersions: string[];
  images: CveImage[];
  counts: { images: number; repositories: number; tags: number; registries: number };
}

export interface RegistrySummaryItem {
  registry: string;
  repositories: number;
  images: number;
  worstSeverity: WorstSeverity;
  lastSeen: string;
  repositoryDetails: {
    repository: string;
    tags: number;
    images: number;
    worstSeverity: WorstSeverity;
    lastSeen: string;
  }[];
}

export interface RegistriesSummary {
  items: RegistrySummaryItem[];
}

function imageWorst(image: StoredImage): WorstSeverity {
  if (!image.result.findings) return "unchecked";
  return worstSeverity(image.result.findings.map((finding) => finding.severity)) ?? "none";
}

const worstRank = (value: WorstSeverity): number => {
  const index = WORST_VALUES.indexOf(value);
  return index < 0 ? WORST_VALUES.length : index;
};

function worstOfWorst(values: WorstSeverity[]): WorstSeverity {
  let best: WorstSeverity = "unchecked";
  for (const value of values) if (worstRank(value) < worstRank(best)) best = value;
  return best;
}

function platformOf(image: StoredImage): string {
  const platform = image.result.artifact.platform;
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/");
}

function repositoriesOf(sightings: Sighting[]): string[] {
  return [...new Set(sightings.map((row) => `${row.registry}/${row.repository}`))].sort();
}

function tagsOf(sightings: Sighting[]): string[] {
  return [...new Set(sightings.map((row) => `${row.registry}/${row.repository}:${row.tag}`))].sort();
}

/** "/api/v1/overview" */
export async function readOverview(store: InventoryStore, now: Date): Promise<Overview> {
  const [images, sightings, runs] = await Promise.all([store.listImages(), store.sightings(), store.runs()]);
  const stored = new Set(images.map((image) => image.digest));
  const current = sightings.filter((row) => row.current && stored.has(row.digest));
  const bySeverity = { ...findingsTally([]), none: 0 };
  let unchecked = 0;
  for (const image of images) {
    const worst = imageWorst(image);
    if (worst === "unchecked") unchecked += 1;
    else bySeverity[worst] += 1;
  }
  const since = now.getTime() - DAY_MS;
  const recentRuns = runs.filter((run) => Date.parse(run.startedAt) >= since);
  const newFindings = new Set<string>();
  for (const run of recentRuns) {
    for (const change of await store.changes(run.id)) {
      if (change.kind === "new") newFindings.add(`${change.digest}/${change.findingId}`);
    }
  }
  const finished = runs.filter((run) => run.finishedAt);
  return {
    generatedAt: now.toISOString(),
    images: images.length,
    repositories: repositoriesOf(current).length,
    registries: new Set(current.map((row) => row.registry)).size,
    bySeverity,
    unchecked,
    newSinceYesterday: {
      findings: newFindings.size,
      images: images.filter((image) => Date.parse(image.firstScanned) >= since).length,
    },
    ...(finished[0] ? { lastRun: finished[0] } : {}),
    trend: await trendOverRuns(store, runs),
  };
}

function intParam(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  if (!/^\d{1,9}$/.test(value) || Number(value) > max) {
    throw new ReadModelError(400, "Invalid query parameter", `${name} must be a whole number from 0 to ${max}`);
  }
  return Number(value);
}

/** "/api/v1/images": filtered by worst severity, repository and free text, worst first, paged. */
export async function readImages(store: InventoryStore, query: ImageQuery): Promise<ImageList> {
  const severity = query.severity || undefined;
  if (severity && !WORST_VALUES.includes(severity as WorstSeverity)) {
    throw new ReadModelError(400, "Invalid query parameter", `severity must be one of ${WORST_VALUES.join(", ")}`);
  }
  const limit = intParam("limit", query.limit, DEFAULT_LIMIT, MAX_LIMIT);
  const offset = intParam("offset", query.offset, 0, 1_000_000_000);
  const [images, sightings] = await Promise.all([store.listImages(), store.sightings()]);
  const byDigest = currentReferences(sightings);
  const text = query.q?.trim().toLowerCase();
  const repository = query.repository?.trim();
  let items: ImageListItem[] = images.map((image) => {
    const seen = byDigest.get(image.digest) ?? [];
    const findings = image.result.findings ?? [];
    return {
      digest: image.digest,
      repositories: repositoriesOf(seen),
      tags: tagsOf(seen),
      reference: image.result.artifact.reference,
      platform: platformOf(image),
      worstSeverity: imageWorst(image),
      counts: findingsTally(findings),
      findings: findings.length,
      ...(image.result.policy ? { verdict: image.result.policy.outcome } : {}),
      lastMatched: image.lastMatched,
    };
  });
  if (severity) items = items.filter((item) => item.worstSeverity === severity);
  if (repository) {
    items = items.filter((item) =>
      item.repositories.some((name) => name === repository || name.slice(name.indexOf("/") + 1) === repository),
    );
  }
  if (text) {
    items = items.filter((item) =>
      [item.digest, item.reference, ...item.tags].some((value) => value.toLowerCase().includes(text)),
    );
  }
  items.sort(
    (a, b) =>
      worstRank(a.worstSeverity) - worstRank(b.worstSeverity) ||
      b.findings - a.findings ||
      a.digest.localeCompare(b.digest),
  );
  return { total: items.length, limit, offset, items: items.slice(offset, offset + limit) };
}

/** Why a finding matched, in one sentence built from its match details. */
export function whyMatched(finding: Pick<Finding, "packageName" | "installedVersion" | "match">): string {
  const { match } = finding;
  const subject =
    match.type === "source"
      ? `${finding.packageName} ${finding.installedVersion} is built from source package ${match.name} ${match.version}, which`
      : `${match.name} ${match.version}`;
  return `${subject} is in the affected range ${match.constraint} of ${match.recordId} (${match.ecosystem}, from ${match.dataSource})`;
}

function checkDigest(digest: string): void {
  if (!DIGEST.test(digest)) {
    throw new ReadModelError(400, "Invalid digest", "the path must name a manifest digest such as sha256:<64 hex>");
  }
}

/** "/api/v1/images/{digest}/summary" */
export async function readImageSummary(store: InventoryStore, digest: string): Promise<ImageSummary> {
  checkDigest(digest);
  const image = await store.getImage(digest);
  if (!image) throw new ReadModelError(404, "Image not found", `no stored image has digest ${digest}`);
  const sightings = (await store.sightings()).filter((row) => row.digest === digest);
  const { result } = image;
  const findings = result.findings ?? [];
  const suppressed = new Map((result.policy?.suppressed ?? []).map((entry) => [entry.findingId, entry]));
  const os = result.artifact.os;
  return {
    digest,
    reference: result.artifact.reference,
    platform: platformOf(image),
    os: {
      family: os.family,
      ...(os.version ? { version: os.version } : {}),
      ...(os.prettyName ? { prettyName: os.prettyName } : {}),
    },
    ...(result.artifact.created ? { created: result.artifact.created } : {}),
    firstScanned: image.firstScanned,
    lastMatched: image.lastMatched,
    ...(image.dbBuiltAt ? { dbBuiltAt: image.dbBuiltAt } : {}),
    worstSeverity: imageWorst(image),
    counts: findingsTally(findings),
    layers: result.artifact.layers.map((layer) => ({
      index: layer.index,
      digest: layer.digest,
      size: layer.size,
      ...(layer.createdBy ? { createdBy: layer.createdBy } : {}),
      packages: result.packages.filter((pkg) => pkg.layerIndex === layer.index).length,
      findings: findings.filter((finding) => finding.layerIndex === layer.index).length,
    })),
    packages: result.packages.map((pkg) => ({
      id: pkg.id,
      name: pkg.name,
      version: pkg.version,
      type: pkg.type,
      ecosystem: pkg.ecosystem,
      purl: pkg.purl,
      layerIndex: pkg.layerIndex,
      ...(pkg.source ? { source: pkg.source } : {}),
    })),
    findings: findings
      .map((finding): FindingView => {
        const suppression = suppressed.get(finding.findingId);
        return {
          findingId: finding.findingId,
          id: finding.id,
          aliases: finding.aliases,
          packageName: finding.packageName,
          installedVersion: finding.installedVersion,
          ...(finding.fixedVersion ? { fixedVersion: finding.fixedVersion } : {}),
          status: finding.status,
          severity: finding.severity,
          severitySource: finding.severitySource,
          kev: finding.kev,
          ...(finding.epss ? { epss: finding.epss } : {}),
          layerIndex: finding.layerIndex,
          ...(finding.summary ? { summary: finding.summary } : {}),
          match: finding.match,
          why: whyMatched(finding),
          ...(suppression ? { suppressed: { source: suppression.source, reason: suppression.reason } } : {}),
        };
      })
      .sort(
        (a, b) =>
          SEVERITY_ORDER.indexOf(b.severity) - SEVERITY_ORDER.indexOf(a.severity) ||
          a.id.localeCompare(b.id) ||
          a.packageName.localeCompare(b.packageName),
      ),
    ...(result.policy ? { verdict: result.policy } : {}),
    sightings: sightings.map(({ digest: _digest, ...row }) => row),
    warnings: result.warnings,
  };
}

function hasId(finding: Finding, wanted: string): boolean {
  return finding.id.toUpperCase() === wanted || finding.aliases.some((alias) => alias.toUpperCase() === wanted);
}

/** "/api/v1/cves/{id}": every stored image with the vulnerability (by id or alias), and how widespread. */
export async function readCve(store: InventoryStore, id: string): Promise<CveView> {
  if (!VULN_ID.test(id)) {
    throw new ReadModelError(
      400,
      "Invalid vulnerability id",
      "the path must name a vulnerability id such as CVE-2024-3094",
    );
  }
  const wanted = id.toUpperCase();
  const [images, sightings] = await Promise.all([store.listImages(), store.sightings()]);
  const byDigest = currentReferences(sightings);
  const affected: CveImage[] = [];
  const matched: Finding[] = [];
  for (const image of images) {
    const hits = (image.result.findings ?? []).filter((finding) => hasId(finding, wanted));
    if (hits.length === 0) continue;
    matched.push(...hits);
    const seen = byDigest.get(image.digest) ?? [];
    affected.push({
      digest: image.digest,
      repositories: repositoriesOf(seen),
      tags: tagsOf(seen),
      packages: hits.map((finding) => ({
        name: finding.packageName,
        installedVersion: finding.installedVersion,
        ...(finding.fixedVersion ? { fixedVersion: finding.fixedVersion } : {}),
        layerIndex: finding.layerIndex,
      })),
    });
  }
  affected.sort((a, b) => a.digest.localeCompare(b.digest));
  const seen = affected.flatMap((image) => byDigest.get(image.digest) ?? []);
  const severity = worstSeverity(matched.map((finding) => finding.severity));
  const summary = matched.find((finding) => finding.summary)?.summary;
  const canonical = matched[0]?.id ?? id;
  return {
    id: canonical,
    ...(severity ? { severity } : {}),
    aliases: [...new Set(matched.flatMap((finding) => [finding.id, ...finding.aliases]))]
      .filter((alias) => alias !== canonical)
      .sort(),
    ...(summary ? { summary } : {}),
    fixedVersions: [
      ...new Set(matched.flatMap((finding) => (finding.fixedVersion ? [finding.fixedVersion] : []))),
    ].sort(),
    images: affected,
    counts: {
      images: affected.length,
      repositories: repositoriesOf(seen).length,
      tags: tagsOf(seen).length,
      registries: new Set(seen.map((row) => row.registry)).size,
    },
  };
}

/** "/api/v1/registries/summary": per registry (and repository) what is tagged there now and how bad it is. */
export async function readRegistries(store: InventoryStore): Promise<RegistriesSummary> {
  const [images, sightings] = await Promise.all([store.listImages(), store.sightings()]);
  const worst = new Map(images.map((image) => [image.digest, imageWorst(image)]));
  const registries = new Map<string, Map<string, Sighting[]>>();
  for (const row of sightings) {
    if (!row.current || !worst.has(row.digest)) continue;
    const repositories = registries.get(row.registry) ?? new Map<string, Sighting[]>();
    repositories.set(row.repository, [...(repositories.get(row.repository) ?? []), row]);
    registries.set(row.registry, repositories);
  }
  const latest = (rows: Sighting[]): string =>
    rows
      .map((row) => row.lastSeen)
      .sort()
      .at(-1) ?? "";
  const items = [...registries.entries()]
    .map(([registry, repositories]): RegistrySummaryItem => {
      const rows = [...repositories.values()].flat();
      const digests = [...new Set(rows.map((row) => row.digest))];
      return {
        registry,
        repositories: repositories.size,
        images: digests.length,
        worstSeverity: worstOfWorst(digests.map((digest) => worst.get(digest) ?? "unchecked")),
        lastSeen: latest(rows),
        repositoryDetails: [...repositories.entries()]
          .map(([repository, repoRows]) => {
            const repoDigests = [...new Set(repoRows.map((row) => row.digest))];
            return {
              repository,
              tags: new Set(repoRows.map((row) => row.tag)).size,
              images: repoDigests.length,
              worstSeverity: worstOfWorst(repoDigests.map((digest) => worst.get(digest) ?? "unchecked")),
              lastSeen: latest(repoRows),
            };
          })
          .sort((a, b) => a.repository.localeCompare(b.repository)),
      };
    })
    .sort((a, b) => a.registry.localeCompare(b.registry));
  return { items };
}

// ---------------------------------------------------------------------------------------------
// OpenAPI 3.1 path items (JSON Schema 2020-12), merged by the service into /openapi.json.

type Schema = Record<string, unknown>;

const str: Schema = { type: "string" };
const int: Schema = { type: "integer", minimum: 0 };
const time: Schema = { type: "string", format: "date-time" };
const severityEnum: Schema = { type: "string", enum: [...SEVERITIES_DESC] };
const worstEnum: Schema = { type: "string", enum: WORST_VALUES };
const strings: Schema = { type: "array", items: str };

function object(properties: Record<string, Schema>, optional: string[] = []): Schema {
  return {
    type: "object",
    properties,
    required: Object.keys(properties).filter((key) => !optional.includes(key)),
  };
}

const tallyProperties = Object.fromEntries(SEVERITIES_DESC.map((severity) => [severity, int]));
const tally = object(tallyProperties);
const runRecord = object(
  {
    id: str,
    kind: { type: "string", enum: ["scan", "rescan"] },
    startedAt: time,
    finishedAt: time,
    target: str,
    dbBuiltAt: str,
    summary: object({ images: int, failed: int, newFindings: int, fixedFindings: int, newlyFixable: int }),
  },
  ["finishedAt", "dbBuiltAt", "summary"],
);
const matchDetails = object(
  {
    type: { type: "string", enum: ["direct", "source"] },
    ecosystem: str,
    name: str,
    version: str,
    constraint: str,
    recordId: str,
    dataSource: str,
  },
  [],
);
const verdict = object(
  {
    outcome: { type: "string", enum: ["pass", "warn", "fail"] },
    violations: { type: "array", items: object({ rule: str, message: str, findingIds: strings }) },
    suppressed: {
      type: "array",
      items: object({ findingId: str, source: str, reason: str, expires: str }, ["expires"]),
    },
    warnings: strings,
  },
  [],
);

const problem: Schema = {
  description: "RFC 9457 problem details",
  content: {
    "application/problem+json": {
      schema: object({ type: str, title: str, status: { type: "integer" }, detail: str }, ["type"]),
    },
  },
};

function ok(description: string, schema: Schema): Schema {
  return { description, content: { "application/json": { schema } } };
}

function get(operationId: string, summary: string, response: Schema, extra: Schema = {}, errors = ["401"]): Schema {
  const responses: Record<string, Schema> = { "200": response };
  for (const code of errors) responses[code] = problem;
  return {
    get: { operationId, summary, tags: ["dashboard"], security: [{ bearerAuth: ["read"] }], ...extra, responses },
  };
}

const queryParam = (name: string, description: string, schema: Schema): Schema => ({
  name,
  in: "query",
  required: false,
  description,
  schema,
});

export const readModelOpenApiPaths: Record<string, Schema> = {
  "/api/v1/overview": get(
    "getOverview",
    "Images by worst severity, what is new since yesterday, the last run and the trend over runs",
    ok(
      "The overview",
      object(
        {
          generatedAt: time,
          images: int,
          repositories: int,
          registries: int,
          bySeverity: object({ ...tallyProperties, none: int }),
          unchecked: int,
          newSinceYesterday: object({ findings: int, images: int }),
          lastRun: runRecord,
          trend: {
            type: "array",
            items: object({
              runId: str,
              kind: { type: "string", enum: ["scan", "rescan"] },
              at: time,
              ...tallyProperties,
            }),
          },
        },
        ["lastRun"],
      ),
    ),
  ),
  "/api/v1/images": get(
    "listImages",
    "Stored images, worst first, filtered by worst severity, repository and free text",
    ok(
      "A page of images",
      object({
        total: int,
        limit: int,
        offset: int,
        items: {
          type: "array",
          items: object(
            {
              digest: str,
              repositories: strings,
              tags: strings,
              reference: str,
              platform: str,
              worstSeverity: worstEnum,
              counts: tally,
              findings: int,
              verdict: { type: "string", enum: ["pass", "warn", "fail"] },
              lastMatched: time,
            },
            ["verdict"],
          ),
        },
      }),
    ),
    {
      parameters: [
        queryParam("severity", "Only images whose worst severity is this", worstEnum),
        queryParam("repository", "registry/repository or repository", str),
        queryParam("q", "Substring of the digest, reference or a tag", str),
        queryParam("limit", `Page size (default ${DEFAULT_LIMIT})`, {
          type: "integer",
          minimum: 0,
          maximum: MAX_LIMIT,
        }),
        queryParam("offset", "Items to skip", int),
      ],
    },
    ["400", "401"],
  ),
  "/api/v1/images/{digest}/summary": get(
    "getImageSummary",
    "One image: layers, packages, findings with why each matched, verdict and where it was seen",
    ok(
      "The image",
      object(
        {
          digest: str,
          reference: str,
          platform: str,
          os: object({ family: str, version: str, prettyName: str }, ["version", "prettyName"]),
          created: str,
          firstScanned: time,
          lastMatched: time,
          dbBuiltAt: str,
          worstSeverity: worstEnum,
          counts: tally,
          layers: {
            type: "array",
            items: object({ index: int, digest: str, size: int, createdBy: str, packages: int, findings: int }, [
              "createdBy",
            ]),
          },
          packages: {
            type: "array",
            items: object(
              {
                id: str,
                name: str,
                version: str,
                type: str,
                ecosystem: str,
                purl: str,
                layerIndex: int,
                source: object({ name: str, version: str }),
              },
              ["source"],
            ),
          },
          findings: {
            type: "array",
            items: object(
              {
                findingId: str,
                id: str,
                aliases: strings,
                packageName: str,
                installedVersion: str,
                fixedVersion: str,
                status: str,
                severity: severityEnum,
                severitySource: str,
                kev: { type: "boolean" },
                epss: object({ score: { type: "number" }, percentile: { type: "number" } }),
                layerIndex: int,
                summary: str,
                match: matchDetails,
                why: str,
                suppressed: object({ source: str, reason: str }),
              },
              ["fixedVersion", "epss", "summary", "suppressed"],
            ),
          },
          verdict,
          sightings: {
            type: "array",
            items: object(
              {
                registry: str,
                repository: str,
                tag: str,
                indexDigest: str,
                firstSeen: time,
                lastSeen: time,
                current: { type: "boolean" },
              },
              ["indexDigest"],
            ),
          },
          warnings: strings,
        },
        ["created", "dbBuiltAt", "verdict"],
      ),
    ),
    { parameters: [{ name: "digest", in: "path", required: true, schema: str, description: "sha256:<64 hex>" }] },
    ["400", "401", "404"],
  ),
  "/api/v1/cves/{id}": get(
    "getCveExposure",
    "Which stored images have a vulnerability (by id or alias), and how widespread it is",
    ok(
      "The exposure (zero counts when no stored image has it)",
      object(
        {
          id: str,
          severity: severityEnum,
          aliases: strings,
          summary: str,
          fixedVersions: strings,
          images: {
            type: "array",
            items: object({
              digest: str,
              repositories: strings,
              tags: strings,
              packages: {
                type: "array",
                items: object({ name: str, installedVersion: str, fixedVersion: str, layerIndex: int }, [
                  "fixedVersion",
                ]),
              },
            }),
          },
          counts: object({ images: int, repositories: int, tags: int, registries: int }),
        },
        ["severity", "summary"],
      ),
    ),
    {
      parameters: [{ name: "id", in: "path", required: true, schema: str, description: "CVE-…, GHSA-… or any alias" }],
    },
    ["400", "401"],
  ),
  "/api/v1/registries/summary": get(
    "getRegistriesSummary",
    "Per registry and repository: images tagged there now, their worst severity and when last seen",
    ok(
      "The registries",
      object({
        items: {
          type: "array",
          items: object({
            registry: str,
            repositories: int,
            images: int,
            worstSeverity: worstEnum,
            lastSeen: str,
            repositoryDetails: {
              type: "array",
              items: object({ repository: str, tags: int, images: int, worstSeverity: worstEnum, lastSeen: str }),
            },
          }),
        },
      }),
    ),
  ),
};
