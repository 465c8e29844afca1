import { loadConfig } from '../config.ts';
import { createPool, ensureDatabase } from './pool.ts';
import { migrate } from './migrate.ts';

/** `npm run migrate`: creates the database when missing and applies pending migrations. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (await ensureDatabase(config.DATABASE_URL)) console.log('Created the database.');
  const pool = createPool(config.DATABASE_URL, 1);
  try {
    const applied = await migrate(pool);
    console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'The database is up to date.');
  } finally {
    await pool.end();
  }
}

main().catch((err: unknown) => {
  console.error(`Migration failed: ${(err as Error).message}`);
  process.exit(1);
});
