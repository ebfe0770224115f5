import { PF_W, PF_X, PT_LOAD, readElf, readExact, type ByteSource, type ElfFile } from "../elf/index.js";

/**
 * The second step of the version heuristic for `(devel)` main modules (after ldflags.ts): builds with
 * `-trimpath` do not record `-ldflags` in the build info (Go 1.19+, golang/go#52372), and Go before
 * 1.18 records no build settings at all, yet the string a `-X main.version=v1.2.3` stamp put in the
 * binary is still there. The linker lays such a string out on its own, aligned, in the read-only
 * data, so it stands between NUL bytes, where Go's packed string constants do not. A SemVer-shaped
 * string so bounded is taken only when it is the only distinct one: several mean no answer.
 */

/** NUL, then `v1.2.3` / `1.4.0-rc.1` / `v1.30.0+build`, then NUL. */
const BOUNDED_SEMVER =
  /\0(v?(?:0|[1-9]\d{0,5})\.(?:0|[1-9]\d{0,5})\.(?:0|[1-9]\d{0,5})(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)(?=\0)/g;
/** Longer than any version string worth reporting; chunks overlap by this much so none is cut. */
const MAX_MATCH_BYTES = 256;
const CHUNK_BYTES = 4 * 1024 * 1024;
/** The read-only data of the biggest real binaries is a few tens of megabytes. */
const MAX_SCAN_BYTES = 256 * 1024 * 1024;

/** The read-only data: the `.rodata` section, else the loadable segment that is neither writable nor executable. */
function readOnlyData(elf: ElfFile, size: number): { offset: number; length: number } | undefined {
  const section = elf.sections.find((candidate) => candidate.name === ".rodata" && candidate.size > 0);
  if (section) return { offset: section.offset, length: Math.min(section.size, size - section.offset) };
  const segment = elf.segments.find(
    (candidate) => candidate.type === PT_LOAD && (candidate.flags & (PF_W | PF_X)) === 0 && candidate.fileSize > 0,
  );
  return segment ? { offset: segment.offset, length: Math.min(segment.fileSize, size - segment.offset) } : undefined;
}

/** Every distinct NUL-bounded SemVer string in the binary's read-only data, in order of first appearance. */
export async function readOnlyDataVersions(source: ByteSource): Promise<string[]> {
  const elf = await readElf(source);
  const area = readOnlyData(elf, source.size);
  if (!area || area.length <= 0) return [];
  const end = area.offset + Math.min(area.length, MAX_SCAN_BYTES);
  const found = new Map<number, string>();
  for (let offset = area.offset; offset < end; offset += CHUNK_BYTES) {
    const length = Math.min(CHUNK_BYTES + MAX_MATCH_BYTES, end - offset);
    const text = (await readExact(source, offset, length)).toString("latin1");
    for (const match of text.matchAll(BOUNDED_SEMVER)) found.set(offset + match.index, match[1]!);
  }
  return [...new Set(found.values())];
}

/** The one version string the read-only data holds, or undefined when it holds none or several. */
export async function soleReadOnlyDataVersion(source: ByteSource): Promise<string | undefined> {
  const versions = await readOnlyDataVersions(source);
  return versions.length === 1 ? versions[0] : undefined;
}
