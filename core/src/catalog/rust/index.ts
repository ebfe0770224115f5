export { createRustBinaryCataloger } from "./cataloger.js";
export { parseAuditData, type AuditedCrate } from "./audit-data.js";
