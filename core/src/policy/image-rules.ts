import type { PolicyViolation, ScanResult } from "../result.js";
import { ageInDays } from "./dates.js";
import { globMatch } from "./glob.js";
import { imageOrigin, normaliseRegistry } from "./image-reference.js";
import type { ImageConfigFacts } from "./image-config.js";
import { detectInHistory, detectInVariable, type SecretHit } from "./secrets.js";
import type { ImageRules } from "./types.js";

function rule(name: string, message: string): PolicyViolation {
  return { rule: name, message, findingIds: [] };
}

/**
 * Rules about the image itself. Facts come from the image config when the caller has it and from
 * the scan result otherwise; a rule whose facts are missing is reported as unchecked (a warning),
 * never as passed.
 */
export function imageViolations(
  result: ScanResult,
  rules: ImageRules,
  config: ImageConfigFacts | undefined,
  now: Date,
  warnings: string[],
): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const { artifact } = result;
  const origin = imageOrigin(artifact.reference);

  if (rules.allowedRegistries && rules.allowedRegistries.length > 0) {
    if (origin.kind === "registry") {
      const host = normaliseRegistry(origin.ref.registry);
      const full = `${host}/${origin.ref.repository}`;
      const allowed = rules.allowedRegistries.some((entry) => {
        const slash = entry.indexOf("/");
        if (slash === -1) return globMatch(entry.toLowerCase(), host) || globMatch(normaliseRegistry(entry), host);
        return globMatch(`${normaliseRegistry(entry.slice(0, slash))}${entry.slice(slash)}`, full);
      });
      if (!allowed) {
        violations.push(
          rule(
            "image.allowedRegistries",
            `${artifact.reference} comes from ${host}, which is not among the allowed registries (${rules.allowedRegistries.join(", ")})`,
          ),
        );
      }
    } else {
      warnings.push(`image.allowedRegistries not checked: ${artifact.reference} was not pulled from a registry`);
    }
  }

  if (rules.disallowLatestTag) {
    if (origin.kind === "registry") {
      const { digest } = origin.ref;
      const tag = origin.tagWritten ? origin.ref.tag : undefined;
      if (tag === "latest") {
        violations.push(rule("image.disallowLatestTag", `${artifact.reference} uses the "latest" tag; pin a version`));
      } else if (tag === undefined && digest === undefined) {
        violations.push(
          rule("image.disallowLatestTag", `${artifact.reference} has no tag, so it means "latest"; pin a version`),
        );
      }
    } else {
      warnings.push(`image.disallowLatestTag not checked: ${artifact.reference} has no registry tag`);
    }
  }

  if (rules.disallowRoot) {
    const user = (config?.user ?? artifact.user ?? "").trim();
    const name = user.split(":")[0]!;
    if (name === "" || name === "root" || name === "0") {
      violations.push(
        rule(
          "image.disallowRoot",
          user === "" ? "the image runs as root (no USER is set)" : `the image runs as root (USER ${user})`,
        ),
      );
    }
  }

  if (rules.requiredLabels && rules.requiredLabels.length > 0) {
    const labels = config?.labels ?? artifact.labels ?? {};
    const missing = rules.requiredLabels.filter((label) => !labels[label]?.trim());
    if (missing.length > 0) {
      violations.push(
        rule(
          "image.requiredLabels",
          `the image lacks required label${missing.length === 1 ? "" : "s"} ${missing.join(", ")}`,
        ),
      );
    }
  }

  if (rules.disallowSecrets) {
    if (config?.env === undefined && config?.history === undefined) {
      warnings.push("image.disallowSecrets not checked: the image config (environment, history) was not provided");
    } else {
      violations.push(...secretViolations(config));
    }
  }

  if (rules.maxAgeDays !== undefined) {
    const created = config?.created ?? artifact.created;
    const age = ageInDays(created, now);
    if (age === undefined) {
      warnings.push("image.maxAgeDays not checked: the image has no creation time");
    } else if (age > rules.maxAgeDays) {
      violations.push(
        rule(
          "image.maxAgeDays",
          `the image was created ${Math.floor(age)} days ago (${created}), more than the ${rules.maxAgeDays} allowed; rebuild it`,
        ),
      );
    }
  }
  return violations;
}

function describeHits(hits: SecretHit[]): string {
  return [...new Set(hits.map((hit) => (hit.variable ? `${hit.variable} (${hit.kind})` : hit.kind)))].join(", ");
}

/** Messages say where and what kind; the value itself never leaves this function. */
function secretViolations(config: ImageConfigFacts): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const envHits = (config.env ?? []).flatMap(({ name, value }) => detectInVariable(name, value));
  if (envHits.length > 0) {
    violations.push(
      rule("image.disallowSecrets", `the image environment holds secrets: ${describeHits(envHits)} (values redacted)`),
    );
  }
  (config.history ?? []).forEach((line, index) => {
    const hits = detectInHistory(line);
    if (hits.length > 0) {
      violations.push(
        rule(
          "image.disallowSecrets",
          `build history entry ${index} holds secrets: ${describeHits(hits)} (values redacted); they stay readable in the image config even if a later step removes them`,
        ),
      );
    }
  });
  return violations;
}

export function databaseViolations(
  result: ScanResult,
  maxAgeDays: number | undefined,
  now: Date,
  warnings: string[],
): PolicyViolation[] {
  if (maxAgeDays === undefined) return [];
  const age = ageInDays(result.database?.builtAt, now);
  if (age === undefined) {
    warnings.push("database.maxAgeDays not checked: no vulnerability database was used");
    return [];
  }
  if (age <= maxAgeDays) return [];
  return [
    rule(
      "database.maxAgeDays",
      `the vulnerability database was built ${Math.floor(age)} days ago (${result.database!.builtAt}), more than the ${maxAgeDays} allowed; update it`,
    ),
  ];
}
