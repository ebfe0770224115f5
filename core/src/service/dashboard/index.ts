// Placeholder with the contract's signature (docs/service.md); the dashboard branch replaces this file.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { InventoryStore } from "../../store/types.js";

export interface DashboardOptions {
  store: InventoryStore;
  now?: () => Date;
}

/** Handles the dashboard's pages and read-model endpoints; false when the path is not its own. */
export function createDashboardHandler(
  options: DashboardOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  void options;
  return async () => false;
}
