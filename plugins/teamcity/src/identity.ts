import { createHash } from "node:crypto";

const MAX_IDENTITY = 60;

/**
 * The buildProblem identity for a policy rule. TeamCity keys problem history, muting and
 * investigations on it, so it depends on the rule alone (never on counts, image tags or
 * findings) and must be a Java identifier of at most 60 characters.
 */
export function problemIdentity(rule: string): string {
  const identity = `stowaway_${rule.replace(/[^A-Za-z0-9_]/g, "_")}`;
  if (identity.length <= MAX_IDENTITY) return identity;
  // Two long rules sharing a prefix must not merge into one problem.
  const digest = createHash("sha256").update(rule).digest("hex").slice(0, 8);
  return `${identity.slice(0, MAX_IDENTITY - digest.length - 1)}_${digest}`;
}

const TRANSPORTS = /^(oci-archive|docker-archive|oci|sbom|docker-daemon|containerd|podman|dir):/;

/**
 * The test suite name for a scanned image: the repository without tag or digest, because TeamCity
 * tracks test history by suite and name, and a per-build tag would start a new history every build.
 * Archives and local paths are named by their path, which is stable already.
 */
export function suiteName(reference: string): string {
  if (TRANSPORTS.test(reference)) return `stowaway ${reference}`;
  const withoutDigest = reference.split("@")[0]!;
  const slash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.lastIndexOf(":");
  return `stowaway ${colon > slash ? withoutDigest.slice(0, colon) : withoutDigest}`;
}
