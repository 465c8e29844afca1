import pg from 'pg';

/** Anything that can run a query: the pool or a client inside a transaction. */
export type Db = Pick<pg.Pool, 'query'>;

// int8 (bigint ids, counts) as JS numbers: our ids and counts stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/**
 * Creates the PostgreSQL pool; errors on idle clients are logged by the caller, never crash. Services fail
 * fast (3 s) when no connection comes; the CLI waits longer (`connectTimeoutMs`), since an operator's
 * command on a busy server should finish rather than exit 1 on a slow connect.
 */
export function createPool(databaseUrl: string, max = 10, connectTimeoutMs = 3000): pg.Pool {
  return new pg.Pool({ connectionString: databaseUrl, max, connectionTimeoutMillis: connectTimeoutMs, idleTimeoutMillis: 30000 });
}

/**
 * True when PostgreSQL answered a statement with an error: the statement (and an implicit transaction
 * around it) was rolled back. False for a lost connection, after which nobody knows what was committed.
 */
export function isRefusedStatement(err: unknown): boolean {
  return err instanceof pg.DatabaseError;
}

/** Runs `work` in a transaction on one client; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A session terminated between two statements (PostgreSQL restarting) emits 'error' on the checked-out
  // client; unhandled, that would crash the process. The next statement fails anyway and is reported.
  const ignore = () => undefined;
  client.on('error', ignore);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // A client that cannot even roll back is discarded instead of returned to the pool.
    await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw err;
  } finally {
    client.off('error', ignore);
    client.release(broken);
  }
}

/** Creates the database named in `databaseUrl` when it does not exist yet (connects to "postgres"). */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) return false;
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`).catch((err: { code?: string }) => {
      if (err.code !== '42P04') throw err; // created concurrently by another process
    });
    return true;
  } finally {
    await client.end();
  }
}

/** PostgreSQL unique_violation (SQLSTATE 23505). */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505';
}
