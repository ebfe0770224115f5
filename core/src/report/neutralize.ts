export { plural } from "../plural.js";

/*
 * The log neutraliser. Every string that comes from an image or an advisory passes through here
 * before it reaches a log line in any output (CLI table, errors, warnings, JSON on stdout,
 * annotations, summaries, service messages); adapters only add their platform's own escaping on
 * top. What is neutralised and why: docs/log-safety.md.
 *
 * This module imports nothing, so front ends that load the rest of core lazily (the CLI) can use it
 * at start-up: it is exported on its own as `@stowaway/core/log-safety`.
 */

/**
 * Characters that must never reach a terminal or a CI log raw: C0 controls (ESC, CR, BS, ...),
 * DEL, C1 controls (0x9b is a one-byte CSI), the Unicode line/paragraph separators some viewers
 * break lines on, and the bidirectional overrides that make a line read differently than it is.
 */
// eslint-disable-next-line no-control-regex
const LOG_CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const LOG_CONTROLS_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED_CONTROLS: Record<string, string> = { "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/** A control shown as inert, readable text: `\r`, `\x1b`, `\u2028`. */
function showControl(char: string): string {
  const named = NAMED_CONTROLS[char];
  if (named) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * The second `#` of an Azure logging command (`##vso[`, `##[`) or a TeamCity service message
 * (`##teamcity[`), anywhere in a line: Azure and the GitHub runner's legacy parser react to them
 * mid-line. Any short word between `##` and `[` counts, so case-folding look-alikes (`##VſO[`, with
 * U+017F, which .NET's case-insensitive match reads as `##VSO[`) are covered too. A text that itself
 * starts with `#vso[` (or `#[`, `#teamcity[`) is covered as well, so that a `#` written just before it
 * cannot complete the marker.
 */
const HASH_COMMAND = /(?<=#|^)#(?=[^\s#[\]]{0,16}\[)/g;
/** A GitHub workflow command: `::` at the start of a line, after any leading whitespace. */
const LINE_START_COMMAND = /^(\s*):(?=:)/;

function neutralizeOneLine(line: string): string {
  return line.replace(HASH_COMMAND, "\\#").replace(LINE_START_COMMAND, "$1\\:");
}

/**
 * Makes text from an image or an advisory safe for one log line: controls are shown escaped
 * (`\x1b[31m`, `\r`, `\n`), and CI commands are broken with a backslash (`#\#vso[`, `\::error::`)
 * so the data stays recognisable but no platform acts on it. The result is a single line.
 */
export function neutralizeLog(text: string): string {
  return neutralizeOneLine(text.replace(LOG_CONTROLS, showControl));
}

/** As {@link neutralizeLog}, but keeps line feeds: each line is neutralised on its own. */
export function neutralizeLogLines(text: string): string {
  return text.replace(LOG_CONTROLS_BUT_NEWLINE, showControl).split("\n").map(neutralizeOneLine).join("\n");
}

/** Characters JSON.stringify leaves raw although a terminal or a log viewer reacts to them. */
const JSON_RAW_CONTROLS = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** As HASH_COMMAND, within one JSON string (no quote or escape crossed). */
const JSON_HASH_COMMAND = /(?<=#)#(?=[^\s#[\]"\\]{0,16}\[)/g;

/**
 * Serialized JSON made safe to print in a CI log while parsing to the identical value: DEL, C1
 * controls and Unicode separators become `\uXXXX` escapes, and the second `#` of `##vso[`, `##[`
 * and `##teamcity[` becomes `\u0023`. JSON.stringify already escapes C0 controls and line feeds,
 * so no string value can start a line (and with it a `::` workflow command).
 */
export function jsonLogSafe(json: string): string {
  const controlled = json.replace(
    JSON_RAW_CONTROLS,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  // The look-behind scan costs several times a substring search over a whole document (a warm
  // rescan's inventory is ~1.5 MB of JSON), and a document without "##" has nothing for it to do.
  return controlled.includes("##") ? controlled.replace(JSON_HASH_COMMAND, "\\u0023") : controlled;
}

/**
 * Whether jsonLogSafe would leave the UTF-8 text `bytes` as it is, told with byte searches instead
 * of decoding and a regex scan (a warm rescan's cached package list is over 1 MB): none of the bytes
 * the raw controls are encoded with (0x7f; 0xc2 leads U+0080-U+009F, 0xe2 leads the separators and
 * bidirectional controls) and no "##". Conservative: other characters with those lead bytes answer false.
 */
export function jsonLogSafeAlready(bytes: Uint8Array): boolean {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.indexOf(0x7f) < 0 && buffer.indexOf(0xc2) < 0 && buffer.indexOf(0xe2) < 0 && buffer.indexOf("##") < 0;
}
