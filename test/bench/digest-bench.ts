/**
 * `npm run bench -- --digest [--subscribers N]`: seeds N subscribers (default 100,000) spread over the four
 * sections (a third follow two), starts Powiadom as `npm start` does, and measures in the same run:
 *   1. notifications: one article to every section, every subscriber `immediate` → e-mails/s end to end;
 *   2. digests: every subscriber switched to `daily`, 20 articles recorded, `POST /api/digests/run` →
 *      digests/s end to end, first digest latency, peak RSS, peak Redis used_memory.
 * The digest rate must be at least half the notification rate. Cleans up its database and Redis keys.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { Redis } from 'ioredis';
import { importSubscribers } from '../../src/core/subscriber-import.ts';
import { createPool, ensureDatabase } from '../../src/db/pool.ts';
import { migrate } from '../../src/db/migrate.ts';
import { deleteKeysWithPrefix } from '../helpers/redis.ts';
import { freePort } from '../helpers/throwaway-servers.ts';

const arg = process.argv.indexOf('--subscribers');
const N = Number(arg > 0 ? process.argv[arg + 1] : (process.env.BENCH_SUBSCRIBERS ?? 100_000));
const ARTICLES = 20;
const SECTIONS = ['aktualnosci', 'dla-mediow', 'komunikaty', 'ogloszenia'];
const BASE_DB = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN = 'bench-admin-token-0123456789';
const id = randomBytes(3).toString('hex');
const prefix = `powiadom-digest-bench-${id}`;
const dbUrl = Object.assign(new URL(BASE_DB), { pathname: `/powiadom_digest_bench_${id}` }).toString();

interface SinkStats { accepted: number; first: number; last: number }
type Sink = { child: ChildProcess; port: number; stats(): Promise<SinkStats>; reset(): void };

function startSink(): Promise<Sink> {
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

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Subscriber i follows one section, every third also the next one; one in ten reads English. */
function topicsOf(i: number): string {
  const first = SECTIONS[i % 4]!;
  return i % 3 === 0 ? `${first} ${SECTIONS[(i + 1) % 4]}` : first;
}

async function seed(): Promise<void> {
  await ensureDatabase(dbUrl);
  const pool = createPool(dbUrl, 4);
  await migrate(pool);
  for (let from = 0; from < N; from += 20_000) {
    const rows = Array.from({ length: Math.min(20_000, N - from) }, (_, i) => ({ email: `digest${from + i}@example.pl`, topics: topicsOf(from + i), lang: (from + i) % 10 === 0 ? 'en' : 'pl' }));
    await importSubscribers(pool, rows);
  }
  await pool.end();
}

/** Samples the RSS of the service and Redis's used_memory every 100 ms; stop() returns the peaks. */
function sample(pid: number, redis: Redis) {
  let rss = 0;
  let used = 0;
  const timer = setInterval(() => {
    rss = Math.max(rss, rssKb(pid));
    void redis.info('memory').then((info) => { used = Math.max(used, Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0)); });
  }, 100);
  return { stop: () => (clearInterval(timer), { rssMb: rss / 1024, redisMb: used / 1048576 }) };
}

async function api(port: number, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 202) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** Sends until the sink accepted `count` messages after `start()`; returns seconds and first-message latency. */
async function measure(sink: Sink, count: number, start: () => Promise<unknown>) {
  sink.reset();
  const t0 = Date.now();
  await start();
  let stats: SinkStats = { accepted: 0, first: 0, last: 0 };
  await waitFor(async () => (stats = await sink.stats()).accepted >= count, 900_000, `${count} messages accepted`);
  return { seconds: (stats.last - t0) / 1000, firstMs: stats.first - t0 };
}

async function runBench(sink: Sink, redis: Redis) {
  const port = await freePort();
  const env = { ...process.env, NODE_ENV: 'production', PORT: String(port), PUBLIC_URL: 'https://powiadom.example', DATABASE_URL: dbUrl, REDIS_URL, QUEUE_PREFIX: prefix, SMTP_URL: `smtp://127.0.0.1:${sink.port}`, SECRET: randomBytes(24).toString('hex'), ADMIN_TOKEN: ADMIN, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', MAIL_FROM: 'Dolnośląski Urząd Wojewódzki <powiadomienia@duw.example>' };
  const app = spawn(process.execPath, ['dist/workers/main.js', '--role=all'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok).catch(() => false)), 30_000, 'Powiadom started');
    await new Promise((r) => setTimeout(r, 2000)); // let the sender threads boot
    const article = (i: number, topics: string[]) => ({ url: `https://www.duw.pl/pl/bench/${i}`, title: `Komunikat ${i}: wizyta, ogłoszenie i informacja dla mediów`, summary: 'Wojewoda i wicewojewoda spotkali się z przedstawicielami samorządów w Dolnośląskim Urzędzie Wojewódzkim.', topics });
    const notifications = await measure(sink, N, () => api(port, '/api/articles', article(0, SECTIONS)));
    const pool = createPool(dbUrl, 2);
    await pool.query("UPDATE subscribers SET frequency = 'daily', frequency_since = clock_timestamp()");
    for (let i = 1; i <= ARTICLES; i++) await api(port, '/api/articles', article(i, [SECTIONS[i % 4]!]));
    await pool.end();
    const peaks = sample(app.pid!, redis);
    const digests = await measure(sink, N, () => api(port, '/api/digests/run', { frequency: 'daily' }));
    return { notifications, digests, ...peaks.stop() };
  } finally {
    app.kill('SIGTERM');
    await new Promise((r) => app.once('exit', r));
  }
}

async function cleanup(): Promise<void> {
  await deleteKeysWithPrefix(prefix, REDIS_URL);
  const admin = new pg.Client({ connectionString: BASE_DB });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(new URL(dbUrl).pathname.slice(1))} WITH (FORCE)`);
  await admin.end();
}

/** The digest benchmark; exits with status 1 when digests reach less than half the notification rate. */
export async function runDigestBench(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const sink = await startSink();
  try {
    execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
    console.log(`seeding ${N} subscribers over ${SECTIONS.length} sections…`);
    await seed();
    const r = await runBench(sink, redis);
    const notificationRate = N / r.notifications.seconds;
    const digestRate = N / r.digests.seconds;
    console.log(`\nPowiadom, ${N} subscribers (npm start defaults):`);
    console.log(`  notifications (1 article, every subscriber immediate): ${r.notifications.seconds.toFixed(2)} s = ${Math.round(notificationRate)} e-mails/s, first after ${r.notifications.firstMs} ms`);
    console.log(`  digests (${ARTICLES} articles, every subscriber daily): ${r.digests.seconds.toFixed(2)} s = ${Math.round(digestRate)} digests/s, first after ${r.digests.firstMs} ms`);
    console.log(`  during the digest run: peak RSS ${r.rssMb.toFixed(0)} MB (service process), peak Redis used_memory ${r.redisMb.toFixed(1)} MB`);
    console.log(`  digest rate / notification rate: ${((100 * digestRate) / notificationRate).toFixed(0)} % (at least 50 % required)`);
    if (digestRate < notificationRate / 2) process.exitCode = 1;
  } finally {
    sink.child.send({ type: 'exit' });
    await cleanup().catch((err: unknown) => console.error('cleanup failed', err));
    redis.disconnect();
  }
}
