import type { Package } from "../catalog/types.js";
import type { Artifact } from "../result.js";

/** What an SBOM file yields: the packages to match and the artifact they describe. */
export interface SbomInventory {
  /**
   * From the SBOM's main component / described package. Fields the SBOM does not record stay empty:
   * manifestDigest/configDigest "", platform os/architecture "", os.family "unknown", layers [].
   */
  artifact: Artifact;
  /** One per component/package with a usable package URL; layerIndex is -1 when the SBOM does not say. */
  packages: Package[];
  /** "sbom: <file>: <what>" lines about skipped or doubtful input. */
  warnings: string[];
  /** The format read, e.g. "CycloneDX 1.6", "SPDX-2.3". */
  format: string;
}

/** One element (CycloneDX component or SPDX package) as the format readers hand it over. */
export interface SbomElement {
  /** bom-ref or SPDXID, for warnings and stable ids. */
  ref: string;
  name: string;
  version?: string;
  purl?: string;
  licenses: string[];
  /** `key=value` facts: CycloneDX properties, or Stowaway's SPDX annotation lines. */
  properties: [string, string][];
  /** SPDX sourceInfo, e.g. "built package from: openssl 1:1.0.2k-16.el7". */
  sourceInfo?: string;
}
