import os from "node:os";
import path from "node:path";
import * as core from "@actions/core";
import {
  inputVariable,
  parseCommonInputs,
  SECRET_INPUTS,
  StowawayError,
  withEnvFallback,
  type CommonInputs,
} from "@stowaway/core";

/** Inputs only the GitHub Action has, beside the common ones every adapter shares (docs/ci-contract.md). */
export interface ActionInputs {
  common: CommonInputs;
  githubToken?: string;
  summary: boolean;
  annotations: boolean;
  cacheDb: boolean;
  /** The Dockerfile annotations and SARIF results point at (its last FROM line), relative to the repository. */
  dockerfile?: string;
}

function read(name: string): string | undefined {
  const value = core.getInput(name);
  return value === "" ? undefined : value;
}

function flag(name: string, fallback: boolean): boolean {
  const value = read(name)?.trim().toLowerCase();
  if (value === undefined) return fallback;
  if (["true", "yes", "1", "on"].includes(value)) return true;
  if (["false", "no", "0", "off"].includes(value)) return false;
  throw new StowawayError(`input ${name}: "${value}" is not a boolean; use true or false`);
}

/**
 * Masks every secret input before anything else can print: the runner only redacts values it was
 * told about, and a validation message or a debug line could otherwise echo one.
 */
export function maskSecrets(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of [...SECRET_INPUTS, "github-token"]) {
    // The `with:` value, and the STOWAWAY_* variable that stands in for it (withEnvFallback).
    for (const value of [read(name)?.trim(), env[inputVariable(name)]?.trim()]) {
      if (value) core.setSecret(value);
    }
  }
}

/**
 * `with:` inputs first, then `STOWAWAY_*` variables (a runner-wide mirror, say). Paths are taken as
 * given: the runner starts actions in GITHUB_WORKSPACE, so they mean the checkout.
 */
export function readInputs(env: NodeJS.ProcessEnv): ActionInputs {
  const outputDir = path.join(env.RUNNER_TEMP || os.tmpdir(), "stowaway");
  const common = parseCommonInputs(withEnvFallback(read, env), { outputDir });
  const githubToken = read("github-token")?.trim();
  const dockerfile = read("dockerfile")?.trim();
  return {
    common,
    ...(githubToken ? { githubToken } : {}),
    summary: flag("summary", true),
    annotations: flag("annotations", true),
    cacheDb: flag("cache-db", true),
    ...(dockerfile ? { dockerfile } : {}),
  };
}
