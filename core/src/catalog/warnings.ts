/** Formats a cataloger warning the one way reports expect: "<source>: <path>: <message>". */
export function warning(source: string, path: string | undefined, message: string): string {
  return path ? `${source}: ${path}: ${message}` : `${source}: ${message}`;
}
