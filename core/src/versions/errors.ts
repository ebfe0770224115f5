import { StowawayError } from "../errors.js";

/**
 * A version string that the ecosystem's own tooling would reject. We refuse to order it rather than
 * fall back to string comparison, because a wrong order silently flips a vulnerable/fixed verdict.
 */
export class InvalidVersionError extends StowawayError {
  constructor(
    readonly ecosystem: string,
    readonly version: string,
    reason: string,
  ) {
    super(`invalid ${ecosystem} version ${JSON.stringify(version)}: ${reason}`, "VERSION_INVALID");
  }
}

/** An OSV ecosystem for which Stowaway has no comparator; callers should skip the advisory range. */
export class UnsupportedEcosystemError extends StowawayError {
  constructor(readonly ecosystem: string) {
    super(
      `no version comparator for ecosystem ${JSON.stringify(ecosystem)}; ranges for it cannot be evaluated`,
      "ECOSYSTEM_UNSUPPORTED",
    );
  }
}
