/**
 * Credentials in image environments and build history. Findings name where the secret is and
 * what kind it looks like; they never carry the value, and `redactSecrets` blanks values in any
 * text that has to be shown.
 */
export interface SecretHit {
  /** "AWS access key id", "private key", "GitHub token", "credential variable" */
  kind: string;
  /** The variable that holds it, when known. */
  variable?: string;
}

const VALUE_PATTERNS: { kind: string; pattern: RegExp }[] = [
  { kind: "AWS access key id", pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g },
  { kind: "private key", pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g },
  { kind: "GitHub token", pattern: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/g },
  { kind: "GitHub token", pattern: /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/g },
];

/**
 * Variable names whose non-empty value is a credential: `*_PASSWORD`, `*_TOKEN`, `*_SECRET`,
 * `*_API_KEY`, `AWS_SECRET_ACCESS_KEY` ... `*_FILE` variants point at a file and are fine, and
 * PWD is the working directory.
 */
const SECRET_NAME =
  /(?:^|_)(?:PASSWORD|PASSWD|PASS|TOKEN|SECRET|SECRET_KEY|SECRET_ACCESS_KEY|API_KEY|APIKEY|PRIVATE_KEY|ACCESS_KEY)$/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Values that only reference something else, which are not themselves secrets. */
function isPlaceholder(value: string): boolean {
  return value === "" || /^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$/.test(value) || value === '""' || value === "''";
}

export function detectInVariable(name: string, value: string): SecretHit[] {
  const hits = detectInText(value).map((hit) => ({ ...hit, variable: name }));
  if (hits.length === 0 && isSecretName(name) && !isPlaceholder(value.trim())) {
    hits.push({ kind: "credential variable", variable: name });
  }
  return hits;
}

export function detectInText(text: string): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const { kind, pattern } of VALUE_PATTERNS) {
    pattern.lastIndex = 0;
    if (pattern.test(text)) hits.push({ kind });
  }
  return hits;
}

/** NAME=value assignments in a history line (ENV, ARG values shown as "|2 A=b B=c", RUN export ...). */
const ASSIGNMENT = /(?<![\w$])([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|[^\s;&|]*)/g;

export function detectInHistory(line: string): SecretHit[] {
  const hits: SecretHit[] = detectInText(line);
  for (const match of line.matchAll(ASSIGNMENT)) {
    const [, name, rawValue] = match as unknown as [string, string, string];
    const value = rawValue.replace(/^["']|["']$/g, "");
    if (isSecretName(name) && !isPlaceholder(value) && !hits.some((hit) => hit.variable === name)) {
      hits.push({ kind: "credential variable", variable: name });
    }
  }
  // `ENV KEY value` (the legacy space form) has no "=".
  const legacy = /^(?:\/bin\/sh -c #\(nop\)\s+)?ENV\s+([A-Za-z_][A-Za-z0-9_]*)\s+(\S.*)$/.exec(line.trim());
  if (legacy && isSecretName(legacy[1]!) && !isPlaceholder(legacy[2]!.trim())) {
    hits.push({ kind: "credential variable", variable: legacy[1]! });
  }
  return hits;
}

const REDACTED = "[REDACTED]";

/** Blanks every secret value in `text`, keeping variable names so the line stays readable. */
export function redactSecrets(text: string): string {
  let result = text;
  for (const { pattern } of VALUE_PATTERNS) result = result.replace(pattern, REDACTED);
  result = result.replace(ASSIGNMENT, (whole, name: string, value: string) =>
    isSecretName(name) && !isPlaceholder(value.replace(/^["']|["']$/g, "")) ? `${name}=${REDACTED}` : whole,
  );
  return result.replace(
    /^((?:\/bin\/sh -c #\(nop\)\s+)?ENV\s+)([A-Za-z_][A-Za-z0-9_]*)(\s+)(\S.*)$/,
    (whole, prefix: string, name: string, gap: string) =>
      isSecretName(name) ? `${prefix}${name}${gap}${REDACTED}` : whole,
  );
}
