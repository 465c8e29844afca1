import cluster from 'node:cluster';
import { loadConfig, type Config } from '../config.ts';
import { createPool, ensureDatabase } from '../db/pool.ts';
import { migrate } from '../db/migrate.ts';
import { createDeps, type Deps } from '../deps.ts';
import { createRoleLogger, type Logger } from '../log.ts';
import { logStartup } from './startup-report.ts';

/** Creates the database when missing and applies pending migrations. */
export async function prepareDatabase(config: Config, log: Logger): Promise<void> {
  if (await ensureDatabase(config.DATABASE_URL)) log.info('created the database');
  const pool = createPool(config.DATABASE_URL, 1);
  try {
    const applied = await migrate(pool);
    if (applied.length > 0) log.info({ applied }, 'applied migrations');
  } finally {
    await pool.end();
  }
}

/** Reads configuration, creates the database when missing, migrates it, and builds the dependencies. */
export async function boot(role: string): Promise<{ config: Config; log: Logger; deps: Deps }> {
  const config = loadConfig();
  const log = createRoleLogger(config, role);
  // the API processes of a cluster leave the summary to their primary (src/main.ts): one line per start
  if (!cluster.isWorker) logStartup(log, config, role);
  if (config.usingDevelopmentSecret) log.warn('SECRET is not set: using the development default; set SECRET in production');
  await prepareDatabase(config, log);
  return { config, log, deps: await createDeps(config, log) };
}
