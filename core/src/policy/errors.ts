import { StowawayError } from "../errors.js";

/** A policy, ignore file or VEX document that cannot be used; the message names file, line and field. */
export class PolicyError extends StowawayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "POLICY_ERROR", options);
  }
}
