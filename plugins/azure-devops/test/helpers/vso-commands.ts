/**
 * The tests' own reader of Azure logging commands, written from the grammar the agent documents
 * (`##vso[area.action key=value;key=value]message`) rather than from task-lib, so that what the
 * task prints is checked by something that does not share its code.
 */
export interface VsoCommand {
  /** `area.action`, e.g. `task.logissue`. */
  command: string;
  properties: Record<string, string>;
  message: string;
  /** The line as printed, for checks on the escaped form. */
  raw: string;
}

const PREFIX = "##vso[";

/** The agent's escape sequences; `%AZP25` (the percent sign) is decoded last so it cannot form another sequence. */
function unescapeProperty(value: string): string {
  return value
    .replace(/%0D/g, "\r")
    .replace(/%0A/g, "\n")
    .replace(/%5D/g, "]")
    .replace(/%3B/g, ";")
    .replace(/%AZP25/g, "%");
}

function unescapeMessage(value: string): string {
  return value
    .replace(/%0D/g, "\r")
    .replace(/%0A/g, "\n")
    .replace(/%AZP25/g, "%");
}

export function parseVsoLine(line: string): VsoCommand | undefined {
  const start = line.indexOf(PREFIX);
  if (start === -1) return undefined;
  const body = line.slice(start + PREFIX.length);
  const close = body.indexOf("]");
  if (close === -1) throw new Error(`logging command without "]": ${line}`);
  const head = body.slice(0, close);
  const space = head.indexOf(" ");
  const command = space === -1 ? head : head.slice(0, space);
  if (!/^[a-z]+\.[a-z]+$/i.test(command)) throw new Error(`not an area.action command: ${line}`);
  const properties: Record<string, string> = {};
  if (space !== -1) {
    for (const pair of head.slice(space + 1).split(";")) {
      if (pair.trim() === "") continue;
      const equals = pair.indexOf("=");
      if (equals <= 0) throw new Error(`property without a key=value form in: ${line}`);
      properties[pair.slice(0, equals).trim()] = unescapeProperty(pair.slice(equals + 1));
    }
  }
  return { command, properties, message: unescapeMessage(body.slice(close + 1)), raw: line };
}

/** Every command in a process's stdout, in order; a malformed one fails the test. */
export function parseVsoCommands(stdout: string): VsoCommand[] {
  return stdout
    .split(/\r?\n/)
    .map(parseVsoLine)
    .filter((command): command is VsoCommand => command !== undefined);
}
