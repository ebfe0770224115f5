/**
 * An independent reader of the TeamCity service-message grammar, written from the documentation
 * (not from the adapter): `##teamcity[name 'value']` or `##teamcity[name key='value' ...]`, names
 * Java identifiers, whitespace-separated attributes, `|` escapes. Throws on anything else, so a test
 * that parses every emitted line proves each one is well formed.
 */
export interface ParsedMessage {
  name: string;
  /** The single-value form. */
  value?: string;
  attributes: Record<string, string>;
}

const SIMPLE: Record<string, string> = { "|": "|", "'": "'", n: "\n", r: "\r", "[": "[", "]": "]" };

function readValue(text: string, start: number): { value: string; end: number } {
  let value = "";
  let index = start;
  while (index < text.length) {
    const char = text[index]!;
    if (char === "'") return { value, end: index + 1 };
    if (char === "[" || char === "]") throw new Error(`unescaped ${char} at ${index} in ${text}`);
    if (char === "|") {
      const next = text[index + 1];
      if (next === undefined) throw new Error(`dangling escape in ${text}`);
      if (next === "0" && text[index + 2] === "x") {
        const hex = text.slice(index + 3, index + 7);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new Error(`bad |0x escape in ${text}`);
        value += String.fromCharCode(parseInt(hex, 16));
        index += 7;
        continue;
      }
      const simple = SIMPLE[next];
      if (simple === undefined) throw new Error(`unknown escape |${next} in ${text}`);
      value += simple;
      index += 2;
      continue;
    }
    if (char === "\n" || char === "\r") throw new Error(`newline inside a value in ${text}`);
    value += char;
    index++;
  }
  throw new Error(`unterminated value in ${text}`);
}

export function parseServiceMessage(line: string): ParsedMessage {
  const prefix = "##teamcity[";
  if (!line.startsWith(prefix)) throw new Error(`not a service message: ${line}`);
  let index = prefix.length;
  const nameMatch = /^[A-Za-z][A-Za-z0-9_-]*/.exec(line.slice(index));
  if (!nameMatch) throw new Error(`bad message name in ${line}`);
  const message: ParsedMessage = { name: nameMatch[0], attributes: {} };
  index += nameMatch[0].length;
  const skipSpace = (): number => {
    const start = index;
    while (line[index] === " " || line[index] === "\t") index++;
    return index - start;
  };
  let spaced = skipSpace();
  if (line[index] === "'") {
    if (!spaced) throw new Error(`missing space before value in ${line}`);
    const { value, end } = readValue(line, index + 1);
    message.value = value;
    index = end;
    skipSpace();
  } else {
    while (line[index] !== "]") {
      if (!spaced) throw new Error(`missing space before attribute in ${line}`);
      const keyMatch = /^[A-Za-z_][A-Za-z0-9_]*/.exec(line.slice(index));
      if (!keyMatch) throw new Error(`bad attribute at ${index} in ${line}`);
      index += keyMatch[0].length;
      skipSpace();
      if (line[index] !== "=") throw new Error(`missing = in ${line}`);
      index++;
      skipSpace();
      if (line[index] !== "'") throw new Error(`missing quote in ${line}`);
      const { value, end } = readValue(line, index + 1);
      if (keyMatch[0] in message.attributes) throw new Error(`duplicate ${keyMatch[0]} in ${line}`);
      message.attributes[keyMatch[0]] = value;
      index = end;
      spaced = skipSpace();
    }
  }
  if (line[index] !== "]" || index !== line.length - 1) throw new Error(`trailing text in ${line}`);
  return message;
}

/** Splits captured stdout into service messages; any other non-empty line is returned as text. */
export function parseOutput(output: string): { messages: ParsedMessage[]; other: string[] } {
  const messages: ParsedMessage[] = [];
  const other: string[] = [];
  for (const line of output.split("\n")) {
    if (line.startsWith("##teamcity[")) messages.push(parseServiceMessage(line));
    else if (line.trim()) other.push(line);
  }
  return { messages, other };
}
