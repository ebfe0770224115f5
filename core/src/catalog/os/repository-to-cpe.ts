/**
 * A small extract of Red Hat's content-set → CPE mapping, in the published file's own shape
 * (`{ "data": { "<content set>": { "cpes": [...] } } }`, served at
 * https://security.access.redhat.com/data/meta/v1/repository-to-cpe.json). Each entry carries the
 * product-stream CPE Red Hat lists for the repository (e.g. rhel-8-for-x86_64-baseos-rpms →
 * cpe:/o:redhat:enterprise_linux:8::baseos); the published file also lists minor-release CPEs,
 * left out here. Content sets missing from this extract fall back to the naming rules in
 * `redhat.ts`, with a warning. docs/distro-matching.md "Product streams".
 */
export interface RepositoryToCpe {
  data: Record<string, { cpes: string[] }>;
}

const ARCHES = ["x86_64", "aarch64", "ppc64le", "s390x"];

function mainline(major: number): Array<[string, string[]]> {
  return ARCHES.flatMap((arch): Array<[string, string[]]> => [
    [`rhel-${major}-for-${arch}-baseos-rpms`, [`cpe:/o:redhat:enterprise_linux:${major}::baseos`]],
    [`rhel-${major}-for-${arch}-appstream-rpms`, [`cpe:/a:redhat:enterprise_linux:${major}::appstream`]],
    [`codeready-builder-for-rhel-${major}-${arch}-rpms`, [`cpe:/a:redhat:enterprise_linux:${major}::crb`]],
  ]);
}

function extended(kind: "eus" | "aus" | "e4s" | "tus", minor: string): Array<[string, string[]]> {
  const dotted = minor.replace(".", "_DOT_");
  const major = minor.split(".")[0];
  return [
    [`rhel-${major}-for-x86_64-baseos-${kind}-rpms__${dotted}`, [`cpe:/o:redhat:rhel_${kind}:${minor}::baseos`]],
    [`rhel-${major}-for-x86_64-appstream-${kind}-rpms__${dotted}`, [`cpe:/a:redhat:rhel_${kind}:${minor}::appstream`]],
  ];
}

export const REPOSITORY_TO_CPE: RepositoryToCpe = {
  data: Object.fromEntries([
    ["rhel-7-server-rpms", { cpes: ["cpe:/o:redhat:enterprise_linux:7::server"] }],
    ...[...mainline(8), ...mainline(9)].map(([set, cpes]) => [set, { cpes }]),
    ...(["eus", "aus", "e4s", "tus"] as const)
      .flatMap((kind) => ["8.6", "8.8", "9.0", "9.2", "9.4"].flatMap((minor) => extended(kind, minor)))
      .map(([set, cpes]) => [set, { cpes }]),
  ]),
};
