import type { ScanResult } from "../result.js";

export interface TableOptions {
  /** Colour only when writing to a terminal; CI logs and files stay plain. */
  color?: boolean;
}

const BOLD = "\u001b[1m";
const DIM = "\u001b[2m";
const RESET = "\u001b[0m";

function formatPlatform({ os, architecture, variant }: ScanResult["artifact"]["platform"]): string {
  return [os, architecture, variant].filter(Boolean).join("/");
}

/** Lays rows out in aligned columns; the last column is not padded so long values do not leave trailing blanks. */
export function alignColumns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd(),
  );
}

export function renderInventoryTable(result: ScanResult, options: TableOptions = {}): string {
  const style = (code: string, text: string): string => (options.color ? `${code}${text}${RESET}` : text);
  const { artifact } = result;
  const osName = artifact.os.prettyName ?? [artifact.os.family, artifact.os.version].filter(Boolean).join(" ");
  const lines = [
    `${style(BOLD, artifact.reference)} ${style(DIM, `(${formatPlatform(artifact.platform)}, ${artifact.layers.length} layers, ${artifact.manifestDigest})`)}`,
    `OS: ${osName || "unknown"}${artifact.os.ecosystem ? ` [${artifact.os.ecosystem}]` : ""}`,
    `Packages: ${result.packages.length}`,
    "",
  ];
  if (result.packages.length > 0) {
    const rows = [["NAME", "VERSION", "TYPE", "LAYER", "SOURCE"]];
    for (const pkg of result.packages) {
      const source =
        pkg.source && (pkg.source.name !== pkg.name || pkg.source.version !== pkg.version)
          ? `${pkg.source.name} ${pkg.source.version}`
          : "";
      rows.push([pkg.name, pkg.version, pkg.type, String(pkg.layerIndex), source]);
    }
    const [header, ...body] = alignColumns(rows);
    lines.push(style(BOLD, header!), ...body);
  }
  for (const warning of result.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join("\n")}\n`;
}
