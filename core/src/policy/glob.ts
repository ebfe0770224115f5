/**
 * Shell-style globs for package names, purls, registries and image references: `*` matches any run
 * of characters (slashes included, since npm scopes and purl namespaces contain them), `?` one
 * character; everything else is literal. Matching is case-sensitive, as package names are.
 */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (const char of glob) {
    if (char === "*") source += ".*";
    else if (char === "?") source += ".";
    else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "s");
}

export function globMatch(glob: string, text: string): boolean {
  return globToRegExp(glob).test(text);
}
