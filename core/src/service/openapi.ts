import { STOWAWAY_VERSION } from "../version.js";

/**
 * The service's OpenAPI 3.1 document. Request bodies are validated against these very schemas
 * (service/validate.ts), so the document and the server cannot drift; docs/openapi.json is this
 * document as served (with the dashboard's read-model paths merged in) and a test keeps the two equal.
 */
type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ref("Problem") } },
});
const json = (schema: Schema, description: string) => ({ description, content: { "application/json": { schema } } });
const body = (name: string) => ({ required: true, content: { "application/json": { schema: ref(name) } } });
const idParam = (description: string) => ({
  name: "id",
  in: "path",
  required: true,
  description,
  schema: { type: "string", pattern: "^[a-z0-9][a-z0-9._-]{0,62}$" },
});
const digestParam = {
  name: "digest",
  in: "path",
  required: true,
  description: "Manifest digest (`sha256:...`), percent-encoded or not.",
  schema: { type: "string", pattern: "^sha256:[0-9a-f]{64}$" },
};
const authErrors = {
  "401": problem("No, a malformed, unknown, revoked or expired token."),
  "429": problem("The token's rate limit is exhausted; see Retry-After."),
};
const writeErrors = { ...authErrors, "403": problem("The token has the read scope only.") };
const bodyErrors = {
  "400": problem("The body is not JSON."),
  "413": problem("The body is larger than the service accepts."),
  "415": problem("The body's Content-Type is not accepted here."),
  "422": problem("The body does not match the schema (unknown fields, wrong types, missing fields)."),
};
const idPattern = "^[a-z0-9][a-z0-9._-]{0,62}$";

export const REPORT_MEDIA_TYPES: Record<string, string> = {
  json: "application/json",
  sarif: "application/sarif+json",
  cyclonedx: "application/vnd.cyclonedx+json",
  spdx: "application/spdx+json",
  junit: "application/xml",
  gitlab: "application/vnd.gitlab.container-scanning+json",
  markdown: "text/markdown; charset=utf-8",
  html: "text/html; charset=utf-8",
  table: "text/plain; charset=utf-8",
};

const SCHEMAS: Record<string, Schema> = {
  Problem: {
    type: "object",
    description: "RFC 9457 problem details.",
    required: ["type", "title", "status", "detail"],
    properties: {
      type: { type: "string" },
      title: { type: "string" },
      status: { type: "integer" },
      detail: { type: "string" },
      instance: { type: "string" },
      errors: {
        type: "array",
        items: {
          type: "object",
          required: ["pointer", "detail"],
          properties: { pointer: { type: "string" }, detail: { type: "string" } },
        },
      },
    },
  },
  ScanRequest: {
    type: "object",
    description:
      "Exactly one of `reference` (an image the workers can pull) and `sbom` (a CycloneDX or SPDX JSON document).",
    additionalProperties: false,
    properties: {
      reference: { type: "string", minLength: 1, maxLength: 1024 },
      sbom: { type: "object" },
      insecure: { type: "boolean", description: "Plain HTTP or unverified TLS for the image's registry." },
    },
  },
  JobAccepted: {
    type: "object",
    required: ["id", "state", "location"],
    properties: {
      id: { type: "string" },
      state: { const: "queued" },
      location: { type: "string", description: "Where the job's status is read." },
    },
  },
  JobStatus: {
    type: "object",
    required: ["id", "kind", "state", "attempts", "createdAt"],
    properties: {
      id: { type: "string" },
      kind: { enum: ["scan", "registry-scan", "rescan"] },
      state: { enum: ["queued", "running", "retrying", "succeeded", "failed"] },
      attempts: { type: "integer", minimum: 0 },
      createdAt: { type: "string", format: "date-time" },
      startedAt: { type: "string", format: "date-time" },
      finishedAt: { type: "string", format: "date-time" },
      output: {
        type: "object",
        description:
          "A scan: digest, runId, reference, verdict (pass/warn/fail; absent when the service has no policy), checked (false when no database was used), counts by severity. A registry scan or rescan: runId and the run summary.",
      },
      error: { type: "string", description: "Why the last attempt failed." },
    },
  },
  ScanResult: {
    type: "object",
    description:
      "The result document, schemaVersion 1 (core/schemas/scan-result.schema.json): inventory, findings, verdict.",
    required: ["schemaVersion", "artifact", "packages"],
  },
  EvaluateRequest: {
    type: "object",
    additionalProperties: false,
    required: ["policy"],
    properties: {
      policy: {
        description:
          "A Stowaway policy (the format `stowaway policy lint` checks): YAML text or the same document as a JSON object.",
        oneOf: [{ type: "string", minLength: 1 }, { type: "object" }],
      },
    },
  },
  Evaluation: {
    type: "object",
    required: ["digest", "verdict"],
    properties: { digest: { type: "string" }, verdict: ref("Verdict") },
  },
  Verdict: {
    type: "object",
    required: ["outcome", "violations", "suppressed", "warnings"],
    properties: {
      outcome: { enum: ["pass", "warn", "fail"] },
      violations: { type: "array", items: { type: "object" } },
      suppressed: { type: "array", items: { type: "object" } },
      warnings: { type: "array", items: { type: "string" } },
    },
  },
  RegistryInput: {
    type: "object",
    additionalProperties: false,
    required: ["host"],
    properties: {
      id: { type: "string", pattern: idPattern, description: "Defaults to one made from the host and prefix." },
      host: { type: "string", pattern: "^[A-Za-z0-9.-]+(:[0-9]+)?$", maxLength: 255 },
      prefix: {
        type: "string",
        minLength: 1,
        maxLength: 255,
        description: "Repository prefix (Docker Hub: a repository).",
      },
      tags: { type: "string", minLength: 1, maxLength: 255, description: "Glob over tag names." },
      maxImages: { type: "integer", minimum: 1 },
      insecure: { type: "boolean" },
    },
  },
  Registry: {
    type: "object",
    required: ["id", "host", "insecure", "createdAt", "updatedAt"],
    properties: {
      id: { type: "string" },
      host: { type: "string" },
      prefix: { type: "string" },
      tags: { type: "string" },
      maxImages: { type: "integer" },
      insecure: { type: "boolean" },
      createdAt: { type: "string", format: "date-time" },
      updatedAt: { type: "string", format: "date-time" },
    },
  },
  RegistryList: {
    type: "object",
    required: ["items"],
    properties: { items: { type: "array", items: ref("Registry") } },
  },
  ScheduleInput: {
    type: "object",
    additionalProperties: false,
    required: ["kind", "cron"],
    properties: {
      id: { type: "string", pattern: idPattern },
      kind: { enum: ["registry-scan", "rescan"] },
      registryId: { type: "string", pattern: idPattern, description: "Required for registry-scan." },
      cron: { type: "string", minLength: 9, maxLength: 120, description: "Five-field cron expression, UTC." },
      enabled: { type: "boolean" },
    },
  },
  Schedule: {
    type: "object",
    required: ["id", "kind", "cron", "enabled", "lastFired", "nextRun", "createdAt", "updatedAt"],
    properties: {
      id: { type: "string" },
      kind: { enum: ["registry-scan", "rescan"] },
      registryId: { type: "string" },
      cron: { type: "string" },
      enabled: { type: "boolean" },
      lastFired: { type: "string", format: "date-time" },
      nextRun: { type: "string", format: "date-time" },
      createdAt: { type: "string", format: "date-time" },
      updatedAt: { type: "string", format: "date-time" },
    },
  },
  ScheduleList: {
    type: "object",
    required: ["items"],
    properties: { items: { type: "array", items: ref("Schedule") } },
  },
  ClusterImage: {
    type: "object",
    description:
      "One running image (reference and digest) and every workload running it, joined with the store: never scanned, the stored verdict and findings, drift of its tag.",
    required: ["image", "workloads", "clusters", "state"],
    properties: {
      image: { type: "string", description: "As the pod spec names it." },
      digest: { type: "string", description: "From the container status' imageID." },
      workloads: { type: "array", items: { type: "string" }, description: '"namespace/Kind/name"' },
      clusters: { type: "array", items: { type: "string" } },
      state: { enum: ["scanned", "never-scanned", "unknown-digest"] },
      outcome: { enum: ["pass", "warn", "fail"], description: "The stored policy verdict; fail means denied." },
      findings: { type: "integer", minimum: 0 },
      drift: {
        type: "object",
        description:
          "The tag points at another digest now (`current`, as the store's last registry scan or a live check saw it), or a live check found the tag gone (`tagMissing`).",
        properties: {
          current: { type: "string" },
          seen: { type: "string", format: "date-time" },
          tagMissing: { const: true },
        },
      },
    },
  },
  ClusterImageList: {
    type: "object",
    required: ["containers", "items"],
    properties: {
      containers: { type: "integer", minimum: 0, description: "Running containers recorded (before filters)." },
      items: { type: "array", items: ref("ClusterImage") },
    },
  },
  ImageSpread: {
    type: "object",
    description: "How widespread an image is: its tags, repositories, clusters, namespaces and workloads.",
    required: ["digest", "related", "scanned", "tags", "repositories", "clusters", "namespaces", "workloads"],
    properties: {
      digest: { type: "string" },
      related: {
        type: "array",
        items: { type: "string" },
        description: "The index this platform manifest belongs to, or the platform manifests of this index.",
      },
      scanned: { type: "boolean" },
      outcome: { enum: ["pass", "warn", "fail"] },
      findings: { type: "integer", minimum: 0 },
      tags: {
        type: "array",
        items: {
          type: "object",
          required: ["registry", "repository", "tag", "current", "lastSeen"],
          properties: {
            registry: { type: "string" },
            repository: { type: "string" },
            tag: { type: "string" },
            current: { type: "boolean", description: "The tag pointed here when last listed." },
            lastSeen: { type: "string", format: "date-time" },
          },
        },
      },
      repositories: { type: "array", items: { type: "string" }, description: '"registry/repository"' },
      clusters: { type: "array", items: { type: "string" } },
      namespaces: { type: "array", items: { type: "string" }, description: '"cluster/namespace"' },
      workloads: {
        type: "array",
        items: {
          type: "object",
          required: ["cluster", "namespace", "workload", "container", "image", "lastSeen", "running"],
          properties: {
            cluster: { type: "string" },
            namespace: { type: "string" },
            workload: { type: "string", description: '"Deployment/web"' },
            container: { type: "string" },
            image: { type: "string" },
            lastSeen: { type: "string", format: "date-time" },
            running: { type: "boolean", description: "Seen by the latest inventory of its cluster." },
          },
        },
      },
    },
  },
  Health: {
    type: "object",
    required: ["status"],
    properties: { status: { type: "string" }, checks: { type: "object" } },
  },
};

const PATHS: Record<string, Record<string, unknown>> = {
  "/api/v1/scans": {
    post: {
      operationId: "submitScan",
      summary: "Queue a scan of an image reference or an uploaded SBOM (write scope).",
      requestBody: {
        required: true,
        content: {
          "application/json": { schema: ref("ScanRequest") },
          "application/vnd.cyclonedx+json": { schema: { type: "object" } },
          "application/spdx+json": { schema: { type: "object" } },
        },
      },
      responses: { "202": json(ref("JobAccepted"), "Queued; poll the job."), ...bodyErrors, ...writeErrors },
    },
  },
  "/api/v1/rescans": {
    post: {
      operationId: "submitRescan",
      summary: "Queue a rescan of every stored inventory against the current database (write scope).",
      responses: { "202": json(ref("JobAccepted"), "Queued."), ...writeErrors },
    },
  },
  "/api/v1/jobs/{id}": {
    get: {
      operationId: "getJob",
      summary: "A job's state, attempts and output.",
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      responses: { "200": json(ref("JobStatus"), "The job."), "404": problem("No such job."), ...authErrors },
    },
  },
  "/api/v1/results/{digest}": {
    get: {
      operationId: "getResult",
      summary: "The stored result of an image in any report format (`?format=` or `Accept`).",
      parameters: [
        digestParam,
        {
          name: "format",
          in: "query",
          required: false,
          schema: { enum: Object.keys(REPORT_MEDIA_TYPES) },
          description: "Overrides Accept.",
        },
      ],
      responses: {
        "200": {
          description: "The result document or its rendering.",
          content: Object.fromEntries(
            Object.entries(REPORT_MEDIA_TYPES).map(([format, type]) => [
              type.split(";")[0],
              { schema: format === "json" ? ref("ScanResult") : { type: "string" } },
            ]),
          ),
        },
        "400": problem("Unknown format."),
        "404": problem("No result for this digest."),
        "406": problem("None of the Accept types can be produced."),
        ...authErrors,
      },
    },
  },
  "/api/v1/results/{digest}/evaluate": {
    post: {
      operationId: "evaluatePolicy",
      summary: "Evaluate a policy against a stored result (nothing is stored).",
      parameters: [digestParam],
      requestBody: body("EvaluateRequest"),
      responses: {
        "200": json(ref("Evaluation"), "The verdict."),
        "404": problem("No result for this digest."),
        ...bodyErrors,
        ...authErrors,
      },
    },
  },
  "/api/v1/registries": {
    get: {
      operationId: "listRegistries",
      summary: "Registries the service inventories.",
      responses: { "200": json(ref("RegistryList"), "The registries."), ...authErrors },
    },
    post: {
      operationId: "createRegistry",
      summary: "Add a registry (write scope). Credentials come from the workers' environment, never the API.",
      requestBody: body("RegistryInput"),
      responses: {
        "201": json(ref("Registry"), "Created."),
        "409": problem("A registry with this id exists."),
        ...bodyErrors,
        ...writeErrors,
      },
    },
  },
  "/api/v1/registries/{id}": {
    parameters: [idParam("Registry id.")],
    get: {
      operationId: "getRegistry",
      summary: "One registry.",
      responses: { "200": json(ref("Registry"), "The registry."), "404": problem("No such registry."), ...authErrors },
    },
    put: {
      operationId: "replaceRegistry",
      summary: "Replace (or create) a registry (write scope).",
      requestBody: body("RegistryInput"),
      responses: { "200": json(ref("Registry"), "Stored."), ...bodyErrors, ...writeErrors },
    },
    delete: {
      operationId: "deleteRegistry",
      summary: "Remove a registry and its schedules (write scope).",
      responses: { "204": { description: "Deleted." }, "404": problem("No such registry."), ...writeErrors },
    },
  },
  "/api/v1/registries/{id}/scans": {
    parameters: [idParam("Registry id.")],
    post: {
      operationId: "submitRegistryScan",
      summary: "Queue an inventory of this registry now (write scope).",
      responses: { "202": json(ref("JobAccepted"), "Queued."), "404": problem("No such registry."), ...writeErrors },
    },
  },
  "/api/v1/schedules": {
    get: {
      operationId: "listSchedules",
      summary: "Cron schedules of registry inventories and rescans.",
      responses: { "200": json(ref("ScheduleList"), "The schedules."), ...authErrors },
    },
    post: {
      operationId: "createSchedule",
      summary: "Add a schedule (write scope).",
      requestBody: body("ScheduleInput"),
      responses: {
        "201": json(ref("Schedule"), "Created."),
        "409": problem("A schedule with this id exists."),
        ...bodyErrors,
        ...writeErrors,
      },
    },
  },
  "/api/v1/schedules/{id}": {
    parameters: [idParam("Schedule id.")],
    get: {
      operationId: "getSchedule",
      summary: "One schedule.",
      responses: { "200": json(ref("Schedule"), "The schedule."), "404": problem("No such schedule."), ...authErrors },
    },
    put: {
      operationId: "replaceSchedule",
      summary: "Replace (or create) a schedule (write scope).",
      requestBody: body("ScheduleInput"),
      responses: { "200": json(ref("Schedule"), "Stored."), ...bodyErrors, ...writeErrors },
    },
    delete: {
      operationId: "deleteSchedule",
      summary: "Remove a schedule (write scope).",
      responses: { "204": { description: "Deleted." }, "404": problem("No such schedule."), ...writeErrors },
    },
  },
  "/api/v1/cluster/images": {
    get: {
      operationId: "listClusterImages",
      summary:
        "Running images by digest with the workloads running them, as the latest `stowaway cluster inventory` of each cluster recorded: which workloads are exposed to a CVE, which drifted, were never scanned or are denied.",
      parameters: [
        {
          name: "cve",
          in: "query",
          required: false,
          description: "Only images whose stored findings include this vulnerability id or alias.",
          schema: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$" },
        },
        {
          name: "flag",
          in: "query",
          required: false,
          description: "Only images that drifted from their tag, were never scanned, or are denied by policy.",
          schema: { enum: ["drift", "never-scanned", "denied"] },
        },
        {
          name: "cluster",
          in: "query",
          required: false,
          description: "Only this cluster (its kubeconfig name).",
          schema: { type: "string" },
        },
      ],
      responses: {
        "200": json(ref("ClusterImageList"), "Running images, most widespread first."),
        "400": problem("A malformed cve, flag or cluster."),
        ...authErrors,
      },
    },
  },
  "/api/v1/cluster/images/{digest}": {
    get: {
      operationId: "getImageSpread",
      summary: "How widespread an image is: tags, repositories, clusters, namespaces and workloads of a digest.",
      parameters: [digestParam],
      responses: {
        "200": json(ref("ImageSpread"), "Where the digest is tagged and runs."),
        "400": problem("Not a sha256 digest."),
        "404": problem("The digest was never scanned, tagged in a scanned registry or seen running."),
        ...authErrors,
      },
    },
  },
  "/healthz": {
    get: {
      operationId: "health",
      summary: "Liveness: the process answers.",
      security: [],
      responses: { "200": json(ref("Health"), "Alive.") },
    },
  },
  "/readyz": {
    get: {
      operationId: "ready",
      summary: "Readiness: the store and the job queue answer.",
      security: [],
      responses: { "200": json(ref("Health"), "Ready."), "503": problem("The store or the queue does not answer.") },
    },
  },
  "/metrics": {
    get: {
      operationId: "metrics",
      summary: "Prometheus text exposition: requests, latencies, jobs by state, stored images.",
      security: [],
      responses: { "200": { description: "Metrics.", content: { "text/plain": { schema: { type: "string" } } } } },
    },
  },
  "/openapi.json": {
    get: {
      operationId: "openapi",
      summary: "This document.",
      security: [],
      responses: { "200": json({ type: "object" }, "The OpenAPI 3.1 document.") },
    },
  },
};

/** The service's document; `extraPaths` (the dashboard's read-model endpoints) are merged in. */
export function openApiDocument(extraPaths: Record<string, unknown> = {}): Record<string, unknown> {
  const paths: Record<string, unknown> = { ...PATHS };
  for (const [path, item] of Object.entries(extraPaths).sort(([a], [b]) => a.localeCompare(b))) {
    paths[path] = { ...(paths[path] as object | undefined), ...(item as object) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Stowaway service",
      version: STOWAWAY_VERSION,
      description:
        "Scans, results by manifest digest, policy evaluation, registries and schedules. Every /api/ request needs `Authorization: Bearer <token>` (`stowaway serve token create`). Errors are RFC 9457 problem details.",
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "A Stowaway API token." } },
      schemas: SCHEMAS,
    },
  };
}

/** The schemas request bodies are validated against, by name. */
export function requestSchemas(): Record<string, Schema> {
  return SCHEMAS;
}
