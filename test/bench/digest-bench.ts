/**
 * `npm run bench -- --digest [--subscribers N]`: seeds N subscribers (default 100,000) spread over the four
 * sections (a third follow two), starts Powiadom as `npm start` does, and measures in the same run:
 *   1. notifications: one article to every section, every subscriber `immediate` → e-mails/s end to end;
 *   2. digests: every subscriber switched to `daily`, 20 articles recorded, `POST /api/digests/run` →
 *      digests/s end to end, first digest latency, peak RSS, peak Redis used_memory.
 * The digest rate must be at least half the notification rate. Cleans up its database and Redis keys.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createPool } from '../../src/db/pool.ts';
import { freePort } from '../helpers/throwaway-servers.ts';
import { removeBenchData, rssKb, seedSubscribers, startSink, waitFor, type Sink, type SinkStats } from './bench-setup.ts';

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

/** Subscriber i follows one section, every third also the next one; one in ten reads English. */
function topicsOf(i: number): string {
  const first = SECTIONS[i % 4]!;
  return i % 3 === 0 ? `${first} ${SECTIONS[(i + 1) % 4]}` : first;
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

/** The digest benchmark; exits with status 1 when digests reach less than half the notification rate. */
export async function runDigestBench(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const sink = await startSink();
  try {
    execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
    console.log(`seeding ${N} subscribers over ${SECTIONS.length} sections…`);
    await seedSubscribers(dbUrl, N, (i) => ({ email: `digest${i}@example.pl`, topics: topicsOf(i), lang: i % 10 === 0 ? 'en' : 'pl' }));
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
    await removeBenchData(prefix, REDIS_URL, BASE_DB, dbUrl).catch((err: unknown) => console.error('cleanup failed', err));
    redis.disconnect();
  }
}
