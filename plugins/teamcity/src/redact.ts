import { escapeValue } from "./service-message.js";

/**
 * Masks secret values in an output line, in their raw and their escaped form (a secret with a quote
 * in it appears escaped inside a service message). TeamCity masks password parameters too, but only
 * their exact values, and only for parameters it knows are passwords.
 */
export function redactor(secrets: (string | undefined)[]): (line: string) => string {
  const forms = [
    ...new Set(secrets.filter((secret): secret is string => !!secret).flatMap((s) => [s, escapeValue(s)])),
  ].sort((a, b) => b.length - a.length);
  return (line) => forms.reduce((text, form) => text.split(form).join("***"), line);
}
