/**
 * Files listed in info/<pkg>.list: absolute paths, directories included. Directories are dropped
 * (an entry that prefixes another entry is one), since "owning" /usr would hide every language
 * package below it from the owned-file filter.
 */
export function parseListFile(content: Buffer): string[] {
  const paths = content
    .toString("utf8")
    .split(/\r?\n/)
    .map((line) => line.trim().replace(/^\/+/, ""))
    .filter((path) => path !== "" && path !== ".");
  const parents = new Set<string>();
  for (const path of paths) {
    for (let slash = path.indexOf("/"); slash > 0; slash = path.indexOf("/", slash + 1))
      parents.add(path.slice(0, slash));
  }
  return [...new Set(paths)].filter((path) => !parents.has(path));
}

/** Files listed in a md5sums file (`<md5>  <path>`): regular files only, paths already relative. */
export function parseMd5sums(content: Buffer): string[] {
  const paths: string[] = [];
  for (const line of content.toString("utf8").split(/\r?\n/)) {
    const match = /^[0-9a-fA-F]{32}\s+\*?(.+)$/.exec(line.trim());
    if (match) paths.push(match[1]!.replace(/^\/+/, ""));
  }
  return paths;
}
