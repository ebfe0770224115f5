/**
 * The dashboard's colours, in one place: the stylesheet's custom properties are generated from
 * here (theme.css) and the contrast test checks every pair against WCAG 2.2 AA (docs/dashboard.md
 * "Accessibility"): text 4.5:1, chart lines and focus rings 3:1 against the background.
 * Severity is never shown by colour alone: every badge carries its word, every chart line its own dash.
 */

export interface TextPair {
  foreground: string;
  background: string;
}

export const PALETTE = {
  page: { foreground: "#1b1f24", background: "#ffffff" },
  muted: { foreground: "#57606a", background: "#ffffff" },
  link: { foreground: "#0a4fb3", background: "#ffffff" },
  header: { foreground: "#ffffff", background: "#1f2a37" },
  panel: { foreground: "#1b1f24", background: "#f3f5f7" },
  focus: "#b35900",
  severity: {
    critical: { foreground: "#ffffff", background: "#8b1a1a" },
    high: { foreground: "#ffffff", background: "#b3261e" },
    medium: { foreground: "#1b1f24", background: "#f2c94c" },
    low: { foreground: "#1b1f24", background: "#c9e3f6" },
    negligible: { foreground: "#1b1f24", background: "#e6e8eb" },
    unknown: { foreground: "#ffffff", background: "#5b6470" },
    none: { foreground: "#ffffff", background: "#1e6b3a" },
    unchecked: { foreground: "#1b1f24", background: "#ffffff" },
  },
  verdict: {
    pass: { foreground: "#ffffff", background: "#1e6b3a" },
    warn: { foreground: "#1b1f24", background: "#f2c94c" },
    fail: { foreground: "#ffffff", background: "#8b1a1a" },
  },
  /** Trend lines on the page background; each also has its own dash pattern (client). */
  chart: {
    critical: "#8b1a1a",
    high: "#c2410c",
    medium: "#8a6d00",
    low: "#1d5fa8",
    negligible: "#57606a",
    unknown: "#6b4fa0",
  },
} as const;

/** The custom properties every stylesheet rule refers to. */
export function themeCss(): string {
  const lines: string[] = [];
  const pair = (name: string, value: TextPair) => {
    lines.push(`  --${name}-fg: ${value.foreground};`, `  --${name}-bg: ${value.background};`);
  };
  pair("page", PALETTE.page);
  pair("muted", PALETTE.muted);
  pair("link", PALETTE.link);
  pair("header", PALETTE.header);
  pair("panel", PALETTE.panel);
  lines.push(`  --focus: ${PALETTE.focus};`);
  for (const [name, value] of Object.entries(PALETTE.severity)) pair(`sev-${name}`, value);
  for (const [name, value] of Object.entries(PALETTE.verdict)) pair(`verdict-${name}`, value);
  for (const [name, value] of Object.entries(PALETTE.chart)) lines.push(`  --chart-${name}: ${value};`);
  return `:root {\n${lines.join("\n")}\n}\n`;
}
