/**
 * Files listed in info/<pkg>.list: absolute paths, directories included. Directories are dropped
 * (an entry that prefixes another entry is one), since "owning" /usr would hide every language
 * package below it from the owned-file filter.
 */
export function parseListFile(content: Buffer): string[] {
  // Every OS package's list (tens of thousands of lines per image): a split on "\n" (trim drops any
  // "\r"), leading slashes cut without a regex.
  const paths: string[] = [];
  for (const line of content.toString("utf8").split("\n")) {
    let path = line.trim();
    if (path.charCodeAt(0) === 47 /* "/" */) {
      let start = 1;
      while (path.charCodeAt(start) === 47) start++;
      path = path.slice(start);
    }
    if (path !== "" && path !== ".") paths.push(path);
  }
  // Each path's ancestors, walked up from its parent until one is already known: the set is closed
  // under "ancestor of", so everything above a known directory is known too.
  const parents = new Set<string>();
  for (const path of paths) {
    for (let slash = path.lastIndexOf("/"); slash > 0; slash = path.lastIndexOf("/", slash - 1)) {
      const parent = path.slice(0, slash);
      if (parents.has(parent)) break;
      parents.add(parent);
    }
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
