import { readFile } from "node:fs/promises";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { StowawayError } from "../errors.js";
import {
  CLUSTER_FLAGS,
  clusterImageReport,
  imageSpread,
  recordedContainers,
  type ClusterFlag,
} from "../inventory/cluster.js";
import { parseTarget } from "../image/reference.js";
import { cronProblem, nextOccurrence } from "../jobs/schedules.js";
import { errorLine, type JobKind, type JobPayloads, type JobQueue } from "../jobs/types.js";
import { evaluatePolicy } from "../policy/evaluate.js";
import { formatIssue, readPolicyDocument } from "../policy/parse.js";
import { renderReport, isReportFormat } from "../report/formats.js";
import { neutralizeLog } from "../report/neutralize.js";
import { parseSbom } from "../sbom/index.js";
import type { RegistryRecord, ScheduleRecord, ServiceStore, TokenScope } from "../store/service-state.js";
import { createDashboardHandler } from "./dashboard/index.js";
import { Metrics } from "./metrics.js";
import { openApiDocument, REPORT_MEDIA_TYPES } from "./openapi.js";
import { HttpProblem, sendProblem } from "./problem.js";
import { RateLimiter, TokenVerifier } from "./tokens.js";
import { jsonBody, mediaType, parseJson, readBody } from "./validate.js";

export interface ServiceOptions {
  store: ServiceStore;
  queue: JobQueue;
  /** Largest request body accepted (default 16 MiB: an SBOM upload). */
  maxBodyBytes?: number;
  /** Requests per token: refill per second and burst (default 50/s, burst 200). */
  rateLimit?: { perSecond: number; burst: number };
  /**
   * Accept scans of local paths (`oci-archive:...`, `docker-archive:...`) on the workers' disks.
   * Off by default: an API client must not make the service read arbitrary files.
   */
  allowLocalImages?: boolean;
  /** Access and error lines, neutralised; never a token. */
  log?: (line: string) => void;
  now?: () => Date;
  /** The dashboard handler (default: the dashboard module over `store`). */
  dashboard?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** Paths merged into /openapi.json (default: the dashboard's read-model paths when present). */
  extraOpenApiPaths?: Record<string, unknown>;
}

interface Context {
  req: IncomingMessage;
  url: URL;
  params: Record<string, string>;
  scope?: TokenScope;
}

interface Reply {
  status: number;
  json?: unknown;
  text?: string;
  type?: string;
  headers?: Record<string, string>;
}

interface Route {
  method: string;
  template: string;
  scope: "public" | "read" | "write";
  pattern: RegExp;
  params: string[];
  handle(ctx: Context): Promise<Reply>;
}

const ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** A vulnerability id or alias (CVE-2024-1234, GHSA-xxxx-xxxx-xxxx, DSA-5555-1, ...). */
const VULN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** A kubeconfig cluster name as `cluster inventory` recorded it. */
const CLUSTER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,252}$/;
const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

function route(method: string, template: string, scope: Route["scope"], handle: Route["handle"]): Route {
  const params: string[] = [];
  const source = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{(\w+)\}/g, (_, name: string) => {
    params.push(name);
    return "([^/]+)";
  });
  return { method, template, scope, pattern: new RegExp(`^${source}$`), params, handle };
}

/** The dashboard's read-model OpenAPI paths, when its module is built beside this one. */
export async function loadReadModelPaths(): Promise<Record<string, unknown>> {
  const specifier = "./read-model.js";
  try {
    const module = (await import(specifier)) as { readModelOpenApiPaths?: Record<string, unknown> };
    return module.readModelOpenApiPaths ?? {};
  } catch {
    return {};
  }
}

/** Picks the report format from `?format=` or the Accept header (json when anything goes). */
function negotiate(url: URL, accept: string | undefined): string {
  const asked = url.searchParams.get("format");
  if (asked !== null) {
    if (!isReportFormat(asked)) {
      throw new HttpProblem(400, `format "${asked}" is not one of ${Object.keys(REPORT_MEDIA_TYPES).join(", ")}`);
    }
    return asked;
  }
  if (!accept) return "json";
  const wanted = accept
    .split(",")
    .map((part) => {
      const [type, ...params] = part.trim().toLowerCase().split(";");
      const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
      return { type: type!.trim(), q: q ? Number(q.slice(2)) : 1 };
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { type } of wanted) {
    if (type === "*/*" || type === "application/*") return "json";
    if (type === "text/*") return "table";
    const format = Object.entries(REPORT_MEDIA_TYPES).find(([, media]) => media.split(";")[0] === type)?.[0];
    if (format) return format;
    if (type === "application/junit+xml" || type === "text/xml") return "junit";
  }
  throw new HttpProblem(
    406,
    `cannot produce any of "${accept}"; ask for one of ${Object.values(REPORT_MEDIA_TYPES)
      .map((type) => type.split(";")[0])
      .join(", ")} or use ?format=`,
  );
}

function slug(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 63);
  return cleaned || "registry";
}

/**
 * The service's request handler: public health, metrics and OpenAPI; everything under /api/
 * authenticated (Bearer token, read or write scope) and rate-limited per token before dispatch;
 * the dashboard's pages and read-model endpoints through its handler; RFC 9457 problems for errors.
 */
export type ServiceHandler = ((req: IncomingMessage, res: ServerResponse) => Promise<void>) & {
  /** The routes it serves (method, path template, scope): checked against the OpenAPI document. */
  routes: { method: string; template: string; scope: Route["scope"] }[];
};

export function createServiceHandler(options: ServiceOptions): ServiceHandler {
  const { store, queue } = options;
  const now = options.now ?? (() => new Date());
  const limit = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const verifier = new TokenVerifier(store);
  const limiter = new RateLimiter(options.rateLimit?.perSecond ?? 50, options.rateLimit?.burst ?? 200);
  const metrics = new Metrics();
  const dashboard = options.dashboard ?? createDashboardHandler({ store, now });
  const log = (line: string): void => options.log?.(neutralizeLog(line));
  const renderings = new Map<string, string>();
  let openapiText: Promise<string> | undefined;
  const openapi = (): Promise<string> =>
    (openapiText ??= (async () =>
      JSON.stringify(openApiDocument(options.extraOpenApiPaths ?? (await loadReadModelPaths())), null, 2))());

  const accepted = async <K extends JobKind>(kind: K, payload: JobPayloads[K]): Promise<Reply> => {
    const id = await queue.submit(kind, payload);
    const location = `/api/v1/jobs/${id}`;
    return { status: 202, json: { id, state: "queued", location }, headers: { location } };
  };

  const storedImage = async (digest: string) => {
    if (!DIGEST_PATTERN.test(digest)) throw new HttpProblem(400, `"${digest}" is not a sha256 manifest digest`);
    const image = await store.getImage(digest);
    if (!image) throw new HttpProblem(404, `no result is stored for ${digest}; submit a scan first`);
    return image;
  };

  const registryFrom = async (input: RegistryInputBody, id: string): Promise<RegistryRecord> => {
    const at = now().toISOString();
    const existing = await store.getRegistry(id);
    return {
      id,
      host: input.host,
      ...(input.prefix ? { prefix: input.prefix.replace(/^\/+|\/+$/g, "") } : {}),
      ...(input.tags ? { tags: input.tags } : {}),
      ...(input.maxImages ? { maxImages: input.maxImages } : {}),
      insecure: input.insecure ?? false,
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
    };
  };

  const scheduleFrom = async (input: ScheduleInputBody, id: string): Promise<ScheduleRecord> => {
    const problem = cronProblem(input.cron);
    if (problem) {
      throw new HttpProblem(422, `cron "${input.cron}" ${problem}`, {
        errors: [{ pointer: "/cron", detail: problem }],
      });
    }
    if (input.kind === "registry-scan") {
      if (!input.registryId) {
        throw new HttpProblem(422, "a registry-scan schedule needs registryId", {
          errors: [{ pointer: "/registryId", detail: "required for registry-scan" }],
        });
      }
      if (!(await store.getRegistry(input.registryId))) {
        throw new HttpProblem(
          422,
          `registry "${input.registryId}" does not exist; create it under /api/v1/registries`,
          {
            errors: [{ pointer: "/registryId", detail: "no such registry" }],
          },
        );
      }
    } else if (input.registryId) {
      throw new HttpProblem(422, "a rescan schedule covers every stored image; drop registryId", {
        errors: [{ pointer: "/registryId", detail: "only for registry-scan" }],
      });
    }
    const at = now().toISOString();
    const existing = await store.getSchedule(id);
    return {
      id,
      kind: input.kind,
      ...(input.registryId ? { registryId: input.registryId } : {}),
      cron: input.cron,
      enabled: input.enabled ?? true,
      lastFired: existing && existing.cron === input.cron ? existing.lastFired : at,
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
    };
  };

  const showSchedule = (schedule: ScheduleRecord) => ({
    ...schedule,
    nextRun: nextOccurrence(schedule.cron, new Date(schedule.lastFired)).toISOString(),
  });

  const routes: Route[] = [
    route("GET", "/healthz", "public", async () => ({ status: 200, json: { status: "ok" } })),
    route("GET", "/readyz", "public", async () => {
      const checks: Record<string, string> = {};
      for (const [name, check] of [
        // A one-row query, not a listing: readiness probes run often.
        ["store", () => store.imageStamp("sha256:readiness-probe")],
        ["queue", () => queue.ready()],
      ] as const) {
        try {
          await check();
          checks[name] = "ok";
        } catch (error) {
          checks[name] = errorLine(error);
        }
      }
      const ready = Object.values(checks).every((value) => value === "ok");
      if (!ready) throw new HttpProblem(503, `not ready: ${JSON.stringify(checks)}`);
      return { status: 200, json: { status: "ready", checks } };
    }),
    route("GET", "/metrics", "public", async () => {
      const jobs = await queue.counts();
      const images = (await store.digests()).length;
      return {
        status: 200,
        text: metrics.render({ jobs: jobs as Record<string, number>, images }),
        type: "text/plain; version=0.0.4; charset=utf-8",
      };
    }),
    route("GET", "/openapi.json", "public", async () => ({
      status: 200,
      text: await openapi(),
      type: "application/json",
    })),
    route("POST", "/api/v1/scans", "write", async ({ req }) => {
      const type = mediaType(req);
      if (type === "application/vnd.cyclonedx+json" || type === "application/spdx+json") {
        const document = parseJson(await readBody(req, limit));
        return accepted("scan", { sbom: checkSbom(document) });
      }
      const request = await jsonBody<{ reference?: string; sbom?: object; insecure?: boolean }>(
        req,
        limit,
        "ScanRequest",
      );
      if ((request.reference === undefined) === (request.sbom === undefined)) {
        throw new HttpProblem(422, "give exactly one of reference and sbom", {
          errors: [{ pointer: "/", detail: "exactly one of reference, sbom" }],
        });
      }
      if (request.sbom !== undefined) return accepted("scan", { sbom: checkSbom(request.sbom) });
      const reference = request.reference!;
      let kind: string;
      try {
        kind = parseTarget(reference).kind;
      } catch (error) {
        throw new HttpProblem(422, `reference: ${errorLine(error)}`, {
          errors: [{ pointer: "/reference", detail: errorLine(error) }],
        });
      }
      if (kind === "sbom" || (kind !== "registry" && !options.allowLocalImages)) {
        throw new HttpProblem(
          422,
          `reference "${reference}" is not a registry image; upload SBOMs as "sbom", and local archives need a service started with --allow-local-images`,
          { errors: [{ pointer: "/reference", detail: "not a registry image reference" }] },
        );
      }
      return accepted("scan", { reference, ...(request.insecure ? { insecure: true } : {}) });
    }),
    route("POST", "/api/v1/rescans", "write", async () => accepted("rescan", {})),
    route("GET", "/api/v1/jobs/{id}", "read", async ({ params }) => {
      const job = await queue.get(params["id"]!);
      if (!job) throw new HttpProblem(404, `no job "${params["id"]}"`);
      return { status: 200, json: job };
    }),
    route("GET", "/api/v1/results/{digest}", "read", async ({ req, url, params }) => {
      const digest = params["digest"]!;
      const format = negotiate(url, req.headers.accept);
      if (!DIGEST_PATTERN.test(digest)) throw new HttpProblem(400, `"${digest}" is not a sha256 manifest digest`);
      // Renderings are cached by digest, format and the result's lastMatched: a rescan changes the key.
      const stamp = await store.imageStamp(digest);
      if (stamp === undefined) throw new HttpProblem(404, `no result is stored for ${digest}; submit a scan first`);
      const key = `${digest} ${stamp} ${format}`;
      let text = renderings.get(key);
      if (text === undefined) {
        const image = await storedImage(digest);
        if (!isReportFormat(format)) throw new HttpProblem(400, `format "${format}" is unknown`);
        text =
          format === "json"
            ? JSON.stringify(image.result)
            : renderReport(format, image.result, { finishedAt: new Date(image.lastMatched) });
        renderings.set(key, text);
        // A small LRU: the oldest entry goes first.
        if (renderings.size > 64) renderings.delete(renderings.keys().next().value!);
      }
      return { status: 200, text, type: REPORT_MEDIA_TYPES[format]! };
    }),
    route("POST", "/api/v1/results/{digest}/evaluate", "read", async ({ req, params }) => {
      const image = await storedImage(params["digest"]!);
      const request = await jsonBody<{ policy: string | object }>(req, limit, "EvaluateRequest");
      const text = typeof request.policy === "string" ? request.policy : JSON.stringify(request.policy);
      const { policy, issues } = readPolicyDocument(text, "policy");
      if (!policy) {
        throw new HttpProblem(422, formatIssue("policy", issues[0]!, issues.length - 1), {
          errors: issues.map((issue) => ({
            pointer: `/policy (line ${issue.line}) ${issue.field}`,
            detail: issue.message,
          })),
        });
      }
      const verdict = evaluatePolicy(image.result, policy, {
        now: now(),
        ...(image.imageConfig ? { imageConfig: image.imageConfig } : {}),
      });
      return { status: 200, json: { digest: image.digest, verdict } };
    }),
    route("GET", "/api/v1/registries", "read", async () => ({
      status: 200,
      json: { items: await store.listRegistries() },
    })),
    route("POST", "/api/v1/registries", "write", async ({ req }) => {
      const input = await jsonBody<RegistryInputBody>(req, limit, "RegistryInput");
      const id = input.id ?? slug(`${input.host}${input.prefix ? `-${input.prefix}` : ""}`);
      if (await store.getRegistry(id))
        throw new HttpProblem(409, `registry "${id}" exists; PUT /api/v1/registries/${id} replaces it`);
      const record = await registryFrom(input, id);
      await store.putRegistry(record);
      return { status: 201, json: record, headers: { location: `/api/v1/registries/${id}` } };
    }),
    route("GET", "/api/v1/registries/{id}", "read", async ({ params }) => {
      const registry = await store.getRegistry(params["id"]!);
      if (!registry) throw new HttpProblem(404, `no registry "${params["id"]}"`);
      return { status: 200, json: registry };
    }),
    route("PUT", "/api/v1/registries/{id}", "write", async ({ req, params }) => {
      const id = pathId(params["id"]!);
      const input = await jsonBody<RegistryInputBody>(req, limit, "RegistryInput");
      if (input.id !== undefined && input.id !== id)
        throw new HttpProblem(422, `body id "${input.id}" differs from the path's "${id}"`);
      const record = await registryFrom(input, id);
      await store.putRegistry(record);
      return { status: 200, json: record };
    }),
    route("DELETE", "/api/v1/registries/{id}", "write", async ({ params }) => {
      const id = params["id"]!;
      if (!(await store.deleteRegistry(id))) throw new HttpProblem(404, `no registry "${id}"`);
      for (const schedule of await store.listSchedules()) {
        if (schedule.registryId === id) await store.deleteSchedule(schedule.id);
      }
      return { status: 204 };
    }),
    route("POST", "/api/v1/registries/{id}/scans", "write", async ({ params }) => {
      const id = params["id"]!;
      if (!(await store.getRegistry(id))) throw new HttpProblem(404, `no registry "${id}"`);
      return accepted("registry-scan", { registryId: id });
    }),
    route("GET", "/api/v1/schedules", "read", async () => ({
      status: 200,
      json: { items: (await store.listSchedules()).map(showSchedule) },
    })),
    route("POST", "/api/v1/schedules", "write", async ({ req }) => {
      const input = await jsonBody<ScheduleInputBody>(req, limit, "ScheduleInput");
      const id = input.id ?? slug(`${input.kind}${input.registryId ? `-${input.registryId}` : ""}`);
      if (await store.getSchedule(id))
        throw new HttpProblem(409, `schedule "${id}" exists; PUT /api/v1/schedules/${id} replaces it`);
      const record = await scheduleFrom(input, id);
      await store.putSchedule(record);
      return { status: 201, json: showSchedule(record), headers: { location: `/api/v1/schedules/${id}` } };
    }),
    route("GET", "/api/v1/schedules/{id}", "read", async ({ params }) => {
      const schedule = await store.getSchedule(params["id"]!);
      if (!schedule) throw new HttpProblem(404, `no schedule "${params["id"]}"`);
      return { status: 200, json: showSchedule(schedule) };
    }),
    route("PUT", "/api/v1/schedules/{id}", "write", async ({ req, params }) => {
      const id = pathId(params["id"]!);
      const input = await jsonBody<ScheduleInputBody>(req, limit, "ScheduleInput");
      if (input.id !== undefined && input.id !== id)
        throw new HttpProblem(422, `body id "${input.id}" differs from the path's "${id}"`);
      const record = await scheduleFrom(input, id);
      await store.putSchedule(record);
      return { status: 200, json: showSchedule(record) };
    }),
    route("DELETE", "/api/v1/schedules/{id}", "write", async ({ params }) => {
      if (!(await store.deleteSchedule(params["id"]!))) throw new HttpProblem(404, `no schedule "${params["id"]}"`);
      return { status: 204 };
    }),
    // Where images run, as the latest `stowaway cluster inventory` of each cluster recorded it; the
    // same core report the CLI prints (drift here is from the store's registry scans, no registry access).
    route("GET", "/api/v1/cluster/images", "read", async ({ url }) => {
      const cve = url.searchParams.get("cve") ?? undefined;
      const flag = url.searchParams.get("flag") ?? undefined;
      const cluster = url.searchParams.get("cluster") ?? undefined;
      if (cve !== undefined && !VULN_ID_PATTERN.test(cve)) {
        throw new HttpProblem(400, "cve must be a vulnerability id or alias such as CVE-2024-1234", {
          errors: [{ pointer: "?cve", detail: "letters, digits, '.', '_', ':' and '-', at most 128" }],
        });
      }
      if (flag !== undefined && !(CLUSTER_FLAGS as readonly string[]).includes(flag)) {
        throw new HttpProblem(400, `flag must be one of ${CLUSTER_FLAGS.join(", ")}`, {
          errors: [{ pointer: "?flag", detail: `one of ${CLUSTER_FLAGS.join(", ")}` }],
        });
      }
      if (cluster !== undefined && !CLUSTER_PATTERN.test(cluster)) {
        throw new HttpProblem(400, "cluster must be a cluster name as cluster inventory recorded it", {
          errors: [{ pointer: "?cluster", detail: "a kubeconfig cluster name" }],
        });
      }
      const containers = await recordedContainers(store, cluster);
      const items = await clusterImageReport(containers, {
        store,
        ...(cve ? { cve } : {}),
        ...(flag ? { flag: flag as ClusterFlag } : {}),
      });
      return { status: 200, json: { containers: containers.length, items } };
    }),
    route("GET", "/api/v1/cluster/images/{digest}", "read", async ({ params }) => {
      const digest = params["digest"]!;
      if (!DIGEST_PATTERN.test(digest)) throw new HttpProblem(400, `"${digest}" is not a sha256 manifest digest`);
      const spread = await imageSpread(store, digest);
      if (!spread.scanned && spread.tags.length === 0 && spread.workloads.length === 0) {
        throw new HttpProblem(404, `${digest} was never scanned, tagged in a scanned registry or seen running`);
      }
      return { status: 200, json: spread };
    }),
  ];

  const authenticate = async (req: IncomingMessage): Promise<{ scope: TokenScope; id: string }> => {
    const header = req.headers.authorization;
    const challenge = { "www-authenticate": 'Bearer realm="stowaway"' };
    if (!header) {
      throw new HttpProblem(401, "send an API token as Authorization: Bearer <token> (stowaway serve token create)", {
        headers: challenge,
      });
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new HttpProblem(401, "the Authorization header must be Bearer <token>", { headers: challenge });
    const check = await verifier.verify(match[1]!, now());
    if (!check.ok) {
      const why = {
        malformed: "is malformed",
        unknown: "is not known",
        revoked: "was revoked",
        expired: "has expired",
      }[check.reason];
      throw new HttpProblem(401, `the API token ${why}; create one with stowaway serve token create`, {
        headers: { "www-authenticate": `Bearer realm="stowaway", error="invalid_token"` },
      });
    }
    const wait = limiter.take(check.record.id, Date.now());
    if (wait > 0) {
      throw new HttpProblem(429, `rate limit of this token reached; retry in ${wait} s`, {
        headers: { "retry-after": String(wait) },
      });
    }
    return { scope: check.record.scope, id: check.record.id };
  };

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    const method = (req.method ?? "GET").toUpperCase();
    let template = "unmatched";
    let tokenId: string | undefined;
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://service.invalid");
    } catch {
      url = new URL("http://service.invalid/");
    }
    res.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.observe(method, template, res.statusCode, seconds);
      log(
        `${method} ${url.pathname} ${res.statusCode} ${(seconds * 1000).toFixed(1)}ms${tokenId ? ` token=${tokenId}` : ""}`,
      );
    });
    try {
      const path = url.pathname;
      const lookup = method === "HEAD" ? "GET" : method;
      let params: Record<string, string> = {};
      let found: Route | undefined;
      const allowed: string[] = [];
      for (const candidate of routes) {
        const match = candidate.pattern.exec(path);
        if (!match) continue;
        allowed.push(candidate.method);
        if (candidate.method !== lookup) continue;
        found = candidate;
        params = Object.fromEntries(candidate.params.map((name, index) => [name, decodeParam(match[index + 1]!)]));
        break;
      }
      let scope: TokenScope | undefined;
      if (path.startsWith("/api/")) {
        const auth = await authenticate(req);
        scope = auth.scope;
        tokenId = auth.id;
      }
      // The dashboard's pages and read-model endpoints (GET/HEAD only; it returns false for others' paths).
      // Asked before the API routes: /api/v1/registries/summary is its own, not a registry named "summary".
      if (found?.scope !== "public" && (method === "GET" || method === "HEAD")) {
        if (await dashboard(req, res)) {
          template = "dashboard";
          return;
        }
      }
      if (!found) {
        if (allowed.length > 0) {
          throw new HttpProblem(405, `${method} is not allowed on ${path}`, {
            headers: { allow: [...new Set(allowed)].join(", ") },
          });
        }
        throw new HttpProblem(404, `no endpoint ${path}; see /openapi.json`);
      }
      template = found.template;
      if (found.scope === "write" && scope !== "write") {
        throw new HttpProblem(403, "this request needs a token with the write scope");
      }
      const reply = await found.handle({ req, url, params, ...(scope ? { scope } : {}) });
      send(res, reply);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpProblem) {
        sendProblem(res, error, url.pathname);
        return;
      }
      const line = error instanceof StowawayError ? errorLine(error) : `internal error: ${errorLine(error)}`;
      log(`${method} ${url.pathname}: ${line}`);
      sendProblem(res, new HttpProblem(500, "the service failed to answer; see its log"), url.pathname);
    }
  };
  return Object.assign(handler, {
    routes: routes.map(({ method, template, scope }) => ({ method, template, scope })),
  });
}

interface RegistryInputBody {
  id?: string;
  host: string;
  prefix?: string;
  tags?: string;
  maxImages?: number;
  insecure?: boolean;
}

interface ScheduleInputBody {
  id?: string;
  kind: "registry-scan" | "rescan";
  registryId?: string;
  cron: string;
  enabled?: boolean;
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpProblem(400, "the path holds a malformed percent-encoding");
  }
}

function pathId(id: string): string {
  if (!ID_PATTERN.test(id)) {
    throw new HttpProblem(422, `id "${id}" must be lower-case letters, digits, ".", "_" or "-" (at most 63)`);
  }
  return id;
}

/** The SBOM as text after a parse check, so a bad upload is refused now rather than failing as a job. */
function checkSbom(document: unknown): string {
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    throw new HttpProblem(422, "the SBOM must be a CycloneDX or SPDX JSON object", {
      errors: [{ pointer: "/sbom", detail: "not an object" }],
    });
  }
  const text = JSON.stringify(document);
  try {
    parseSbom(text, "sbom");
  } catch (error) {
    throw new HttpProblem(422, errorLine(error), { errors: [{ pointer: "/sbom", detail: errorLine(error) }] });
  }
  return text;
}

function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string | number> = { "cache-control": "no-store", ...reply.headers };
  if (reply.json !== undefined) {
    const text = JSON.stringify(reply.json);
    res.writeHead(reply.status, {
      ...headers,
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text);
  } else if (reply.text !== undefined) {
    res.writeHead(reply.status, {
      ...headers,
      "content-type": reply.type ?? "text/plain; charset=utf-8",
      "content-length": Buffer.byteLength(reply.text),
    });
    res.end(reply.text);
  } else {
    res.writeHead(reply.status, headers);
    res.end();
  }
}

export interface ListenOptions {
  /** host:port (default 127.0.0.1:8080); port 0 picks a free one. */
  listen?: string;
  tls?: { certFile: string; keyFile: string };
}

export interface RunningService {
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

/** Parses `host:port` / `[v6]:port` / `port`. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+))?:?(\d+)$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new StowawayError(`--listen "${text}" must be HOST:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080`);
  }
  return { host: match[1] ?? match[2] ?? "127.0.0.1", port };
}

/** Starts the HTTP(S) server on `listen` with the service handler. */
export async function startService(options: ServiceOptions & ListenOptions): Promise<RunningService> {
  const { host, port } = parseListen(options.listen ?? "127.0.0.1:8080");
  const handler = createServiceHandler(options);
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void handler(req, res);
  };
  let server: http.Server;
  if (options.tls) {
    let cert: Buffer;
    let key: Buffer;
    try {
      [cert, key] = await Promise.all([readFile(options.tls.certFile), readFile(options.tls.keyFile)]);
    } catch (error) {
      throw new StowawayError(
        `cannot read the TLS certificate or key (${(error as NodeJS.ErrnoException).code ?? "error"}); check --tls-cert and --tls-key`,
      );
    }
    server = https.createServer({ cert, key }, onRequest) as unknown as http.Server;
  } else {
    server = http.createServer(onRequest);
  }
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new StowawayError(`cannot listen on ${host}:${port} (${error.code ?? error.message}); pick another --listen`),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `${options.tls ? "https" : "http"}://${shownHost}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
