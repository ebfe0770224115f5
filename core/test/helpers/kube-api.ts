import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { ScanResult } from "../../src/result.js";
import { makeTlsMaterial } from "./registry-server.js";

/**
 * A local HTTPS server shaped like the Kubernetes API server for `GET /api/v1/pods`: PodList pages
 * with `continue` tokens, bearer-token authentication with a `Status` document on 401, and a kubeconfig
 * (CA data, token, context) pointing at it.
 */
export interface KubeApi {
  kubeconfig: string;
  /** Every request: its URL and Authorization header. */
  seen: { url: string; authorization?: string }[];
  close(): Promise<void>;
}

/** The cluster fixtures name digests by number: 1 -> sha256:111...1. */
export const digestOf = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;

/** A stored result of the cluster fixtures with one finding (CVE-2024-0001, alias GHSA-aaaa-bbbb-cccc) and a verdict. */
export function clusterResult(
  digest: string,
  reference: string,
  outcome: "pass" | "fail",
  vulnerable: boolean,
): ScanResult {
  return {
    schemaVersion: 1,
    scanner: { name: "stowaway", version: "0.1.0" },
    artifact: {
      reference,
      manifestDigest: digest,
      configDigest: digestOf(9),
      platform: { os: "linux", architecture: "amd64" },
      os: { family: "debian" },
      layers: [],
    },
    packages: [],
    findings: vulnerable
      ? [
          {
            findingId: "p/CVE-2024-0001",
            id: "CVE-2024-0001",
            aliases: ["GHSA-aaaa-bbbb-cccc"],
            packageId: "p",
            packageName: "openssl",
            installedVersion: "3.0.1",
            status: "fixed",
            severity: "critical",
            severitySource: "nvd",
            severities: [],
            cvss: [],
            kev: false,
            layerIndex: 0,
            match: {
              type: "direct",
              ecosystem: "Debian:12",
              name: "openssl",
              version: "3.0.1",
              constraint: "<3.0.2",
              recordId: "CVE-2024-0001",
              dataSource: "debian",
            },
          },
        ]
      : [],
    policy: {
      outcome,
      violations:
        outcome === "fail" ? [{ rule: "gate.failOn", message: "critical", findingIds: ["p/CVE-2024-0001"] }] : [],
      suppressed: [],
      warnings: [],
    },
    warnings: [],
  } as unknown as ScanResult;
}

/** A container of a pod: `digest` becomes `status.containerStatuses[].imageID` (absent: not pulled yet). */
export interface PodContainer {
  name: string;
  image: string;
  digest?: string;
}

/** A pod as the API server returns it in a PodList (trimmed to the fields a real one always has). */
export function kubePod(
  namespace: string,
  name: string,
  owner: { kind: string; name: string } | undefined,
  containers: PodContainer[],
) {
  return {
    metadata: {
      name,
      namespace,
      uid: `uid-${name}`,
      resourceVersion: "4242",
      ...(owner
        ? {
            ownerReferences: [
              {
                apiVersion: "apps/v1",
                kind: owner.kind,
                name: owner.name,
                uid: "o",
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      containers: containers.map(({ name: n, image }) => ({ name: n, image, imagePullPolicy: "IfNotPresent" })),
      restartPolicy: "Always",
    },
    status: {
      phase: "Running",
      containerStatuses: containers.map(({ name: n, image, digest }) => ({
        name: n,
        image,
        imageID: digest === undefined ? "" : `docker-pullable://${image.replace(/:[^:/]+$/, "")}@${digest}`,
        ready: true,
        restartCount: 0,
        started: true,
        state: { running: { startedAt: "2026-12-01T10:00:00Z" } },
      })),
    },
  };
}

export async function startKubeApi(
  dir: string,
  pods: unknown[],
  options: { token: string; cluster?: string; pageSize?: number },
): Promise<KubeApi> {
  const pageSize = options.pageSize ?? 2;
  const cluster = options.cluster ?? "prod-eu";
  const home = path.join(dir, `kube-${cluster}`);
  mkdirSync(home, { recursive: true });
  const tls = makeTlsMaterial(home);
  const seen: KubeApi["seen"] = [];
  const server = https.createServer(
    { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) },
    (req, res) => {
      seen.push({
        url: req.url ?? "",
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      });
      if (req.headers.authorization !== `Bearer ${options.token}`) {
        res.writeHead(401, { "Content-Type": "application/json" });
        res.end(
          JSON.stringify({
            kind: "Status",
            apiVersion: "v1",
            status: "Failure",
            message: "Unauthorized",
            reason: "Unauthorized",
            code: 401,
          }),
        );
        return;
      }
      const url = new URL(req.url ?? "/", "https://x");
      if (url.pathname !== "/api/v1/pods") {
        res.writeHead(404).end();
        return;
      }
      // `pageSize` pods per page whatever the client asks: `limit` is a maximum, `continue` leads on.
      const start = Number(url.searchParams.get("continue") ?? "0");
      const items = pods.slice(start, start + pageSize);
      const next = start + pageSize < pods.length ? String(start + pageSize) : undefined;
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "PodList",
          apiVersion: "v1",
          metadata: { resourceVersion: "4242", ...(next ? { continue: next } : {}) },
          items,
        }),
      );
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const kubeconfig = path.join(home, "kubeconfig");
  writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      `  - name: ${cluster}`,
      "    cluster:",
      `      server: https://127.0.0.1:${port}`,
      `      certificate-authority-data: ${Buffer.from(readFileSync(tls.caFile)).toString("base64")}`,
      "users:",
      "  - name: scanner",
      "    user:",
      `      token: ${options.token}`,
      "contexts:",
      `  - name: ${cluster}`,
      `    context: { cluster: ${cluster}, user: scanner }`,
      `current-context: ${cluster}`,
      "",
    ].join("\n"),
  );
  return {
    kubeconfig,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
