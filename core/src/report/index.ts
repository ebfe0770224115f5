export { renderJson } from "./json.js";
export { renderInventoryTable, alignColumns, type TableOptions } from "./table.js";
export { writeFileAtomic } from "./write.js";
