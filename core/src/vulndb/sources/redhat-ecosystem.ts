/**
 * "cpe:/a:redhat:enterprise_linux:9::appstream" → "Red Hat:enterprise_linux:9::appstream" (OSV's Red Hat
 * naming, R18). Its own module so matching (match/rpm.ts) does not load the CSAF parser and packageurl-js.
 */
export function redHatEcosystem(cpe: string): string | undefined {
  const m = /^cpe:\/[aoh]:redhat:(.+)$/.exec(cpe.trim());
  return m ? `Red Hat:${m[1]}` : undefined;
}
