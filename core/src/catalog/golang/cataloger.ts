import { buildPurl } from "../purl.js";
import { isElfExecutable, type ByteSource } from "../elf/index.js";
import type { FileCataloger, PackageCandidate } from "../types.js";
import { warning } from "../warnings.js";
import { readGoBuildInfo } from "./buildinfo.js";
import { soleReadOnlyDataVersion } from "./contents.js";
import { ldflagsVersion } from "./ldflags.js";
import { parseModInfo, stdlibVersion, type GoModule } from "./modinfo.js";

const NAME = "golang";
/** Smaller files are scripts or stubs; the smallest Go binary is about a megabyte. */
const MIN_BINARY_BYTES = 1024;
/** scalibr's default per-file cap; the walker's own limit is usually lower. */
const MAX_BINARY_BYTES = 1024 ** 3;
const DEVEL = "(devel)";

/**
 * Executable files only: the build info is what a binary was linked with, and non-executable ELF
 * files in images are mostly test data (Go's own source tree ships fake ELF files under
 * usr/local/go/src/debug/elf/testdata). The toolchain's binaries under usr/local/go/bin are
 * executables and report its stdlib like any other Go program.
 */
function wantsBinary(_path: string, size: number, mode: number): boolean {
  return (mode & 0o111) !== 0 && size >= MIN_BINARY_BYTES;
}

/** pkg:golang/<namespace>/<name>: the module path split at its last slash. */
function goPurl(modulePath: string, version: string): string {
  const slash = modulePath.lastIndexOf("/");
  return slash > 0
    ? buildPurl("golang", modulePath.slice(0, slash), modulePath.slice(slash + 1), version)
    : buildPurl("golang", undefined, modulePath, version);
}

function modulePackage(module: GoModule, path: string, extra: Record<string, unknown>): PackageCandidate {
  const metadata: Record<string, unknown> = { ...extra };
  if (module.sum) metadata.h1 = module.sum;
  if (module.replaces) metadata.replaces = `${module.replaces.path}@${module.replaces.version}`;
  return {
    name: module.path,
    version: module.version,
    type: "golang",
    ecosystem: "Go",
    purl: goPurl(module.path, module.version),
    locations: [path],
    metadata,
  };
}

/**
 * The version a `(devel)` main module was stamped with: from the -X flags the build info records,
 * else, when it records no -ldflags at all (-trimpath hides them, Go < 1.18 has no settings), the one
 * SemVer string standing alone in the read-only data. Both are heuristics and are marked as such.
 */
async function stampedVersion(
  file: ByteSource,
  settings: Record<string, string>,
  mainModule: string,
): Promise<{ version: string; source: "ldflags" | "binary-contents"; variable?: string } | undefined> {
  const fromFlags = ldflagsVersion(settings, mainModule);
  if (fromFlags) return { version: fromFlags.version, source: "ldflags", variable: fromFlags.variable };
  if (settings["-ldflags"] !== undefined) return undefined;
  let found: string | undefined;
  try {
    found = await soleReadOnlyDataVersion(file);
  } catch {
    // The build info was readable, so the ELF headers are; a failure here only costs the guess.
    return undefined;
  }
  return found ? { version: found.startsWith("v") ? found : `v${found}`, source: "binary-contents" } : undefined;
}

/**
 * Go binaries through the build info the linker embeds. Version 2: a `(devel)` main module gets the
 * version stamped with `-ldflags -X`, marked `versionSource: "ldflags"` or `"binary-contents"` (see
 * ldflags.ts and contents.ts).
 */
export function createGoBinaryCataloger(): FileCataloger {
  return {
    kind: "file",
    name: NAME,
    version: 2,
    wants: wantsBinary,
    maxBytes: () => MAX_BINARY_BYTES,
    sniff: (head) => isElfExecutable(head),
    async analyze(file, context) {
      let raw;
      try {
        raw = await readGoBuildInfo(file);
      } catch (error) {
        // Damaged ELF files are common in images (truncated downloads, test data); one line each.
        context.warnings.push(warning(NAME, file.path, `unreadable ELF: ${(error as Error).message}`));
        return [];
      }
      if (!raw) return [];
      const info = parseModInfo(raw.modInfo);
      const common = { goVersion: raw.goVersion, ...(info.main ? { mainModule: info.main.path } : {}) };
      const packages: PackageCandidate[] = [];
      // `(devel)` is what `go build` stamps on the module it builds from a checkout: no released version,
      // unless the build stamped one with -ldflags -X, which is reported as the guess it is.
      if (info.main && info.main.version && info.main.version !== DEVEL) {
        packages.push(modulePackage(info.main, file.path, { ...common, main: true }));
      } else if (info.main?.path) {
        const stamped = await stampedVersion(file, info.settings, info.main.path);
        if (stamped)
          packages.push(
            modulePackage({ ...info.main, version: stamped.version }, file.path, {
              ...common,
              main: true,
              versionSource: stamped.source,
              ...(stamped.variable ? { ldflagsVariable: stamped.variable } : {}),
            }),
          );
      }
      for (const dep of info.deps) {
        // A dependency replaced by a local directory has no version: its code is not the released module's.
        if (!dep.path || !dep.version) continue;
        packages.push(modulePackage(dep, file.path, common));
      }
      const stdlib = stdlibVersion(raw.goVersion);
      if (stdlib)
        packages.push({
          name: "stdlib",
          version: stdlib,
          type: "golang",
          ecosystem: "Go",
          purl: buildPurl("golang", undefined, "stdlib", stdlib),
          locations: [file.path],
          metadata: common,
        });
      return packages;
    },
  };
}
