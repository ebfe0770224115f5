import * as tl from "azure-pipelines-task-lib/task.js";
import { StowawayError } from "@stowaway/core";

import type { RegistryLogin } from "@stowaway/core";

export type { RegistryLogin };

/**
 * Reads the connection's credentials and registers the password as a secret before anything is
 * logged. The password is taken from the whole authorization object because task-lib's
 * getEndpointAuthorizationParameter writes each value it returns into a debug line in clear text;
 * the agent masks it, but only after the raw line has left this process.
 */
export function readRegistryLogin(connectionId: string): RegistryLogin {
  const authorization = tl.getEndpointAuthorization(connectionId, true);
  if (!authorization) {
    throw new StowawayError(
      `service connection ${connectionId}: no authorization reached the task; check that the pipeline may use the connection`,
    );
  }
  const parameter = (key: string): string | undefined =>
    Object.entries(authorization.parameters ?? {})
      .find(([name]) => name.toLowerCase() === key)?.[1]
      ?.trim() || undefined;
  const password = parameter("password");
  if (password) tl.setSecret(password);
  const username = parameter("username");
  const registry = parameter("registry") ?? tl.getEndpointUrl(connectionId, true);
  if (!username || !password || !registry) {
    throw new StowawayError(
      `service connection ${connectionId}: a Docker Registry connection with a registry, a user name and a password is required (ACR service-principal connections are not supported yet)`,
    );
  }
  return { registry, username, password };
}
