import { readFileSync } from "node:fs";
import { sharedPath } from "../helpers/shared.js";

export const VECTORS = "testvectors/version-compare";

export interface OrderingLine {
  readonly file: string;
  readonly line: number;
  readonly a: string;
  readonly op: "<" | "=" | ">";
  readonly b: string;
}

export const OP_SIGN = { "<": -1, "=": 0, ">": 1 } as const;

export function signToOp(n: number): "<" | "=" | ">" {
  return n < 0 ? "<" : n > 0 ? ">" : "=";
}

/** osv-scalibr fixture format: `<a> <op> <b>`; blank lines and lines starting "# " or "// " are comments. */
export function readScalibr(file: string): OrderingLine[] {
  const text = readFileSync(sharedPath(VECTORS, "osv-scalibr", file), "utf8");
  const out: OrderingLine[] = [];
  text.split("\n").forEach((raw, i) => {
    if (raw.trim() === "" || raw.startsWith("# ") || raw.startsWith("// ")) return;
    const fields = raw.split(" ");
    if (fields.length !== 3 || !["<", "=", ">"].includes(fields[1]!))
      throw new Error(`${file}:${i + 1}: bad line ${raw}`);
    out.push({ file, line: i + 1, a: fields[0]!, op: fields[1] as OrderingLine["op"], b: fields[2]! });
  });
  return out;
}

/** dpkg and rpm vectors: `<a> <b> <-1|0|1>`, '#' comment lines; rpm's TSV writes an empty field as "". */
export function readTriples(file: string, separator: RegExp): { line: number; a: string; b: string; want: number }[] {
  const text = readFileSync(sharedPath(VECTORS, file), "utf8");
  const out: { line: number; a: string; b: string; want: number }[] = [];
  text.split("\n").forEach((raw, i) => {
    if (raw.trim() === "" || raw.startsWith("#")) return;
    const [a, b, want] = raw.split(separator).map((f) => (f === '""' ? "" : f));
    out.push({ line: i + 1, a: a!, b: b!, want: Number(want) });
  });
  return out;
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(sharedPath(VECTORS, file), "utf8")) as T;
}
