export { readBdbHashValues } from "./bdb.js";
export type { BlobRead } from "./blobs.js";
export { createRpmCataloger } from "./cataloger.js";
export { RpmHeader, TAG as RPM_TAG, parseSourceRpm, toRpmEntry, type EntryResult, type RpmEntry } from "./header.js";
export { readNdbBlobs } from "./ndb.js";
export { readSqliteBlobs } from "./sqlite.js";
export { rpmThirdPartyVendor } from "./third-party.js";
