import { describe, expect, it } from "vitest";
import { evaluatePolicy } from "../../src/policy/evaluate.js";
import { imageConfigFacts, type ImageConfigFacts } from "../../src/policy/image-config.js";
import { parsePolicy } from "../../src/policy/parse.js";
import { detectInHistory, redactSecrets } from "../../src/policy/secrets.js";
import { describeWithShared } from "../helpers/shared.js";
import { fixtureResult, NOW } from "./fixtures/scan-result.js";

const image = (rules: string) => parsePolicy(`version: 1\nimage:\n${rules}`, "policy.yaml");

// AWS's documented example key pair and a GitHub-token-shaped string: realistic formats, not live credentials.
const AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const GITHUB_TOKEN = `ghp_${"a1B2c3D4e5".repeat(3)}abcdef`;
const DB_PASSWORD = "hunter2-fixture";

const leaky: ImageConfigFacts = {
  user: "app",
  labels: {},
  env: [
    { name: "PATH", value: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
    { name: "AWS_ACCESS_KEY_ID", value: AWS_KEY_ID },
    { name: "AWS_SECRET_ACCESS_KEY", value: AWS_SECRET },
    { name: "DB_PASSWORD", value: DB_PASSWORD },
    { name: "DB_PASSWORD_FILE", value: "/run/secrets/db" },
    { name: "API_TOKEN", value: "" },
    { name: "PWD", value: "/app" },
  ],
  history: [
    "/bin/sh -c #(nop) ADD file:1234 in / ",
    `/bin/sh -c #(nop)  ENV GITHUB_TOKEN=${GITHUB_TOKEN}`,
    "|1 NPM_TOKEN=npm_fixture0123456789 /bin/sh -c npm ci",
    "RUN /bin/sh -c echo '-----BEGIN OPENSSH PRIVATE KEY-----' > /root/.ssh/id_ed25519 # buildkit",
    "ENV REGISTRY_PASSWORD=${REGISTRY_PASSWORD}",
  ],
};

describeWithShared("image rules", () => {
  const result = fixtureResult();
  const verdictFor = (rules: string, reference?: string, config?: ImageConfigFacts) =>
    evaluatePolicy(reference ? { ...result, artifact: { ...result.artifact, reference } } : result, image(rules), {
      now: NOW,
      ...(config ? { imageConfig: config } : {}),
    });

  it("allowed registries: host, host/repository glob, Docker Hub aliases, local archives", () => {
    expect(verdictFor("  allowedRegistries: [ghcr.io]\n").outcome).toBe("pass");
    expect(verdictFor('  allowedRegistries: ["ghcr.io/acme/*"]\n').outcome).toBe("pass");
    expect(verdictFor('  allowedRegistries: ["ghcr.io/other/*", docker.io]\n').violations).toEqual([
      {
        rule: "image.allowedRegistries",
        message:
          "ghcr.io/acme/shop:1.4.2 comes from ghcr.io, which is not among the allowed registries (ghcr.io/other/*, docker.io)",
        findingIds: [],
      },
    ]);
    expect(verdictFor("  allowedRegistries: [docker.io]\n", "nginx:1.27").outcome).toBe("pass");
    expect(verdictFor('  allowedRegistries: ["docker.io/library/*"]\n', "docker.io/nginx:1.27").outcome).toBe("pass");
    const local = verdictFor("  allowedRegistries: [ghcr.io]\n", "oci-archive:build/shop.tar");
    expect(local.outcome).toBe("pass");
    expect(local.warnings).toEqual([
      "image.allowedRegistries not checked: oci-archive:build/shop.tar was not pulled from a registry",
    ]);
  });

  it("latest tag or no tag", () => {
    expect(verdictFor("  disallowLatestTag: true\n").outcome).toBe("pass");
    expect(verdictFor("  disallowLatestTag: true\n", "ghcr.io/acme/shop:latest").violations[0]!.message).toBe(
      'ghcr.io/acme/shop:latest uses the "latest" tag; pin a version',
    );
    expect(verdictFor("  disallowLatestTag: true\n", "ghcr.io/acme/shop").violations[0]!.message).toBe(
      'ghcr.io/acme/shop has no tag, so it means "latest"; pin a version',
    );
    const pinned = `ghcr.io/acme/shop@sha256:${"a".repeat(64)}`;
    expect(verdictFor("  disallowLatestTag: true\n", pinned).outcome).toBe("pass");
  });

  it("runs as root: from the result, or from the image config when given", () => {
    expect(verdictFor("  disallowRoot: true\n").violations[0]!.message).toBe("the image runs as root (no USER is set)");
    expect(verdictFor("  disallowRoot: true\n", undefined, { user: "10001:10001" }).outcome).toBe("pass");
    expect(verdictFor("  disallowRoot: true\n", undefined, { user: "0:0" }).violations[0]!.message).toBe(
      "the image runs as root (USER 0:0)",
    );
    expect(verdictFor("  disallowRoot: true\n", undefined, { user: "root" }).outcome).toBe("fail");
  });

  it("required labels", () => {
    const verdict = verdictFor(
      "  requiredLabels: [org.opencontainers.image.source, org.opencontainers.image.revision]\n",
    );
    expect(verdict.violations[0]!.message).toBe("the image lacks required label org.opencontainers.image.revision");
  });

  it("image age", () => {
    expect(verdictFor("  maxAgeDays: 90\n").outcome).toBe("pass");
    expect(verdictFor("  maxAgeDays: 30\n").violations[0]!.message).toBe(
      "the image was created 61 days ago (2026-05-01T10:00:00Z), more than the 30 allowed; rebuild it",
    );
    const unknown = evaluatePolicy(
      { ...result, artifact: { ...result.artifact, created: undefined } },
      image("  maxAgeDays: 30\n"),
      { now: NOW },
    );
    expect(unknown.warnings).toEqual(["image.maxAgeDays not checked: the image has no creation time"]);
  });

  it("secrets in env and history fail without ever echoing the values", () => {
    const verdict = verdictFor("  disallowSecrets: true\n", undefined, leaky);
    expect(verdict.violations.map((violation) => violation.message)).toEqual([
      "the image environment holds secrets: AWS_ACCESS_KEY_ID (AWS access key id), AWS_SECRET_ACCESS_KEY (credential variable), DB_PASSWORD (credential variable) (values redacted)",
      "build history entry 1 holds secrets: GitHub token, GITHUB_TOKEN (credential variable) (values redacted); they stay readable in the image config even if a later step removes them",
      "build history entry 2 holds secrets: NPM_TOKEN (credential variable) (values redacted); they stay readable in the image config even if a later step removes them",
      "build history entry 3 holds secrets: private key (values redacted); they stay readable in the image config even if a later step removes them",
    ]);
    const everything = JSON.stringify(verdict);
    for (const secret of [AWS_KEY_ID, AWS_SECRET, GITHUB_TOKEN, DB_PASSWORD, "npm_fixture0123456789"]) {
      expect(everything).not.toContain(secret);
    }
  });

  it("secret checks need the image config and say so when it is missing", () => {
    const verdict = verdictFor("  disallowSecrets: true\n");
    expect(verdict.outcome).toBe("pass");
    expect(verdict.warnings).toEqual([
      "image.disallowSecrets not checked: the image config (environment, history) was not provided",
    ]);
  });
});

describe("secrets helpers", () => {
  it("imageConfigFacts reads an OCI config", () => {
    expect(
      imageConfigFacts({
        created: "2026-05-01T10:00:00Z",
        config: { User: "app", Env: ["A=1", "B=x=y", "EMPTY"], Labels: null },
        history: [{ created_by: "one" }, {}],
      }),
    ).toEqual({
      user: "app",
      labels: {},
      env: [
        { name: "A", value: "1" },
        { name: "B", value: "x=y" },
        { name: "EMPTY", value: "" },
      ],
      history: ["one", ""],
      created: "2026-05-01T10:00:00Z",
    });
  });

  it("redactSecrets keeps the line readable and removes the values", () => {
    expect(redactSecrets(`|2 NPM_TOKEN=abc123 VERSION=1.2 /bin/sh -c npm ci`)).toBe(
      "|2 NPM_TOKEN=[REDACTED] VERSION=1.2 /bin/sh -c npm ci",
    );
    expect(redactSecrets(`ENV GITHUB_TOKEN ${GITHUB_TOKEN}`)).toBe("ENV GITHUB_TOKEN [REDACTED]");
    expect(redactSecrets(`aws configure set key ${AWS_KEY_ID}`)).toBe("aws configure set key [REDACTED]");
    expect(detectInHistory("ENV REGISTRY_PASSWORD=${REGISTRY_PASSWORD}")).toEqual([]);
  });
});
