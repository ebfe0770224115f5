import { readFileSync } from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { DEFAULT_ADMISSION_TIMEOUT_MS } from "../../src/admission/decide.js";
import { ADMITTED_KINDS } from "../../src/admission/review.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const MANIFESTS = path.join(ROOT, "plugins/kubernetes/manifests/stowaway-admission.yaml");

type Doc = { kind: string; spec?: Record<string, unknown>; webhooks?: Record<string, unknown>[] } & Record<
  string,
  unknown
>;

/** The resource names the API server uses for each kind the webhook reads. */
const RESOURCES: Record<string, string> = {
  Pod: "pods",
  Deployment: "deployments",
  StatefulSet: "statefulsets",
  DaemonSet: "daemonsets",
  ReplicaSet: "replicasets",
  ReplicationController: "replicationcontrollers",
  Job: "jobs",
  CronJob: "cronjobs",
  PodTemplate: "podtemplates",
};

describe("plugins/kubernetes manifests", () => {
  const docs = yaml.loadAll(readFileSync(MANIFESTS, "utf8")) as Doc[];
  const byKind = (kind: string) => docs.filter((doc) => doc.kind === kind);

  it("hold a Deployment, Service, PodDisruptionBudget and ValidatingWebhookConfiguration that agree", () => {
    const [deployment] = byKind("Deployment");
    const [service] = byKind("Service");
    expect(byKind("PodDisruptionBudget")).toHaveLength(1);
    const [config] = byKind("ValidatingWebhookConfiguration");
    const webhook = config!.webhooks![0]! as {
      admissionReviewVersions: string[];
      timeoutSeconds: number;
      failurePolicy: string;
      sideEffects: string;
      clientConfig: { service: { name: string; namespace: string; path: string }; caBundle: string };
      rules: { resources: string[] }[];
    };
    expect(webhook.admissionReviewVersions).toEqual(["v1"]);
    expect(webhook.clientConfig.service.path).toBe("/validate");
    expect(webhook.clientConfig.service.name).toBe(
      (service as unknown as { metadata: { name: string } }).metadata.name,
    );
    expect(webhook.clientConfig.caBundle).toBeTruthy();
    expect(webhook.failurePolicy).toBe("Fail");
    expect(webhook.sideEffects).toBe("NoneOnDryRun");
    // The webhook answers before the API server gives up on it.
    expect(webhook.timeoutSeconds * 1000).toBeGreaterThan(DEFAULT_ADMISSION_TIMEOUT_MS);
    type Container = {
      command?: string[];
      args?: string[];
      env?: { name: string; value: string }[];
      volumeMounts: { name: string; mountPath: string }[];
    };
    const podSpec = (
      deployment!.spec as {
        template: { spec: { containers: Container[]; initContainers?: Container[]; volumes: { name: string }[] } };
      }
    ).template.spec;
    const container = podSpec.containers[0]!;
    const args = container.args!;
    // docker/Dockerfile has `ENTRYPOINT []`: without `command` Kubernetes would try to execute "admission".
    expect(container.command).toEqual(["stowaway"]);
    expect(args.slice(0, 2)).toEqual(["admission", "serve"]);
    // The layer cache lives under $XDG_CACHE_HOME on a writable volume (the root filesystem is read-only).
    const cache = container.env!.find((env) => env.name === "XDG_CACHE_HOME")!.value;
    expect(container.volumeMounts.map((mount) => mount.mountPath)).toEqual(expect.arrayContaining([cache, "/tmp"]));
    // The database volume the webhook reads (--db) is filled before it starts.
    const db = args.find((arg) => arg.startsWith("--db="))!.slice("--db=".length);
    const init = podSpec.initContainers![0]!;
    expect(init.command).toEqual(["stowaway", "db", "update", `--db=${db}`]);
    expect(init.volumeMounts.map((mount) => mount.mountPath)).toContain(db);
    const volumes = new Set(podSpec.volumes.map((volume) => volume.name));
    for (const mount of [...container.volumeMounts, ...init.volumeMounts]) expect(volumes).toContain(mount.name);
    const timeout = args.find((arg) => arg.startsWith("--timeout="))!;
    expect(Number(/(\d+)s$/.exec(timeout)![1]) * 1000).toBeLessThan(webhook.timeoutSeconds * 1000);
    const resources = webhook.rules.flatMap((rule) => rule.resources);
    for (const kind of ADMITTED_KINDS) expect(resources, kind).toContain(RESOURCES[kind]);
    expect(resources).toContain("pods/ephemeralcontainers");
  });

  it("the Helm chart's values parse and its template names every manifest kind", () => {
    const chart = path.join(ROOT, "plugins/kubernetes/helm/stowaway-admission");
    const values = yaml.load(readFileSync(path.join(chart, "values.yaml"), "utf8")) as {
      timeout: string;
      timeoutSeconds: number;
    };
    expect(Number(/(\d+)s$/.exec(values.timeout)![1])).toBeLessThan(values.timeoutSeconds);
    const template = readFileSync(path.join(chart, "templates/webhook.yaml"), "utf8");
    for (const kind of ["Deployment", "Service", "PodDisruptionBudget", "ValidatingWebhookConfiguration"]) {
      expect(template).toContain(`kind: ${kind}`);
    }
    // As the plain manifests: the program named (no ENTRYPOINT), the cache under XDG_CACHE_HOME, the database filled.
    expect(template).toContain("command: [stowaway]");
    expect(template).toContain("command: [stowaway, db, update, --db=/db]");
    expect(template).toContain("name: XDG_CACHE_HOME, value: /cache");
    expect(template).not.toContain("STOWAWAY_CACHE_DIR");
  });
});
