import { readFile } from "node:fs/promises";
import { PolicyError } from "../errors.js";
import type { ImportedSuppression } from "../types.js";
import { parseOpenVex } from "./openvex.js";
import { parseTrivyIgnore } from "./trivyignore.js";
import { parseTrivyIgnoreYaml } from "./trivyignore-yaml.js";

export { parseOpenVex, parseTrivyIgnore, parseTrivyIgnoreYaml };

export type SuppressionFormat = "trivyignore" | "trivyignore.yaml" | "openvex";

/** Picks the format from the content: JSON with an OpenVEX context, YAML with sections, else the line format. */
export function detectSuppressionFormat(text: string, file: string): SuppressionFormat {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{")) return "openvex";
  if (/\.ya?ml$/i.test(file) || /^(?:vulnerabilities|misconfigurations|secrets|licenses)\s*:/m.test(text)) {
    return "trivyignore.yaml";
  }
  return "trivyignore";
}

export function parseSuppressions(text: string, file: string, format = detectSuppressionFormat(text, file)) {
  switch (format) {
    case "openvex":
      return parseOpenVex(text, file);
    case "trivyignore.yaml":
      return parseTrivyIgnoreYaml(text, file);
    case "trivyignore":
      return parseTrivyIgnore(text, file);
  }
}

/** Reads ignore files and VEX documents (`--ignorefile`, `--vex`) in order. */
export async function loadSuppressions(files: readonly string[]): Promise<ImportedSuppression[]> {
  const all: ImportedSuppression[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      throw new PolicyError(
        `${file}: cannot read the ignore/VEX file: ${(error as NodeJS.ErrnoException).code ?? error}`,
        {
          cause: error,
        },
      );
    }
    all.push(...parseSuppressions(text, file));
  }
  return all;
}
