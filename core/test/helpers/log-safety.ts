/**
 * What every CI platform and terminal reacts to in a log line, written down from the platforms'
 * own rules (docs/log-safety.md, docs/ci-platforms.md §2.1, §2.2, §2.5) and independent of the neutraliser
 * under test: a line checked here either is inert or is named with the reason it is not.
 */

/** Hostile strings the tests put into images and advisories. */
export const HOSTILE = {
  github: "::error title=pwned::github-injected",
  githubIndented: "  ::set-output name=x::v",
  azure: "##vso[task.setvariable variable=PWNED]azure-injected",
  azureFormat: "##[error]azure-format-injected",
  teamcity: "##teamcity[buildStatus status='SUCCESS' text='teamcity-injected']",
  ansi: "\u001b[31mred\u001b[0m",
  c1: "\u009b31mcsi",
  cr: "over\rwrite",
  separator: "line\u2028break",
} as const;

/** A platform's own commands that an adapter writes on purpose, each on a line of its own. */
export type OwnCommands = "github" | "azure" | "teamcity";

const OWN_COMMAND_LINE: Record<OwnCommands, RegExp> = {
  github: /^::[a-z-]+(?: [^:]*)?::/,
  azure: /^##vso\[[a-z]+\.[a-z]+(?: [^\]]*)?\]/i,
  teamcity: /^##teamcity\[[A-Za-z][A-Za-z0-9_-]*[ \]]/,
};

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;
const HASH_COMMAND = /##(?:vso|teamcity)?\[/i;
const LINE_START_COMMAND = /^\s*::/;

/** Reasons a single line (without its line feed) could act on a terminal or a CI platform. */
export function lineProblems(line: string, own?: OwnCommands): string[] {
  const problems: string[] = [];
  const control = CONTROL.exec(line);
  if (control) problems.push(`control U+${control[0].charCodeAt(0).toString(16).padStart(4, "0")}`);
  const ownMatch = own ? OWN_COMMAND_LINE[own].exec(line) : null;
  // A line the adapter itself writes as a command: the rest of the line (its data) must be inert.
  const rest = ownMatch ? line.slice(ownMatch[0].length) : line;
  if (HASH_COMMAND.test(rest)) problems.push("##vso[ / ##[ / ##teamcity[ in the line");
  if (!ownMatch && LINE_START_COMMAND.test(line)) problems.push(":: workflow command at line start");
  return problems;
}

/** Every unsafe line of a log, with its number and reasons; empty when the log is inert. */
export function unsafeLines(log: string, own?: OwnCommands): string[] {
  return log
    .split("\n")
    .map((line, index) => ({ line, index, problems: lineProblems(line, own) }))
    .filter((entry) => entry.problems.length > 0)
    .map((entry) => `line ${entry.index + 1}: ${entry.problems.join(", ")}: ${JSON.stringify(entry.line)}`);
}
