import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Reads `.env` from the working directory into process.env when the file exists (Node's own
 * process.loadEnvFile, no dependency). A variable already set in the real environment wins over the file,
 * so systemd's EnvironmentFile=, `docker run -e` and a shell's `FOO=bar npm start` keep the last word.
 * Returns the path read, or undefined when there was none.
 */
export function loadEnvFileIfPresent(path = '.env'): string | undefined {
  const full = resolve(path);
  if (!existsSync(full)) return undefined;
  process.loadEnvFile(full);
  return full;
}
