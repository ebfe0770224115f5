/** What a database backend yields: the stored header blobs, and what it had to skip. */
export interface BlobRead {
  blobs: Buffer[];
  /** Short descriptions of damaged or unsupported parts; reading goes on past them where it can. */
  problems: string[];
}
