import { parseDay } from "../dates.js";
import { PolicyError } from "../errors.js";
import type { IgnoreEntry } from "../types.js";

/**
 * `.trivyignore`: one vulnerability id per line, optionally `exp:YYYY-MM-DD`; `#` starts a comment.
 * The comment lines right above an id (Trivy's documented style) become its reason.
 */
export function parseTrivyIgnore(text: string, file: string): IgnoreEntry[] {
  const entries: IgnoreEntry[] = [];
  let comments: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "") {
      comments = [];
      return;
    }
    if (line.startsWith("#")) {
      comments.push(line.replace(/^#+\s*/, ""));
      return;
    }
    const hash = line.search(/\s#/);
    const inlineComment = hash === -1 ? "" : line.slice(hash).replace(/^\s*#+\s*/, "");
    const [id, ...fields] = (hash === -1 ? line : line.slice(0, hash)).split(/\s+/);
    let expires: string | undefined;
    for (const field of fields) {
      if (!field.startsWith("exp:")) continue;
      expires = field.slice(4);
      if (parseDay(expires) === undefined) {
        throw new PolicyError(`${file}:${index + 1}: exp: "${expires}" is not a date written YYYY-MM-DD`);
      }
    }
    const reason = [comments.join(" "), inlineComment].filter(Boolean).join(" ") || `listed in ${file}`;
    entries.push({
      kind: "ignore",
      id: id!,
      source: "trivyignore",
      origin: `${file}:${index + 1}`,
      reason,
      ...(expires ? { expires } : {}),
    });
    comments = [];
  });
  return entries;
}
