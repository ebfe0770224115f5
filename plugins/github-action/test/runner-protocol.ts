/**
 * The runner's side of the protocol, written from GitHub's documentation rather than from
 * @actions/core, so the tests check what the runner would actually understand.
 */

export interface WorkflowCommand {
  command: string;
  properties: Record<string, string>;
  message: string;
}

/** Data: %25, %0D, %0A. `%25` goes last so an escaped "%0A" in the text stays literal. */
export function unescapeData(text: string): string {
  return text.replace(/%0D/g, "\r").replace(/%0A/g, "\n").replace(/%25/g, "%");
}

/** Properties additionally escape ":" and ",", which delimit them. */
export function unescapeProperty(text: string): string {
  return unescapeData(text.replace(/%3A/g, ":").replace(/%2C/g, ","));
}

/**
 * `::command key=value,key=value::message`, one per stdout line. Escaped properties can hold no ":"
 * or ",", so the first "::" after the command ends them; a raw newline in a message would have
 * broken the command into two lines, which the tests then see as a mismatch.
 */
export function parseWorkflowCommands(stdout: string): WorkflowCommand[] {
  const commands: WorkflowCommand[] = [];
  for (const line of stdout.split("\n")) {
    const match = /^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!match) continue;
    const properties: Record<string, string> = {};
    for (const pair of match[2] ? match[2].split(",") : []) {
      const eq = pair.indexOf("=");
      properties[pair.slice(0, eq)] = unescapeProperty(pair.slice(eq + 1));
    }
    commands.push({ command: match[1]!, properties, message: unescapeData(match[3]!) });
  }
  return commands;
}

/**
 * A GITHUB_OUTPUT (or GITHUB_ENV) file: `name=value` lines and `name<<DELIMITER` heredocs whose
 * value runs until a line holding only the delimiter.
 */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const value: string[] = [];
      for (i += 1; i < lines.length && lines[i] !== heredoc[2]; i++) value.push(lines[i]!);
      if (i >= lines.length) throw new Error(`output ${heredoc[1]}: delimiter ${heredoc[2]} never closes`);
      outputs[heredoc[1]!] = value.join("\n");
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`unparseable output line: ${JSON.stringify(line)}`);
    outputs[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return outputs;
}
