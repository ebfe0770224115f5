/** What the scanner knows about the operating system of an image. */
export interface OsInfo {
  /** Lower-case distro id: debian, ubuntu, alpine, rhel, ... ("unknown" when nothing matched). */
  family: string;
  /** Release as the distro names it: "12", "22.04", "3.19.1", "trixie/sid". */
  version?: string;
  codename?: string;
  /** OSV ecosystem for OS packages of this release: "Debian:12", "Ubuntu:22.04:LTS", "Alpine:v3.19". */
  ecosystem?: string;
  prettyName?: string;
  /** Last supported day of the release's security feed ("YYYY-MM-DD"), when known (docs/matching-rules.md R11). */
  eol?: string;
  /** Red Hat: content sets the image was built from (root/buildinfo/content_manifests), or R9's defaults. */
  contentSets?: string[];
  /** Red Hat: product-stream CPEs of those content sets; Red Hat advisories are matched in these streams (R9). */
  cpes?: string[];
  /** Ubuntu: how Ubuntu Pro (ESM) access was established, when it was (docs/distro-matching.md "Ubuntu ESM"). */
  esm?: string;
}

/** Package types follow the purl type names where one exists. */
export type PackageType =
  "deb" | "apk" | "rpm" | "npm" | "pypi" | "maven" | "golang" | "cargo" | "nuget" | "composer" | "gem" | (string & {});

/** A package as a cataloger found it, before layer attribution and id assignment. */
export interface PackageCandidate {
  name: string;
  version: string;
  type: PackageType;
  /** OSV ecosystem string ("Debian:12", "npm", "PyPI" ...). */
  ecosystem: string;
  purl: string;
  /** Source package for OS packages (dpkg Source:, apk origin, rpm SOURCERPM). */
  source?: { name: string; version: string };
  arch?: string;
  licenses?: string[];
  /** Paths (relative to the image root, no leading slash) the package was read from. */
  locations: string[];
  /** Files installed by an OS package, used to drop language packages it already covers. */
  ownedFiles?: string[];
  /** The package ships inside another tool (npm's own node_modules, ...), which makes it noisy. */
  bundled?: boolean;
  /** Format-specific details kept in the JSON report. */
  metadata?: Record<string, unknown>;
}

/** A package in the scan result: a candidate placed in the layer that introduced it. */
export interface Package extends Omit<PackageCandidate, "ownedFiles"> {
  /** Stable within a scan and across rescans of the same image. */
  id: string;
  layerIndex: number;
}

/** Read access to the image filesystem as squashed up to some layer. */
export interface FileView {
  /** Content of a regular file, following symlinks inside the image root; undefined when absent. */
  read(path: string): Buffer | undefined;
  /** Paths of the collected regular files for which `predicate` holds, sorted. */
  list(predicate: (path: string) => boolean): string[];
}

export interface CatalogContext {
  os: OsInfo;
  /**
   * Catalogers never throw on bad input; when this is set they push what they skipped here, as
   * "<cataloger>: <path>: <what>" so the report can show it without knowing each cataloger.
   */
  warnings?: string[];
}

/**
 * A cataloger reads one package format. It declares the paths it wants (so the layer walker
 * collects only those, in one pass) and parses them from a squashed view of the filesystem.
 * Bump `version` whenever its output for the same files changes: it is part of the layer cache key.
 */
export interface Cataloger {
  kind?: "view";
  name: string;
  version: number;
  /**
   * `path` is relative to the image root without a leading slash; `size` in bytes. Decide from the
   * path: a size bound belongs in `maxBytes`, so a wanted file over it is reported, not dropped silently.
   */
  wants(path: string, size: number): boolean;
  /**
   * The largest file this cataloger reads at `path` (bytes); absent means the walker's per-file limit.
   * A wanted file above it is not collected and becomes an `inventory-incomplete` warning.
   */
  maxBytes?(path: string): number;
  /**
   * Loads what catalog() needs asynchronously (a WebAssembly engine ...). The scan awaits it once,
   * and only when some layer holds a file this cataloger wants, so unused engines cost nothing.
   */
  prepare?(): Promise<void>;
  /**
   * For formats that can be large but are read for a small part (a dpkg status padded past any
   * sensible size): a condenser the walker streams the file through instead of holding it whole;
   * `catalog` then reads the condensed content under the same path. Undefined: the file is held as is.
   */
  condense?(path: string): StreamCondenser | undefined;
  catalog(view: FileView, context: CatalogContext): PackageCandidate[];
}

/** Turns a file streamed chunk by chunk into the smaller content a cataloger needs, with bounded memory. */
export interface StreamCondenser {
  write(chunk: Buffer): void;
  /** Bytes of condensed content so far: the walker stops a condenser that outgrows its collection limits. */
  readonly size: number;
  end(): Buffer;
}

/** Random access to one file met during a layer walk; small files sit in memory, big ones in a temp file. */
export interface FileContent {
  path: string;
  size: number;
  mode: number;
  read(offset: number, length: number): Promise<Buffer>;
  /** The whole file. Bounded by the walker's per-file limit, so use it for formats that are small. */
  readAll(): Promise<Buffer>;
}

/**
 * A cataloger for formats where each file stands alone (jars, Go and Rust binaries, dist-info
 * METADATA ...). The walker hands it every wanted file during the single layer pass and keeps the
 * results per path, so a later layer that deletes or replaces the file drops them, like the file itself.
 * Bump `version` whenever its output for the same file changes: it is part of the layer cache key.
 */
export interface FileCataloger {
  kind: "file";
  name: string;
  version: number;
  /** Decided from the tar header alone; `mode` lets executables be picked out. A size bound belongs in `maxBytes`. */
  wants(path: string, size: number, mode: number): boolean;
  /** As for view catalogers: above this a wanted file is reported as `inventory-incomplete`, not read. */
  maxBytes?(path: string): number;
  /**
   * Optional cheap check on the first bytes (up to 4 KiB): returning false skips the file without
   * buffering or spilling it, which keeps "every executable" catalogers off the hot path.
   */
  sniff?(head: Buffer, path: string): boolean;
  analyze(file: FileContent, context: FileCatalogContext): Promise<PackageCandidate[]>;
}

export interface FileCatalogContext {
  warnings: string[];
  /** Where big nested content may be spilled (inside the scan's cache dir); the OS temp dir when absent. */
  tempDir?: string;
}

export type AnyCataloger = Cataloger | FileCataloger;

export function isFileCataloger(cataloger: AnyCataloger): cataloger is FileCataloger {
  return (cataloger as FileCataloger).kind === "file";
}

/** Like a cataloger, but finds the OS release; runs before the package catalogers. */
export interface OsDetector {
  name: string;
  version: number;
  wants(path: string): boolean;
  /** Never throws; ambiguities (mixed Alpine repositories, unreadable release files) go to `warnings`. */
  detect(view: FileView, warnings?: string[]): OsInfo;
}

/** Whether `size` is within what `cataloger` reads at `path`. */
export function withinBound(cataloger: AnyCataloger, path: string, size: number): boolean {
  return cataloger.maxBytes === undefined || size <= cataloger.maxBytes(path);
}
