import type { X509Certificate } from "node:crypto";

/**
 * Whether `cert` was valid at `at`: within its validity period (RFC 5280 §4.1.2.5), both ends
 * inclusive. An unreadable date makes the certificate not valid.
 */
export function validAt(cert: X509Certificate, at: Date): boolean {
  return new Date(cert.validFrom) <= at && at <= new Date(cert.validTo);
}

/** Whether `cert` was valid for the whole of [from, to] (a trusted time known within an accuracy). */
export function validThroughout(cert: X509Certificate, from: Date, to: Date): boolean {
  return validAt(cert, from) && validAt(cert, to);
}
