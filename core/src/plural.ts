/**
 * "1 image", "2 images", "0 images": a count with its noun in agreement. `many` for nouns whose plural
 * is not `word + "s"` ("repository", "repositories"). Imports nothing (the CLI bundles it at start-up
 * through `@stowaway/core/log-safety`).
 */
export function plural(count: number, word: string, many = `${word}s`): string {
  return `${count} ${count === 1 ? word : many}`;
}
