/**
 * One version string: wherever the docs, examples and CI templates install Stowaway (npm install,
 * npx, a template's default, the job image's tag, the orb and GitLab release references), they name
 * the version cli/package.json carries, so a copied snippet installs what was released with it
 * instead of whatever `latest` is on the day.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "./harness.js";

const version = (JSON.parse(readFileSync(path.join(root, "cli/package.json"), "utf8")) as { version: string }).version;

/** Text files users copy from: READMEs, docs, examples, CI templates and the Dockerfile. */
function userFacingFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(path.join(root, dir))) {
      const rel = path.join(dir, name);
      if (["node_modules", "dist", ".turbo", "test"].includes(name)) continue;
      // Plugin sources are code, except the orb's, which is the orb's YAML and scripts.
      if (name === "src" && dir !== "plugins/circleci-orb") continue;
      if (statSync(path.join(root, rel)).isDirectory()) walk(rel);
      else if (/\.(md|ya?ml|xml|txt|groovy|sh|kts)$|^Jenkinsfile|^Dockerfile$/.test(name)) files.push(rel);
    }
  };
  for (const dir of ["docs", "examples", "plugins", "docker"]) walk(dir);
  return [...files, "README.md", "cli/README.md", "core/README.md"];
}

describe(`every install of Stowaway in docs, examples and templates names ${version}`, () => {
  const files = userFacingFiles();

  it("finds the files to check (docs, examples, every adapter's templates)", () => {
    for (const file of [
      "README.md",
      "examples/registry-inventory/github-actions-schedule.yml",
      "plugins/gitlab-ci/templates/stowaway.gitlab-ci.yml",
      "plugins/circleci-orb/src/scripts/install.sh",
      "plugins/teamcity/meta-runners/Stowaway_Scan.xml",
      "docker/Dockerfile",
    ]) {
      expect(files).toContain(file);
    }
  });

  it("npm install / npx lines pin each @stowaway package to the version or a variable defaulting to it", () => {
    const unpinned: string[] = [];
    for (const file of files) {
      readFileSync(path.join(root, file), "utf8")
        .split("\n")
        .forEach((line, index) => {
          if (!/\bnpm (install|i|exec)\b|\bnpx\b/.test(line)) return;
          for (const match of line.matchAll(/(?<!-w )@stowaway\/(?:cli|core|plugin-[a-z-]+)(@[^\s`'"),]*)?/g)) {
            const pin = match[1] ?? "";
            if (pin !== `@${version}` && !pin.startsWith("@$")) unpinned.push(`${file}:${index + 1}: ${match[0]}`);
          }
        });
    }
    expect(unpinned).toEqual([]);
  });

  it("template defaults, image tags and release references carry the same version", () => {
    const wrong: string[] = [];
    const patterns = [
      /\$\{STOWAWAY(?:_PARAM)?_VERSION:-([^}]+)\}/g, // shell defaults in the GitLab template and the orb
      /ARG STOWAWAY_VERSION=(\S+)/g, // docker/Dockerfile
      /ghcr\.io\/stowaway-dev\/stowaway:([\w.-]+)/g, // the job image
      /stowaway\/stowaway@([\w.]+)/g, // the orb reference
      /stowaway-gitlab\/-\/raw\/v([\w.]+)\//g, // the GitLab template's release tag
      /stowaway-gitlab\/stowaway@([\w.]+)/g, // the GitLab component's release
    ];
    for (const file of files) {
      const text = readFileSync(path.join(root, file), "utf8");
      for (const pattern of patterns) {
        for (const match of text.matchAll(pattern)) {
          const found = match[1]!.replace(/-db$/, "");
          if (found !== version && !found.startsWith("$")) wrong.push(`${file}: ${match[0]}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    // The `version` input/parameter of the GitLab component and the orb defaults to it as well.
    for (const file of [
      "plugins/gitlab-ci/templates/stowaway/template.yml",
      "plugins/circleci-orb/src/commands/scan.yml",
      "plugins/circleci-orb/src/jobs/scan.yml",
    ]) {
      expect(readFileSync(path.join(root, file), "utf8"), file).toMatch(
        new RegExp(`\\n( +)version:\\n(?:\\1 +.*\\n)*?\\1 +default: "?${version.replace(/\./g, "\\.")}"?\\n`),
      );
    }
  });
});
