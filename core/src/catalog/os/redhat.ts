import type { FileView } from "../types.js";
import { warning } from "../warnings.js";
import { REPOSITORY_TO_CPE } from "./repository-to-cpe.js";

/**
 * Red Hat product streams of an image (R9, docs/distro-matching.md "Product streams"): the content
 * sets (repositories) its layers were built from, as recorded in
 * `root/buildinfo/content_manifests/*.json`, mapped to the CPEs that Red Hat's advisories name.
 */
// File names are restricted so a path quoted in a warning carries no terminal control characters.
const CONTENT_MANIFEST = /^root\/buildinfo\/content_manifests\/[A-Za-z0-9_.+-]+\.json$/;
const MAX_SETS = 200;

export function isContentManifest(path: string): boolean {
  return path.startsWith("root/buildinfo/") && CONTENT_MANIFEST.test(path);
}

/** Every content set the image's content manifests list (all layers: each build adds its own file). */
export function readContentSets(view: FileView, warnings: string[], source: string): string[] {
  const sets = new Set<string>();
  for (const path of view.list(isContentManifest)) {
    const content = view.read(path);
    if (!content) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(content.toString("utf8"));
    } catch {
      warnings.push(warning(source, path, "content manifest is not JSON; its content sets are ignored"));
      continue;
    }
    const list = (parsed as { content_sets?: unknown } | null)?.content_sets;
    if (!Array.isArray(list)) {
      warnings.push(warning(source, path, "content manifest has no content_sets list; ignored"));
      continue;
    }
    for (const set of list) {
      if (typeof set === "string" && /^[A-Za-z0-9_.-]{1,200}$/.test(set) && sets.size < MAX_SETS) sets.add(set);
    }
  }
  return [...sets].sort();
}

/**
 * Distros built from Red Hat's sources whose images are matched against Red Hat's data for the same
 * major release (docs/distro-matching.md "Rebuilds and derivatives"): Rocky Linux, AlmaLinux,
 * CentOS (Linux and Stream) and Oracle Linux, by os-release ID.
 */
export const RED_HAT_DERIVATIVES: ReadonlySet<string> = new Set(["rocky", "almalinux", "centos", "ol"]);

/** R9 fallback when an image carries no content manifest: the release's BaseOS and AppStream. */
export function defaultContentSets(major: string | undefined): string[] {
  if (major === "7") return ["rhel-7-server-rpms"];
  if (major === "8" || major === "9" || major === "10") {
    return [`rhel-${major}-for-x86_64-baseos-rpms`, `rhel-${major}-for-x86_64-appstream-rpms`];
  }
  return [];
}

/** Naming rules for content sets missing from the bundled mapping (the mainline repositories). */
function derivedCpes(set: string): string[] {
  const main = /^rhel-(\d+)-for-[a-z0-9_]+-(baseos|appstream)-rpms$/.exec(set);
  if (main) return [`cpe:/${main[2] === "baseos" ? "o" : "a"}:redhat:enterprise_linux:${main[1]}::${main[2]}`];
  const crb = /^codeready-builder-for-rhel-(\d+)-[a-z0-9_]+-rpms$/.exec(set);
  if (crb) return [`cpe:/a:redhat:enterprise_linux:${crb[1]}::crb`];
  return [];
}

/**
 * CPEs of the content sets: the mapping's entry, else the entry without a `__8_DOT_6`-style
 * suffix, else the naming rules. Source, debug and unknown repositories add nothing.
 */
export function contentSetCpes(sets: string[], warnings: string[], source: string): string[] {
  const cpes = new Set<string>();
  const unknown: string[] = [];
  for (const set of sets) {
    if (/-(source|debug)-rpms/.test(set)) continue;
    const found =
      REPOSITORY_TO_CPE.data[set]?.cpes ??
      REPOSITORY_TO_CPE.data[set.replace(/__\d+(_DOT_\d+)*$/, "")]?.cpes ??
      derivedCpes(set.replace(/__\d+(_DOT_\d+)*$/, ""));
    if (found.length === 0) unknown.push(set);
    for (const cpe of found) cpes.add(cpe);
  }
  if (unknown.length > 0) {
    warnings.push(
      warning(
        source,
        undefined,
        `no Red Hat product stream known for content set(s) ${unknown.slice(0, 5).join(", ")}; their packages are matched against the other streams only`,
      ),
    );
  }
  return [...cpes].sort();
}
