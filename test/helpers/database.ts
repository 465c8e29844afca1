import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPool, ensureDatabase } from '../../src/db/pool.ts';
import { migrate } from '../../src/db/migrate.ts';

/** Base URL of the machine's PostgreSQL (tests create their own databases on it). */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A migrated database of its own for one test file. */
export interface TestDatabase {
  url: string;
  name: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/** Creates and migrates a uniquely named database; drop() removes it (forcing out leftover sessions). */
export async function createTestDatabase(label = 't'): Promise<TestDatabase> {
  const name = `powiadom_test_${label.replace(/\W/g, '').slice(0, 20)}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  await ensureDatabase(url.toString());
  const pool = createPool(url.toString(), 5);
  // pool.end() resolves before its clients' sockets are closed; the DROP ... WITH (FORCE) below may then
  // terminate one, whose 'error' the pool re-emits: without a listener that is an uncaught exception.
  pool.on('error', () => undefined);
  await migrate(pool);
  return {
    url: url.toString(),
    name,
    pool,
    async drop() {
      await pool.end().catch(() => undefined);
      const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
