// The library's subpaths, not its root: the root also loads Validation and Contrib (ajv, XML
// probes), about two thirds of its start-up cost, which a JSON writer never uses.
// Loaded when a CycloneDX document is written, not when core is imported (README "Caching and speed").
import type * as Enums from "@cyclonedx/cyclonedx-library/Enums";
import type * as Models from "@cyclonedx/cyclonedx-library/Models";
import type * as Serialize from "@cyclonedx/cyclonedx-library/Serialize";
import type * as Spec from "@cyclonedx/cyclonedx-library/Spec";
import { lazyDependency } from "../lazy-dependency.js";
import type { Package } from "../catalog/types.js";
import type { CvssScore, Finding, ScanResult, Suppression } from "../result.js";
import { jsonLogSafe } from "./escape.js";
import type { Severity } from "../vulndb/osv.js";
import {
  PROPERTY,
  documentUuid,
  hasKnownOs,
  imageIdentity,
  isOsPackage,
  normalizeSpdxExpression,
  platformString,
  sourcePackageValue,
  splitDigest,
  spdxLicenseId,
  type SbomRenderOptions,
} from "./sbom/common.js";

export type CycloneDxOptions = SbomRenderOptions;

/* eslint-disable @typescript-eslint/no-require-imports -- see lazyDependency */
const library = {
  Enums: lazyDependency<typeof Enums>("@cyclonedx/cyclonedx-library/Enums", () =>
    require("@cyclonedx/cyclonedx-library/Enums"),
  ),
  Models: lazyDependency<typeof Models>("@cyclonedx/cyclonedx-library/Models", () =>
    require("@cyclonedx/cyclonedx-library/Models"),
  ),
  Serialize: lazyDependency<typeof Serialize>("@cyclonedx/cyclonedx-library/Serialize", () =>
    require("@cyclonedx/cyclonedx-library/Serialize"),
  ),
  Spec: lazyDependency<typeof Spec>("@cyclonedx/cyclonedx-library/Spec", () =>
    require("@cyclonedx/cyclonedx-library/Spec"),
  ),
};
/* eslint-enable @typescript-eslint/no-require-imports */

let loaded: ReturnType<typeof load> | undefined;

/** The library's classes and enums, plus the tables built from them, on first use. */
function cdx(): ReturnType<typeof load> {
  return (loaded ??= load());
}

function load() {
  const Enums = library.Enums();
  const { RatingMethod, Severity: CdxSeverity } = Enums.Vulnerability;
  const CVSS_METHOD: Record<CvssScore["version"], Enums.Vulnerability.RatingMethod> = {
    "2.0": RatingMethod.CVSSv2,
    "3.0": RatingMethod.CVSSv3,
    "3.1": RatingMethod.CVSSv31,
    "4.0": RatingMethod.CVSSv4,
  };
  // CycloneDX has no "negligible": distros use it for issues they judge not worth fixing, which is
  // what "info" (informational) conveys.
  const SEVERITY: Record<Severity, Enums.Vulnerability.Severity> = {
    critical: CdxSeverity.Critical,
    high: CdxSeverity.High,
    medium: CdxSeverity.Medium,
    low: CdxSeverity.Low,
    negligible: CdxSeverity.Info,
    unknown: CdxSeverity.Unknown,
  };
  const Models = library.Models();
  return {
    Enums,
    Models,
    Serialize: library.Serialize(),
    Spec: library.Spec(),
    ComponentType: Enums.ComponentType,
    HashAlgorithm: Enums.HashAlgorithm,
    AnalysisState: Enums.Vulnerability.AnalysisState,
    V: Models.Vulnerability,
    CVSS_METHOD,
    SEVERITY,
  };
}

/**
 * CycloneDX 1.6 JSON of a scan: the image as metadata.component, its OS as an operating-system
 * component, one library component per package (bom-ref = package id) and, once a vulnerability
 * database was used, one vulnerability per finding.
 *
 * serialNumber is a UUIDv5 of the image digest and the scan content (see documentUuid): reruns over
 * the same inventory give the same serial, a changed inventory or finding set a new one.
 */
export function renderCycloneDx(result: ScanResult, options: CycloneDxOptions = {}): string {
  const { Models, Serialize, Spec, ComponentType } = cdx();
  const bom = new Models.Bom({ serialNumber: `urn:uuid:${documentUuid(result, "cyclonedx-1.6")}` });
  bom.metadata.timestamp = options.timestamp ?? new Date();
  bom.metadata.tools.components.add(
    new Models.Component(ComponentType.Application, result.scanner.name, { version: result.scanner.version }),
  );

  const image = imageComponent(result);
  bom.metadata.component = image;

  let osComponent: Models.Component | undefined;
  if (hasKnownOs(result)) {
    osComponent = operatingSystemComponent(result);
    bom.components.add(osComponent);
    image.dependencies.add(osComponent.bomRef);
  }

  const byId = new Map<string, Models.Component>();
  const layerDigests = new Map(result.artifact.layers.map((layer) => [layer.index, layer.digest]));
  for (const pkg of result.packages) {
    const component = packageComponent(pkg, layerDigests.get(pkg.layerIndex));
    bom.components.add(component);
    byId.set(pkg.id, component);
    image.dependencies.add(component.bomRef);
    if (osComponent && isOsPackage(pkg)) component.dependencies.add(osComponent.bomRef);
  }

  const suppressed = new Map((result.policy?.suppressed ?? []).map((entry) => [entry.findingId, entry]));
  for (const finding of result.findings ?? []) {
    const component = byId.get(finding.packageId);
    bom.vulnerabilities.add(vulnerability(finding, component, suppressed.get(finding.findingId)));
  }

  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  // Input order is already stable (packages come sorted from the inventory); keep it readable.
  return `${jsonLogSafe(serializer.serialize(bom, { sortLists: false, space: 2 }))}\n`;
}

function property(name: string, value: string): Models.Property {
  const { Models } = cdx();
  return new Models.Property(name, value);
}

function imageComponent(result: ScanResult): Models.Component {
  const { Models, ComponentType, HashAlgorithm } = cdx();
  const { artifact } = result;
  const identity = imageIdentity(result);
  const component = new Models.Component(ComponentType.Container, identity.name, {
    bomRef: identity.purl || artifact.manifestDigest || "image",
    ...(artifact.manifestDigest ? { version: artifact.manifestDigest } : {}),
    ...(identity.purl ? { purl: identity.purl } : {}),
  });
  const digest = splitDigest(artifact.manifestDigest);
  if (digest) {
    component.hashes.set(
      digest.algorithm === "sha256" ? HashAlgorithm["SHA-256"] : HashAlgorithm["SHA-512"],
      digest.hex,
    );
  }
  const properties = component.properties;
  if (artifact.configDigest) properties.add(property(PROPERTY.configDigest, artifact.configDigest));
  const platform = platformString(result);
  if (platform) properties.add(property(PROPERTY.platform, platform));
  const { os } = artifact;
  if (os.family) properties.add(property(PROPERTY.osFamily, os.family));
  if (os.version) properties.add(property(PROPERTY.osVersion, os.version));
  if (os.codename) properties.add(property(PROPERTY.osCodename, os.codename));
  if (os.ecosystem) properties.add(property(PROPERTY.osEcosystem, os.ecosystem));
  // One property per layer, in order, so a reader can map stowaway:layerIndex back to a digest.
  for (const layer of artifact.layers) {
    properties.add(property(PROPERTY.layer, `${layer.index} ${layer.digest} ${layer.diffId}`));
  }
  return component;
}

function operatingSystemComponent(result: ScanResult): Models.Component {
  const { Models, ComponentType } = cdx();
  const { os } = result.artifact;
  const component = new Models.Component(ComponentType.OperatingSystem, os.family, {
    bomRef: `os:${os.family}${os.version ? `@${os.version}` : ""}`,
    ...(os.version ? { version: os.version } : {}),
    ...(os.prettyName ? { description: os.prettyName } : {}),
  });
  if (os.codename) component.properties.add(property(PROPERTY.osCodename, os.codename));
  if (os.ecosystem) component.properties.add(property(PROPERTY.osEcosystem, os.ecosystem));
  return component;
}

function packageComponent(pkg: Package, layerDigest: string | undefined): Models.Component {
  const { Models, ComponentType } = cdx();
  const component = new Models.Component(ComponentType.Library, pkg.name, {
    bomRef: pkg.id,
    ...(pkg.version ? { version: pkg.version } : {}),
    ...(pkg.purl ? { purl: pkg.purl } : {}),
  });
  for (const license of licenses(pkg.licenses ?? [])) component.licenses.add(license);
  const properties = component.properties;
  // Written even when empty: a third-party deb has no ecosystem on purpose, and a reader deriving
  // one from its purl would match it against the distro feed (docs/matching-rules.md §3.1).
  properties.add(property(PROPERTY.ecosystem, pkg.ecosystem));
  properties.add(property(PROPERTY.layerIndex, String(pkg.layerIndex)));
  if (layerDigest) properties.add(property(PROPERTY.layerDigest, layerDigest));
  for (const location of pkg.locations) properties.add(property(PROPERTY.location, location));
  const source = sourcePackageValue(pkg);
  if (source) properties.add(property(PROPERTY.sourcePackage, source));
  if (pkg.bundled) properties.add(property(PROPERTY.bundled, "true"));
  return component;
}

/**
 * CycloneDX allows either a list of single licenses or exactly one expression. A lone compound
 * expression becomes an expression; otherwise each entry is an SPDX id when it is one and a named
 * license when not (a compound expression among several is kept verbatim as a name).
 */
function licenses(values: string[]): Models.License[] {
  const { Models } = cdx();
  const cleaned = [...new Set(values.map((value) => value.trim()).filter(Boolean))];
  if (cleaned.length === 1) {
    const id = spdxLicenseId(cleaned[0]!);
    if (!id) {
      const expression = normalizeSpdxExpression(cleaned[0]!);
      if (expression) return [new Models.LicenseExpression(expression)];
    }
  }
  return cleaned.map((value) => {
    const id = spdxLicenseId(value);
    return id ? new Models.SpdxLicense(id) : new Models.NamedLicense(value);
  });
}

// Suppressions from VEX documents assert the product is not affected; other sources (policy
// exceptions, ignore files) only say the user accepted the finding, so they carry no state and the
// reason goes to `detail`, rather than claiming "not_affected" or "false_positive" on their behalf.
const VEX_SOURCES = new Set(["openvex", "vex", "cyclonedx-vex", "csaf"]);

function vulnerability(
  finding: Finding,
  component: Models.Component | undefined,
  suppression: Suppression | undefined,
): Models.Vulnerability.Vulnerability {
  const { Enums, V, CVSS_METHOD, SEVERITY, AnalysisState } = cdx();
  const vuln = new V.Vulnerability({
    bomRef: finding.findingId,
    id: finding.id,
    source: vulnerabilitySource(finding.id, finding.match.dataSource),
    ...(finding.summary ? { description: finding.summary } : {}),
    recommendation: recommendation(finding),
  });
  for (const alias of finding.aliases) {
    if (alias !== finding.id) vuln.references.add(new V.Reference(alias, vulnerabilitySource(alias, undefined)));
  }
  if (finding.match.recordId !== finding.id && !finding.aliases.includes(finding.match.recordId)) {
    vuln.references.add(
      new V.Reference(finding.match.recordId, vulnerabilitySource(finding.match.recordId, finding.match.dataSource)),
    );
  }
  for (const cvss of finding.cvss) {
    vuln.ratings.add(
      new V.Rating({
        source: new V.Source({ name: cvss.source }),
        score: cvss.score,
        method: CVSS_METHOD[cvss.version],
        vector: cvss.vector,
      }),
    );
  }
  for (const rating of finding.severities) {
    vuln.ratings.add(
      new V.Rating({ source: new V.Source({ name: rating.source }), severity: SEVERITY[rating.severity] }),
    );
  }
  if (!finding.severities.some((rating) => rating.source === finding.severitySource)) {
    vuln.ratings.add(
      new V.Rating({ source: new V.Source({ name: finding.severitySource }), severity: SEVERITY[finding.severity] }),
    );
  }
  for (const url of finding.references ?? []) {
    if (/^https?:\/\//.test(url)) vuln.advisories.add(new V.Advisory(url));
  }
  if (component) {
    vuln.affects.add(
      new V.Affect(component.bomRef, {
        versions: new V.AffectedVersionRepository([
          new V.AffectedSingleVersion(finding.installedVersion, { status: Enums.Vulnerability.AffectStatus.Affected }),
        ]),
      }),
    );
  }
  vuln.properties.add(property(PROPERTY.findingId, finding.findingId));
  if (finding.kev) vuln.properties.add(property(PROPERTY.kev, "true"));
  if (finding.epss) vuln.properties.add(property(PROPERTY.epss, String(finding.epss.score)));
  if (suppression) {
    const detail = [
      `suppressed by ${suppression.source}`,
      suppression.reason,
      suppression.expires && `until ${suppression.expires}`,
    ]
      .filter(Boolean)
      .join(": ");
    vuln.analysis = new V.Analysis({
      ...(VEX_SOURCES.has(suppression.source) ? { state: AnalysisState.NotAffected } : {}),
      detail,
    });
    vuln.properties.add(property(PROPERTY.suppressed, suppression.source));
  }
  return vuln;
}

function vulnerabilitySource(id: string, dataSource: string | undefined): Models.Vulnerability.Source {
  const { V } = cdx();
  if (/^CVE-\d+-\d+$/.test(id)) return new V.Source({ name: "NVD", url: `https://nvd.nist.gov/vuln/detail/${id}` });
  if (/^GHSA-/.test(id)) return new V.Source({ name: "GitHub", url: `https://github.com/advisories/${id}` });
  return new V.Source({
    name: dataSource ?? "OSV",
    url: `https://osv.dev/vulnerability/${encodeURIComponent(id)}`,
  });
}

function recommendation(finding: Finding): string {
  if (finding.fixedVersion) return `Upgrade ${finding.packageName} to ${finding.fixedVersion} or later`;
  if (finding.esmFixedVersion) {
    return `Fixed in ESM only (${finding.esmFixedVersion}): attach Ubuntu Pro to receive it`;
  }
  switch (finding.status) {
    case "will_not_fix":
      return "No fix: the distribution will not fix this";
    case "fix_deferred":
      return "No fix yet: the distribution deferred the fix";
    case "end_of_life":
      return "No fix: the release is end of life; move to a supported release";
    default:
      return "No fixed version is known yet";
  }
}
