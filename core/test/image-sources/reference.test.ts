import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageError } from "../../src/errors.js";
import { parseRegistryReference, parseTarget } from "../../src/image/reference.js";
import {
  buildImage,
  buildLayer,
  writeDockerArchive,
  writeOciArchive,
  writeOciLayout,
  writeTar,
} from "../helpers/image-builder.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

const D = `sha256:${"a".repeat(64)}`;

describe("parseRegistryReference", () => {
  it.each([
    ["alpine", { registry: "registry-1.docker.io", repository: "library/alpine", tag: "latest" }],
    ["alpine:3.19", { registry: "registry-1.docker.io", repository: "library/alpine", tag: "3.19" }],
    ["bitnami/redis:7", { registry: "registry-1.docker.io", repository: "bitnami/redis", tag: "7" }],
    ["docker.io/alpine", { registry: "registry-1.docker.io", repository: "library/alpine", tag: "latest" }],
    ["index.docker.io/library/alpine:1", { registry: "registry-1.docker.io", repository: "library/alpine", tag: "1" }],
    ["docker.io/grafana/grafana", { registry: "registry-1.docker.io", repository: "grafana/grafana", tag: "latest" }],
    ["localhost/app", { registry: "localhost", repository: "app", tag: "latest" }],
    ["localhost:5000/x:y", { registry: "localhost:5000", repository: "x", tag: "y" }],
    ["ghcr.io/org/team/app:v1.2.3", { registry: "ghcr.io", repository: "org/team/app", tag: "v1.2.3" }],
    ["registry.example.com:8443/a/b", { registry: "registry.example.com:8443", repository: "a/b", tag: "latest" }],
    ["myhost:5000/app@" + D, { registry: "myhost:5000", repository: "app", digest: D }],
    ["alpine@" + D, { registry: "registry-1.docker.io", repository: "library/alpine", digest: D }],
    ["alpine:3.19@" + D, { registry: "registry-1.docker.io", repository: "library/alpine", tag: "3.19", digest: D }],
    ["[::1]:5000/app:1", { registry: "[::1]:5000", repository: "app", tag: "1" }],
    ["my_org/app__x", { registry: "registry-1.docker.io", repository: "my_org/app__x", tag: "latest" }],
  ])("%s", (text, expected) => {
    expect(parseRegistryReference(text)).toEqual(expected);
  });

  it.each([
    ["Alpine", /lowercase/],
    ["alpine:", /tag/],
    ["alpine:-bad", /tag/],
    ["alpine@sha256:1234", /not a valid sha256/],
    ["ghcr.io/", /empty/],
    ["a//b", /not a valid repository path component/],
  ])("rejects %s with a one-line ImageError", (text, message) => {
    expect(() => parseRegistryReference(text)).toThrow(ImageError);
    expect(() => parseRegistryReference(text)).toThrow(message);
  });
});

describe("parseTarget", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "stowaway-ref-"));
    const image = buildImage({ layers: [await buildLayer([{ path: "etc/hostname", content: "x\n" }])] });
    await writeDockerArchive(path.join(dir, "docker.tar"), [{ image, repoTags: ["app:1"] }]);
    await writeDockerArchive(path.join(dir, "docker25.tar"), [{ image, repoTags: ["app:1"] }], "oci");
    await writeOciArchive(path.join(dir, "oci.tar"), { images: [{ image, tag: "1" }] });
    await writeOciLayout(path.join(dir, "layout"), { images: [{ image, tag: "1" }] });
    await writeTar(path.join(dir, "index-and-manifest.tar"), [
      { path: "index.json", content: "{}" },
      { path: "manifest.json", content: "[]" },
    ]);
    await writeTar(path.join(dir, "notes.tar"), [{ path: "notes.txt", content: "hi" }]);
    await writeFile(path.join(dir, "docker.tar.gz"), gzipSync(readFileSync(path.join(dir, "docker.tar"))));
    await mkdir(path.join(dir, "empty-dir"));
    await writeFile(path.join(dir, "sbom.json"), "{}");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("parses explicit prefixes without touching the filesystem", () => {
    expect(parseTarget("oci-archive:/no/such.tar")).toMatchObject({ kind: "oci-archive", path: "/no/such.tar" });
    expect(parseTarget("docker-archive:img.tar")).toMatchObject({ kind: "docker-archive", path: "img.tar" });
    expect(parseTarget("sbom:bom.cdx.json")).toMatchObject({ kind: "sbom", path: "bom.cdx.json" });
    expect(parseTarget("oci:/layouts/app:1.0")).toMatchObject({ kind: "oci-dir", path: "/layouts/app", tag: "1.0" });
    expect(parseTarget(`oci:/layouts/app@${D}`)).toMatchObject({ kind: "oci-dir", path: "/layouts/app", digest: D });
    expect(parseTarget("oci:relative/dir")).toEqual({
      kind: "oci-dir",
      path: "relative/dir",
      reference: "oci:relative/dir",
    });
  });

  it("keeps what the user typed as the reference", () => {
    expect(parseTarget("alpine")).toEqual({
      kind: "registry",
      reference: "alpine",
      ref: { registry: "registry-1.docker.io", repository: "library/alpine", tag: "latest" },
    });
    expect(parseTarget("registry:localhost:5000/x:y")).toMatchObject({
      kind: "registry",
      ref: { registry: "localhost:5000", repository: "x", tag: "y" },
    });
    expect(parseTarget("docker://ghcr.io/a/b:1")).toMatchObject({ kind: "registry", ref: { registry: "ghcr.io" } });
    // "docker:dind" is the docker image, not a daemon transport.
    expect(parseTarget("docker:dind")).toMatchObject({
      kind: "registry",
      ref: { repository: "library/docker", tag: "dind" },
    });
  });

  it("autodetects bare paths", () => {
    expect(parseTarget(path.join(dir, "docker.tar")).kind).toBe("docker-archive");
    expect(parseTarget(path.join(dir, "docker25.tar")).kind).toBe("oci-archive");
    expect(parseTarget(path.join(dir, "oci.tar")).kind).toBe("oci-archive");
    expect(parseTarget(path.join(dir, "layout")).kind).toBe("oci-dir");
    // index.json without oci-layout is not an OCI layout for sure; manifest.json decides.
    expect(parseTarget(path.join(dir, "index-and-manifest.tar")).kind).toBe("docker-archive");
    expect(parseTarget(path.join(dir, "docker.tar.gz")).kind).toBe("archive");
  });

  it.each([
    ["notes.tar", /not an image archive/],
    ["empty-dir", /not an OCI image layout/],
    ["sbom.json", /not a tar archive/],
    ["missing.tar", /no such file/],
  ])("rejects %s clearly", (name, message) => {
    expect(() => parseTarget(path.join(dir, name))).toThrow(message);
    expect(() => parseTarget(path.join(dir, name))).toThrow(ImageError);
  });

  it("rejects empty targets and daemon transports", () => {
    expect(() => parseTarget("  ")).toThrow(/no image given/);
    expect(() => parseTarget("docker-daemon:alpine")).toThrow(/not supported/);
    expect(() => parseTarget("oci-archive:")).toThrow(/needs a path/);
  });
});

describeWithShared("parseTarget on the shared fixtures", () => {
  it.each([
    ["images/snyk-docker-plugin/docker-archives/docker-save/nginx.tar", "docker-archive"],
    ["images/snyk-docker-plugin/docker-archives/docker-save/hello-world.tar", "oci-archive"],
    ["images/snyk-docker-plugin/kaniko-archives/kaniko-busybox.tar", "docker-archive"],
    ["images/snyk-docker-plugin/containerd-archives/alpine.tar", "oci-archive"],
    ["images/debian/bookworm-minbase.oci-archive.tar", "oci-archive"],
    ["images/stereoscope/oci/testdata/valid_oci_dir", "oci-dir"],
    ["images/trivy/oci-layouts/test.oci", "oci-dir"],
    ["images/trivy/alpine-310.tar.gz", "archive"],
  ])("%s is %s", (file, kind) => {
    expect(parseTarget(sharedPath(file)).kind).toBe(kind);
  });
});
