import { parseRegistryReference, parseTarget } from "../image/reference.js";

/** Credentials a CI platform holds for one registry (a service connection, a credentials id ...). */
export interface RegistryLogin {
  /** The registry as the platform names it: a host, a URL, or Docker Hub's index URL. */
  registry: string;
  username: string;
  password: string;
}

/**
 * The API host a connection's registry field names (`https://index.docker.io/v1/`,
 * `contoso.azurecr.io`, `localhost:5000` ...), normalised the way image references are, so that
 * Docker Hub's several names compare equal.
 */
export function loginRegistryHost(registry: string): string {
  const host = (
    registry
      .trim()
      .replace(/^[a-z][a-z0-9+.-]*:\/\//i, "")
      .split("/")[0] ?? ""
  ).toLowerCase();
  try {
    return parseRegistryReference(`${host}/probe`).registry.toLowerCase();
  } catch {
    return host;
  }
}

/**
 * Credentials go only to the registry they were made for: an image from another registry (or an
 * archive) is scanned without them, and the reason is returned for the log.
 */
export function loginForImage(
  image: string,
  login: RegistryLogin,
): { username: string; password: string } | { skipped: string } {
  let registry: string;
  try {
    const target = parseTarget(image);
    if (target.kind !== "registry") return { skipped: `${image} is not a registry image` };
    registry = target.ref.registry.toLowerCase();
  } catch {
    // The scan reports an unreadable image reference itself, with the core's wording.
    return { skipped: `${image} is not a valid registry reference` };
  }
  const wanted = loginRegistryHost(login.registry);
  if (registry !== wanted) {
    return { skipped: `the image is on ${registry}, the credentials are for ${wanted}` };
  }
  return { username: login.username, password: login.password };
}
