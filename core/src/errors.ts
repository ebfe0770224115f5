/**
 * An expected failure caused by the input (bad archive, missing image, auth refused ...).
 * The CLI prints `message` as a single line without a stack trace, so the message must name
 * the input and say what to do.
 */
export class StowawayError extends Error {
  constructor(
    message: string,
    readonly code: string = "STOWAWAY_ERROR",
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The image, its archive or its registry could not be read as an OCI/Docker image. */
export class ImageError extends StowawayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "IMAGE_ERROR", options);
  }
}

/** Input that looks deliberately or accidentally dangerous (path traversal, bombs, loops). */
export class HostileInputError extends ImageError {}

/** The registry refused our credentials or asked for ones we do not have. */
export class RegistryAuthError extends StowawayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "REGISTRY_AUTH", options);
  }
}

/**
 * Names a string read from an image (a tag, a member path, a platform) inside an error message
 * without quoting its bytes raw: a JSON-quoted excerpt, so the message stays one line with controls
 * escaped, cut to `max` characters with the full length when longer. Whoever prints the message
 * still passes it through the log neutraliser (docs/log-safety.md).
 */
export function quoteInput(text: string, max = 160): string {
  if (text.length <= max) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, max))}... (${text.length} characters)`;
}

/** Tags, platforms, digests: shown bare when they hold nothing else. */
const PLAIN = /^[A-Za-z0-9._/:@+-]{1,128}$/;

/**
 * A list read from an image (tags, platforms), cut to its first `max` entries; plain values are shown
 * bare, anything else quoted as {@link quoteInput} does.
 */
export function quoteInputs(values: readonly string[], max = 16): string {
  const shown = values.slice(0, max).map((value) => (PLAIN.test(value) ? value : quoteInput(value)));
  return values.length > max ? `${shown.join(", ")} and ${values.length - max} more` : shown.join(", ");
}
