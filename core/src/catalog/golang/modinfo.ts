/** One module line of the build info, after applying its `=>` replacement. */
export interface GoModule {
  path: string;
  version: string;
  sum?: string;
  /** The module as required, when a `=>` line replaced it. */
  replaces?: { path: string; version: string };
}

export interface GoModInfo {
  /** The main package's import path (`path` line). */
  packagePath?: string;
  main?: GoModule;
  deps: GoModule[];
  /** `build` lines (Go 1.18+): GOOS, GOARCH, vcs.revision ... */
  settings: Record<string, string>;
}

/**
 * Parses the module text of Go build info: tab-separated `path`, `mod`, `dep`, `=>` and `build`
 * lines, where `=>` replaces the module line just before it.
 */
export function parseModInfo(text: string): GoModInfo {
  const info: GoModInfo = { deps: [], settings: {} };
  let previous: GoModule | undefined;
  for (const line of text.split("\n")) {
    const fields = line.split("\t");
    switch (fields[0]) {
      case "path":
        info.packagePath = fields[1];
        break;
      case "mod":
      case "dep": {
        const module: GoModule = { path: fields[1] ?? "", version: fields[2] ?? "" };
        if (fields[3]) module.sum = fields[3];
        if (fields[0] === "mod") info.main = module;
        else info.deps.push(module);
        previous = module;
        continue;
      }
      case "=>":
        if (previous) {
          previous.replaces = { path: previous.path, version: previous.version };
          previous.path = fields[1] ?? "";
          previous.version = fields[2] ?? "";
          if (fields[3]) previous.sum = fields[3];
          else delete previous.sum;
        }
        break;
      case "build": {
        const setting = fields.slice(1).join("\t");
        const equals = setting.indexOf("=");
        if (equals > 0) info.settings[setting.slice(0, equals)] = setting.slice(equals + 1);
        break;
      }
    }
    previous = undefined;
  }
  return info;
}

/**
 * The Go toolchain release as a semver, the form the Go vulnerability database uses for `stdlib`:
 * go1.21.5 -> 1.21.5, go1.20 -> 1.20.0, go1.21rc2 -> 1.21.0-rc.2. Development builds have no
 * release and give undefined. Suffixes such as " X:boringcrypto" are build flavours, not versions.
 */
export function stdlibVersion(goVersion: string): string | undefined {
  const match = /^go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?(?![\d.])/.exec(goVersion.trim());
  if (!match) return undefined;
  const [, major, minor, patch, pre, preNumber] = match;
  return `${major}.${minor}.${patch ?? "0"}${pre ? `-${pre}.${preNumber}` : ""}`;
}
