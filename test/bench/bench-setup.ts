/**
 * What the fan-out and digest benchmarks share: the SMTP sink in a process of its own, /proc sampling,
 * waiting on progress, seeding subscribers through the import path, and removing the run's database and keys.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { importSubscribers } from '../../src/core/subscriber-import.ts';
import { createPool, ensureDatabase } from '../../src/db/pool.ts';
import { migrate } from '../../src/db/migrate.ts';
import { deleteKeysWithPrefix } from '../helpers/redis.ts';

/** What the sink counted since its last reset: messages accepted, times of the first and last. */
export interface SinkStats { accepted: number; first: number; last: number }
/** The SMTP sink (test/bench/smtp-sink.ts) running in its own process. */
export type Sink = { child: ChildProcess; port: number; stats(): Promise<SinkStats>; reset(): void };

/** Starts the SMTP sink in a child process; resolves once it listens. */
export function startSink(): Promise<Sink> {
  const child = fork(new URL('./smtp-sink.ts', import.meta.url).pathname, [], { execArgv: process.execArgv });
  return new Promise((resolve) => {
    child.once('message', (m: { port: number }) => {
      resolve({
        child,
        port: m.port,
        reset: () => child.send({ type: 'reset' }),
        stats: () => new Promise((r) => { child.once('message', (s) => r(s as SinkStats)); child.send({ type: 'stats' }); }),
      });
    });
  });
}

/** Resident memory of a process in kB (0 once it is gone). */
export function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Polls `check` every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Creates and migrates the database, then imports `count` subscribers (row i from `rowOf(i)`) 20,000 at a time; returns the import's milliseconds. */
export async function seedSubscribers(dbUrl: string, count: number, rowOf: (i: number) => Record<string, string>): Promise<number> {
  await ensureDatabase(dbUrl);
  const pool = createPool(dbUrl, 4);
  await migrate(pool);
  const started = Date.now();
  for (let from = 0; from < count; from += 20_000) {
    await importSubscribers(pool, Array.from({ length: Math.min(20_000, count - from) }, (_, i) => rowOf(from + i)));
  }
  await pool.end();
  return Date.now() - started;
}

/** Removes the run's Redis keys and drops its database. */
export async function removeBenchData(prefix: string, redisUrl: string, baseDbUrl: string, dbUrl: string): Promise<void> {
  await deleteKeysWithPrefix(prefix, redisUrl);
  const admin = new pg.Client({ connectionString: baseDbUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(new URL(dbUrl).pathname.slice(1))} WITH (FORCE)`);
  await admin.end();
}
