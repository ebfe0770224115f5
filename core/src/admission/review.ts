/**
 * AdmissionReview v1 (admission.k8s.io/v1) as the API server sends it to a validating webhook, and
 * the images a pod or pod template runs (docs/admission.md §2).
 */

export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  namespace?: string;
  name?: string;
  operation: string;
  dryRun: boolean;
  object: unknown;
}

export interface AdmissionResponseBody {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string; reason?: string };
  warnings?: string[];
}

export class ReviewError extends Error {}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Reads an AdmissionReview v1 request; a malformed one is a ReviewError naming the field. */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  const review = asRecord(body);
  if (!review) throw new ReviewError("the body is not a JSON object");
  if (review["apiVersion"] !== "admission.k8s.io/v1" || review["kind"] !== "AdmissionReview") {
    throw new ReviewError('expected apiVersion "admission.k8s.io/v1" and kind "AdmissionReview"');
  }
  const request = asRecord(review["request"]);
  if (!request) throw new ReviewError("request is missing");
  const uid = request["uid"];
  if (typeof uid !== "string" || uid === "") throw new ReviewError("request.uid is missing");
  const kind = asRecord(request["kind"]);
  if (!kind || typeof kind["kind"] !== "string") throw new ReviewError("request.kind is missing");
  const operation = typeof request["operation"] === "string" ? request["operation"] : "";
  return {
    uid,
    kind: { group: String(kind["group"] ?? ""), version: String(kind["version"] ?? ""), kind: kind["kind"] },
    ...(typeof request["namespace"] === "string" ? { namespace: request["namespace"] } : {}),
    ...(typeof request["name"] === "string" ? { name: request["name"] } : {}),
    operation,
    dryRun: request["dryRun"] === true,
    object: request["object"],
  };
}

/** The AdmissionReview the webhook answers with. */
export function admissionResponse(response: AdmissionResponseBody): Record<string, unknown> {
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response };
}

export interface ContainerImage {
  image: string;
  /** "containers[0] app", "initContainers[0] setup", "ephemeralContainers[0] debugger" */
  container: string;
}

/** Kinds whose object embeds a pod spec, and where (docs/admission.md §2). */
const POD_SPEC_PATHS: Record<string, string[]> = {
  Pod: ["spec"],
  Deployment: ["spec", "template", "spec"],
  StatefulSet: ["spec", "template", "spec"],
  DaemonSet: ["spec", "template", "spec"],
  ReplicaSet: ["spec", "template", "spec"],
  ReplicationController: ["spec", "template", "spec"],
  Job: ["spec", "template", "spec"],
  CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
  PodTemplate: ["template", "spec"],
};

export const ADMITTED_KINDS: readonly string[] = Object.keys(POD_SPEC_PATHS);

/** Every container image of the object (init, regular and ephemeral containers); undefined for other kinds. */
export function podImages(kind: string, object: unknown): ContainerImage[] | undefined {
  const path = POD_SPEC_PATHS[kind];
  if (!path) return undefined;
  let spec: Record<string, unknown> | undefined = asRecord(object);
  for (const key of path) spec = asRecord(spec?.[key]);
  if (!spec) return [];
  const images: ContainerImage[] = [];
  for (const field of ["initContainers", "containers", "ephemeralContainers"]) {
    const list = spec[field];
    if (!Array.isArray(list)) continue;
    list.forEach((entry, index) => {
      const container = asRecord(entry);
      const image = container?.["image"];
      if (typeof image === "string" && image.trim() !== "") {
        const name = typeof container?.["name"] === "string" ? ` ${container["name"]}` : "";
        images.push({ image: image.trim(), container: `${field}[${index}]${name}` });
      }
    });
  }
  return images;
}
