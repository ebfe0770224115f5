import type { ControlStanza } from "./control.js";

/** An installed package as the dpkg database records it. */
export interface DpkgEntry {
  name: string;
  version: string;
  architecture?: string;
  source: { name: string; version: string };
  maintainer?: string;
  /** KiB, as dpkg records it. */
  installedSize?: number;
  /** The raw Status field; absent in distroless status.d entries, which are installed by construction. */
  status?: string;
  multiArch?: string;
}

/**
 * Package states whose files are on disk (dpkg(1) "Package states"). not-installed, config-files and
 * half-installed are not (docs/matching-rules.md P5); a package selected for deinstall or purge is treated as gone, as
 * Trivy and Syft do, since the next apt run removes it.
 */
const STATES_WITH_FILES = new Set(["installed", "triggers-pending", "triggers-awaited", "half-configured", "unpacked"]);
const WANTS_GONE = new Set(["deinstall", "purge"]);

export function isInstalledStatus(status: string | undefined): boolean {
  // Distroless status.d stanzas are control files of installed .debs and carry no Status at all.
  if (status === undefined) return true;
  const words = status.trim().split(/\s+/);
  if (words.length !== 3) return false;
  const [want, , state] = words as [string, string, string];
  return !WANTS_GONE.has(want) && STATES_WITH_FILES.has(state);
}

/**
 * `Source: name` or `Source: name (version)` (deb-src-control(5)); without a Source field the source
 * is the binary package itself, without a version the binary version (dpkg-query's ${source:*}).
 */
export function parseSource(
  field: string | undefined,
  binaryName: string,
  binaryVersion: string,
): { name: string; version: string } {
  const match = field && /^(\S+)(?:\s*\(\s*([^)\s]+)\s*\))?\s*$/.exec(field.trim());
  if (!match) return { name: binaryName, version: binaryVersion };
  return { name: match[1]!, version: match[2] ?? binaryVersion };
}

/** The installed package a stanza describes, or undefined when it is not installed or is incomplete. */
export function toDpkgEntry(stanza: ControlStanza): DpkgEntry | undefined {
  const fields = stanza.fields;
  const name = fields.get("package")?.trim();
  const version = fields.get("version")?.trim();
  if (!name || !version) return undefined;
  const status = fields.get("status");
  if (!isInstalledStatus(status)) return undefined;

  const entry: DpkgEntry = { name, version, source: parseSource(fields.get("source"), name, version) };
  const architecture = fields.get("architecture")?.trim();
  if (architecture) entry.architecture = architecture;
  const maintainer = fields.get("maintainer")?.trim();
  if (maintainer) entry.maintainer = maintainer;
  const size = fields.get("installed-size")?.trim();
  if (size && /^\d+$/.test(size)) entry.installedSize = Number(size);
  if (status !== undefined) entry.status = status.trim();
  const multiArch = fields.get("multi-arch")?.trim();
  if (multiArch) entry.multiArch = multiArch;
  return entry;
}
