import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../infra/project-root.ts';

/**
 * Loads queries/<domain>.sql, where each query starts with a `-- name: <name>` line followed by
 * comment lines that document it. Returns an accessor that throws at start-up for a missing name,
 * so a typo fails the boot (and the tests), not a request.
 */
export function loadNamedQueries<const N extends string>(domain: string, names: readonly N[]): Record<N, string> {
  const text = readFileSync(join(PROJECT_ROOT, 'src', 'db', 'queries', `${domain}.sql`), 'utf8');
  const found = new Map<string, string>();
  for (const block of text.split(/^-- name: /m).slice(1)) {
    const newline = block.indexOf('\n');
    const name = block.slice(0, newline).trim();
    if (found.has(name)) throw new Error(`Duplicate query ${domain}/${name}`);
    found.set(name, block.slice(newline + 1).trim());
  }
  const result = {} as Record<N, string>;
  for (const name of names) {
    const sql = found.get(name);
    if (!sql) throw new Error(`Query ${domain}/${name} is missing from queries/${domain}.sql`);
    result[name] = sql;
  }
  return result;
}
