/**
 * The 1-based line of the last FROM instruction: the stage that becomes the image, so the base
 * image its OS packages came from. CI adapters anchor image findings there (annotations, SARIF,
 * issue source lines) because an image has no source line of its own.
 */
export function finalFromLine(dockerfile: string): number | undefined {
  let found: number | undefined;
  dockerfile.split(/\r?\n/).forEach((line, index) => {
    if (/^\s*FROM\s/i.test(line)) found = index + 1;
  });
  return found;
}
