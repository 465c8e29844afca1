import { loadConfig } from '../config.ts';
import { closeDeps, createDeps, type Deps } from '../deps.ts';
import { createLogger } from '../log.ts';

/** How long a CLI command waits for a PostgreSQL connection (services: 3 s). */
const CLI_DB_CONNECT_TIMEOUT_MS = 30_000;

/** A mistake in how the CLI was called (exit status 2), as opposed to a failure doing the work (1). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Exit statuses scripts may rely on. */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const;

/** Prints a result line to stdout. */
export function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Prints a message for the operator to stderr. */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Boots the same dependencies as the API and the workers (configuration from the environment, no HTTP
 * server, no workers), runs `work` and closes every connection. Logs go to stderr, warnings and up.
 */
export async function withDeps<T>(work: (deps: Deps) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const level = config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL;
  const log = createLogger(level, false, { write: (line: string) => void process.stderr.write(line) }).child({ role: 'cli' });
  const deps = await createDeps(config, log, CLI_DB_CONNECT_TIMEOUT_MS);
  let result: T;
  try {
    result = await work(deps);
  } catch (err) {
    // The command's own error is what the operator must see, not one from closing connections after it.
    await closeDeps(deps).catch(() => undefined);
    throw err;
  }
  await closeDeps(deps);
  return result;
}

/** Parses a positive integer id given on the command line; wrong usage (exit 2) otherwise, before anything connects. */
export function parseId(text: string, what: string): number {
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id <= 0) throw new UsageError(`"${text}" is not ${what} id.`);
  return id;
}
