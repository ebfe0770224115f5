/**
 * TeamCity service messages: `##teamcity[name 'value']` or `##teamcity[name key='value' ...]`,
 * one per line. TeamCity reads values with `|` as the escape character, so anything that could end
 * the value (`'`, `]`), start another message (`[`) or break the line must be escaped.
 */
import { neutralizeLogLines } from "@stowaway/core";

const ESCAPES: Record<string, string> = {
  "|": "||",
  "'": "|'",
  "\n": "|n",
  "\r": "|r",
  "[": "|[",
  "]": "|]",
};

/**
 * Escapes one value. TeamCity decodes `|0x001B` back into ESC when it shows the log, so the value
 * first goes through core's log neutraliser (controls shown as `\x1b`, CI command markers broken:
 * docs/log-safety.md); then every UTF-16 code unit outside printable ASCII becomes `|0xNNNN` (a
 * surrogate pair as two), so the log line stays ASCII whatever encoding the agent's console uses.
 */
export function escapeValue(value: string): string {
  const safe = neutralizeLogLines(value);
  let out = "";
  for (let index = 0; index < safe.length; index++) {
    const char = safe[index]!;
    const code = safe.charCodeAt(index);
    const escaped = ESCAPES[char];
    if (escaped !== undefined) out += escaped;
    else if (code < 0x20 || code > 0x7e) out += `|0x${code.toString(16).toUpperCase().padStart(4, "0")}`;
    else out += char;
  }
  return out;
}

const JAVA_ID = /^[A-Za-z][A-Za-z0-9_-]*$/;

export type Attributes = Record<string, string | number | undefined>;

/** A message with named attributes; undefined attributes are left out. */
export function serviceMessage(name: string, attributes: Attributes): string {
  if (!JAVA_ID.test(name)) throw new Error(`not a service message name: ${name}`);
  const parts = Object.entries(attributes)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => {
      if (!JAVA_ID.test(key)) throw new Error(`not a service message attribute: ${key}`);
      return `${key}='${escapeValue(String(value))}'`;
    });
  return `##teamcity[${[name, ...parts].join(" ")}]`;
}

/** The single-value form, used by publishArtifacts. */
export function singleValueMessage(name: string, value: string): string {
  if (!JAVA_ID.test(name)) throw new Error(`not a service message name: ${name}`);
  return `##teamcity[${name} '${escapeValue(value)}']`;
}

/**
 * Cuts `text` to at most `max` characters without splitting a surrogate pair, marking the cut, for
 * fields TeamCity bounds (buildProblem description: 4,000).
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = " …";
  let end = max - marker.length;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end) + marker;
}
