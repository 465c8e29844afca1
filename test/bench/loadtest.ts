// `npm run loadtest`: builds and starts the API (dist/src/main.js, as `npm run start:api`) on loopback with its own database and queue prefix,
// the per-IP limit raised for the run, drives POST /api/subscriptions then GET /subscribe with
// autocannon (bounded in time and count), checks that every accepted subscription is a row in
// PostgreSQL, and removes the database and Redis keys afterwards.
// The subscription phase is bounded by count (every request is answered before counting rows) and
// by time (past LOADTEST_MAX_SECONDS the API is stopped and the run fails); the form phase by time.
// Tunables: LOADTEST_SUBSCRIPTIONS (20000), LOADTEST_MAX_SECONDS (60), LOADTEST_SECONDS (10, form),
// LOADTEST_CONNECTIONS (20), LOADTEST_API_PROCESSES (1: the API's API_PROCESSES), LOADTEST_API_NODE_ARGS
// (extra node options for the API, space-separated: `--cpu-prof --cpu-prof-dir=/tmp/prof` profiles it).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import { ensureDatabase } from '../../src/db/pool.ts';
import { deleteKeysWithPrefix } from '../helpers/redis.ts';
import { freePort } from '../helpers/throwaway-servers.ts';

const SUBSCRIPTIONS = Number(process.env.LOADTEST_SUBSCRIPTIONS ?? 20_000);
const MAX_SECONDS = Number(process.env.LOADTEST_MAX_SECONDS ?? 60);
const SECONDS = Number(process.env.LOADTEST_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.LOADTEST_CONNECTIONS ?? 20);
const API_PROCESSES = Number(process.env.LOADTEST_API_PROCESSES ?? 1);
const API_NODE_ARGS = (process.env.LOADTEST_API_NODE_ARGS ?? '').split(' ').filter(Boolean);
const POSTGRES_URL = process.env.LOADTEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.LOADTEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = randomBytes(3).toString('hex');

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the API exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the API did not become ready');
}

function startApi(port: number, databaseUrl: string, prefix: string): ChildProcess {
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    // production requires https (issue 10); the load test talks to the port directly
    PUBLIC_URL: 'https://powiadom.example',
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    SECRET: randomBytes(24).toString('hex'),
    SMTP_URL: 'smtp://127.0.0.1:2525',
    MAIL_FROM: 'Powiadom <powiadomienia@duw.example>',
    SUBSCRIBE_LIMIT_PER_IP: '100000000',
    API_PROCESSES: String(API_PROCESSES),
    LOG_LEVEL: process.env.LOADTEST_LOG_LEVEL ?? 'info',
  };
  // The API logs one JSON line per request, as in production; the lines go to /dev/null here.
  // as `npm run start:api` runs it: compiled (built in main()), by node itself
  return spawn(process.execPath, [...API_NODE_ARGS, 'dist/src/main.js'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** An autocannon result and the time from its start to its last response. */
interface Result extends autocannon.Result {
  seconds: number;
}

/**
 * Runs autocannon, timing the run up to its last response: autocannon ends a run bounded by count only at
 * its next one-second tick, so its own start-to-finish time overstates the run by up to a second.
 */
async function timedRun(options: autocannon.Options): Promise<Result> {
  const started = performance.now();
  let lastResponse = started;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err, done) => (err ? reject(err) : resolve(done)));
    instance.on('response', () => (lastResponse = performance.now()));
  });
  return { ...result, seconds: (lastResponse - started) / 1000 };
}

function summary(name: string, r: Result) {
  return {
    name,
    requests: r.requests.total,
    seconds: Number(r.seconds.toFixed(2)),
    'req/s': Math.round(r.requests.total / r.seconds),
    'p50 ms': r.latency.p50,
    'p99 ms': r.latency.p99,
    'max ms': r.latency.max,
    '2xx': r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

async function loadSubscriptions(url: string, amount: number, prefix: string): Promise<Result> {
  let n = 0;
  return timedRun({
    url: `${url}/api/subscriptions`,
    connections: CONNECTIONS,
    amount,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ email: `${prefix}-${run}-${n++}@example.pl`, consent: true, topics: ['komunikaty'] }) }),
      },
    ],
  });
}

async function loadForm(url: string): Promise<Result> {
  return timedRun({ url: `${url}/subscribe`, connections: CONNECTIONS, duration: SECONDS });
}

async function main(): Promise<void> {
  const dbName = `powiadom_load_${run}`;
  const dbUrl = new URL(POSTGRES_URL);
  dbUrl.pathname = `/${dbName}`;
  const prefix = `powiadom-load-${run}`;
  execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
  await ensureDatabase(dbUrl.toString());
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const api = startApi(port, dbUrl.toString(), prefix);
  // Interrupted: stop the API, so the running phase ends at once and the cleanup below still runs.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { process.exitCode = 130; api.kill('SIGTERM'); });
  try {
    await waitReady(url, api);
    // Warm-up of both paths: JIT, pool connections, template caches (its subscribers are not counted below).
    await autocannon({ url: `${url}/subscribe`, connections: 4, amount: 500 });
    await loadSubscriptions(url, 1000, 'warmup');
    const guard = setTimeout(() => {
      console.error(`the subscription phase exceeded ${MAX_SECONDS} s: stopping`);
      process.exitCode = 1;
      api.kill('SIGTERM');
    }, MAX_SECONDS * 1000);
    const subscriptions = await loadSubscriptions(url, SUBSCRIPTIONS, 'load');
    clearTimeout(guard);
    const form = await loadForm(url);
    const db = new pg.Client({ connectionString: dbUrl.toString() });
    await db.connect();
    const rows = (await db.query<{ s: number; c: number }>(
      `SELECT (SELECT count(*)::int FROM subscribers WHERE email LIKE 'load-%') AS s,
              (SELECT count(*)::int FROM consents c JOIN subscribers s ON s.id = c.subscriber_id WHERE s.email LIKE 'load-%') AS c`,
    )).rows[0]!;
    await db.end();
    console.log(`API_PROCESSES=${API_PROCESSES}, ${CONNECTIONS} connections, ${SUBSCRIPTIONS} subscriptions, form for ${SECONDS} s`);
    console.table([summary('POST /api/subscriptions', subscriptions), summary('GET /subscribe', form)]);
    const accepted = subscriptions['2xx'];
    const equal = accepted === rows.s && accepted === rows.c;
    console.log(`accepted subscriptions (202): ${accepted}; subscriber rows: ${rows.s}; consent rows: ${rows.c} → ${equal ? 'equal' : 'NOT EQUAL'}`);
    const failed = !equal || subscriptions.errors + subscriptions.non2xx + form.errors + form.non2xx > 0;
    process.exitCode = failed ? 1 : 0;
  } finally {
    api.kill('SIGTERM');
    await new Promise((resolve) => (api.exitCode === null ? api.once('exit', resolve) : resolve(null)));
    await deleteKeysWithPrefix(prefix, REDIS_URL);
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(dbName)} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
