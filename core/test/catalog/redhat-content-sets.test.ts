import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { createOsDetector } from "../../src/catalog/index.js";
import { MemoryView } from "../helpers/memory-view.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

/*
 * Red Hat product streams from content manifests (R9, docs/distro-matching.md "Product streams").
 * The expected CPEs are Red Hat's names for the streams, written out here by hand.
 */

const detector = createOsDetector();

function detect(files: Record<string, string | Buffer>): {
  os: ReturnType<typeof detector.detect>;
  warnings: string[];
} {
  const warnings: string[] = [];
  return { os: detector.detect(new MemoryView(files), warnings), warnings };
}

function manifest(contentSets: unknown): string {
  return JSON.stringify({
    metadata: { icm_version: 1, image_layer_index: 1 },
    content_sets: contentSets,
    image_contents: [],
  });
}

describeWithShared("Red Hat content sets → product-stream CPEs", () => {
  const rhel8 = () => readFileSync(sharedPath("fixtures/syft/linux/testdata/rhel-8"));

  it("maps every layer's manifest, mainline and suffixed EUS sets alike", () => {
    const { os, warnings } = detect({
      "etc/os-release": rhel8(),
      "root/buildinfo/content_manifests/ubi8-minimal-container-8.1-1.json": manifest([
        "rhel-8-for-x86_64-baseos-rpms",
        "rhel-8-for-x86_64-appstream-rpms",
      ]),
      "root/buildinfo/content_manifests/app-1.0-1.json": manifest([
        "rhel-8-for-x86_64-baseos-eus-rpms__8_DOT_8",
        "codeready-builder-for-rhel-8-x86_64-rpms",
        "rhel-8-for-x86_64-baseos-source-rpms",
      ]),
    });
    expect(warnings).toEqual([]);
    expect(os.contentSets).toEqual([
      "codeready-builder-for-rhel-8-x86_64-rpms",
      "rhel-8-for-x86_64-appstream-rpms",
      "rhel-8-for-x86_64-baseos-eus-rpms__8_DOT_8",
      "rhel-8-for-x86_64-baseos-rpms",
      "rhel-8-for-x86_64-baseos-source-rpms",
    ]);
    expect(os.cpes).toEqual([
      "cpe:/a:redhat:enterprise_linux:8::appstream",
      "cpe:/a:redhat:enterprise_linux:8::crb",
      "cpe:/o:redhat:enterprise_linux:8::baseos",
      "cpe:/o:redhat:rhel_eus:8.8::baseos",
    ]);
    expect(os.ecosystem).toBe("Red Hat:enterprise_linux:8::appstream");
  });

  it("falls back to the release's BaseOS and AppStream without a manifest (R9)", () => {
    const { os } = detect({ "etc/os-release": rhel8() });
    expect(os.contentSets).toEqual(["rhel-8-for-x86_64-baseos-rpms", "rhel-8-for-x86_64-appstream-rpms"]);
    expect(os.cpes).toEqual([
      "cpe:/a:redhat:enterprise_linux:8::appstream",
      "cpe:/o:redhat:enterprise_linux:8::baseos",
    ]);
  });

  it("names what it cannot map, and ignores manifests it cannot read", () => {
    const { os, warnings } = detect({
      "etc/os-release": rhel8(),
      "root/buildinfo/content_manifests/a.json": manifest(["rhel-8-for-x86_64-baseos-rpms", "some-partner-repo-rpms"]),
      "root/buildinfo/content_manifests/b.json": "{ not json",
      "root/buildinfo/content_manifests/c.json": manifest("not a list"),
    });
    expect(os.cpes).toEqual(["cpe:/o:redhat:enterprise_linux:8::baseos"]);
    expect(warnings).toEqual([
      expect.stringMatching(/content_manifests\/b\.json: content manifest is not JSON/),
      expect.stringMatching(/content_manifests\/c\.json: content manifest has no content_sets list/),
      expect.stringMatching(/no Red Hat product stream known for content set\(s\) some-partner-repo-rpms/),
    ]);
  });

  it("gives Red Hat derivatives RHEL's mainline streams of their major release, never their content manifests", () => {
    const { os } = detect({
      "etc/os-release": readFileSync(sharedPath("fixtures/os-release/trivy/release/rocky")),
      "root/buildinfo/content_manifests/a.json": manifest(["rhel-9-for-x86_64-appstream-aus-rpms__9_DOT_2"]),
    });
    expect(os.ecosystem).toBe("Rocky Linux:9");
    expect(os.contentSets).toBeUndefined();
    // docs/distro-matching.md "Rebuilds and derivatives".
    expect(os.cpes).toEqual([
      "cpe:/a:redhat:enterprise_linux:9::appstream",
      "cpe:/o:redhat:enterprise_linux:9::baseos",
    ]);
  });

  it("leaves other rpm distros alone", () => {
    const { os } = detect({
      "etc/os-release": readFileSync(sharedPath("fixtures/os-release/trivy/release/fedora")),
      "root/buildinfo/content_manifests/a.json": manifest(["rhel-9-for-x86_64-baseos-rpms"]),
    });
    expect(os.family).toBe("fedora");
    expect(os.cpes).toBeUndefined();
  });
});
