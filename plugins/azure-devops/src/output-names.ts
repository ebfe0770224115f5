import type { ReportFormat } from "@stowaway/core";

/** `report-json` in the other adapters' idiom is `reportJson` here: variable names cannot hold '-'. */
export function outputVariableForReport(format: ReportFormat): string {
  return `report${format.charAt(0).toUpperCase()}${format.slice(1)}`;
}
