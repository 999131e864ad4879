/** `KEY=value` lines as an env object, or the first line that is not one. */
export function parseEnvLines(text: string): { env: Record<string, string> } | { problem: string } {
  const env: Record<string, string> = {};
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const equals = line.indexOf('=');
    if (equals <= 0) return { problem: `Environment line ${index + 1} is not NAME=value: “${line}”.` };
    env[line.slice(0, equals).trim()] = line.slice(equals + 1);
  }
  return { env };
}
