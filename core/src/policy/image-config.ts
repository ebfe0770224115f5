/**
 * What the policy needs from the image config that the scan result leaves out on purpose
 * (environment values can be secrets). The CLI builds it from the config blob it already read.
 */
export interface ImageConfigFacts {
  user?: string;
  labels?: Record<string, string>;
  env?: { name: string; value: string }[];
  /** `created_by` of every history entry, empty layers included, oldest first. */
  history?: string[];
  /** RFC 3339 creation time. */
  created?: string;
}

/** The parts of an OCI/Docker image config JSON this module reads. */
export interface ImageConfigJson {
  created?: string;
  config?: { User?: string; Labels?: Record<string, string> | null; Env?: string[] | null } | null;
  history?: { created_by?: string }[] | null;
}

export function imageConfigFacts(config: ImageConfigJson): ImageConfigFacts {
  const env = (config.config?.Env ?? []).map((entry) => {
    const equals = entry.indexOf("=");
    return equals === -1
      ? { name: entry, value: "" }
      : { name: entry.slice(0, equals), value: entry.slice(equals + 1) };
  });
  return {
    user: config.config?.User ?? "",
    labels: { ...(config.config?.Labels ?? {}) },
    env,
    history: (config.history ?? []).map((entry) => entry.created_by ?? ""),
    ...(config.created ? { created: config.created } : {}),
  };
}
