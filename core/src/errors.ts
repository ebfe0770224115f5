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
