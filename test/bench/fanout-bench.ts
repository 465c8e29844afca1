/**
 * `npm run bench [-- --subscribers N] [-- --dkim]`: seeds N subscribers (default 100,000; or BENCH_SUBSCRIBERS)
 * through the import path into a database and queue prefix of its own, starts Powiadom as `npm start`
 * does (builds dist/, then node dist/workers/main.js --role=all with its default sender threads), publishes one article and
 * measures delivery to a local SMTP sink running in a separate process; then, on the same sink, a
 * baseline: a plain loop sending N composed messages through one pooled nodemailer transport.
 * With --dkim it runs both modes back to back on the same database (a second article): without DKIM and
 * with a fresh RSA-2048 key (DKIM_* set), the baseline signing too (nodemailer's own DKIM), and prints
 * CPU per 1,000 e-mails and the signing limit (cores ÷ one signature's time). Cleans up its database and Redis keys.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import nodemailer from 'nodemailer';
import { Redis } from 'ioredis';
import { freePort } from '../helpers/throwaway-servers.ts';
import { removeBenchData, rssKb, seedSubscribers, startSink, waitFor, type Sink, type SinkStats } from './bench-setup.ts';

const arg = process.argv.indexOf('--subscribers');
const N = Number(arg > 0 ? process.argv[arg + 1] : (process.env.BENCH_SUBSCRIBERS ?? 100_000));
const WITH_DKIM = process.argv.includes('--dkim');
const DKIM_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const CLOCK_TICKS = 100;
const BASE_DB = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN = 'bench-admin-token-0123456789';
const id = randomBytes(3).toString('hex');
const prefix = `powiadom-bench-${id}`;
const dbUrl = Object.assign(new URL(BASE_DB), { pathname: `/powiadom_bench_${id}` }).toString();

/** CPU seconds (user + system, all threads) a process has used so far. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Child processes of the service, if any (senders are threads of it; this keeps the figure honest should that change). */
function senderPids(root: number): number[] {
  const all: number[] = [];
  const walk = (pid: number) => { for (const c of childrenOf(pid)) { all.push(c); walk(c); } };
  walk(root);
  return all;
}

async function runPowiadom(sinkPort: number, sink: Sink, redis: Redis, dkim: boolean, run: number) {
  const port = await freePort();
  const dkimEnv = dkim ? { DKIM_DOMAIN: 'duw.example', DKIM_SELECTOR: 'powiadom', DKIM_PRIVATE_KEY: DKIM_KEY } : {};
  const env = { ...process.env, ...dkimEnv, NODE_ENV: 'production', PORT: String(port), PUBLIC_URL: 'https://powiadom.example', DATABASE_URL: dbUrl, REDIS_URL, QUEUE_PREFIX: prefix, SMTP_URL: `smtp://127.0.0.1:${sinkPort}`, SECRET: randomBytes(24).toString('hex'), ADMIN_TOKEN: ADMIN, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', MAIL_FROM: 'Dolnośląski Urząd Wojewódzki <powiadomienia@duw.example>' };
  // as `npm start`: the compiled service (built in main()), run by node itself
  const app = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), 'dist/workers/main.js', '--role=all'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok).catch(() => false)), 120_000, 'Powiadom started');
  await new Promise((r) => setTimeout(r, 2000)); // let the sender threads boot
  let peakRss = 0;
  let peakOneRss = 0;
  let peakRedis = 0;
  let processes = 0;
  const sampler = setInterval(() => {
    const pids = [app.pid!, ...senderPids(app.pid!)];
    processes = Math.max(processes, pids.length);
    const rss = pids.map(rssKb);
    peakRss = Math.max(peakRss, rss.reduce((sum, kb) => sum + kb, 0));
    peakOneRss = Math.max(peakOneRss, ...rss);
    void redis.info('memory').then((info) => { peakRedis = Math.max(peakRedis, Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0)); });
  }, 100);
  sink.reset();
  const cpu0 = cpuSeconds(app.pid!);
  const t0 = Date.now();
  const res = await fetch(`http://127.0.0.1:${port}/api/articles`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
    body: readFileSync(new URL('../fixtures/wizyta-ambasadora-kazachstanu.json', import.meta.url)).toString().replace('"topics": ["dla-mediow"]', '"topics": ["komunikaty"], "force": true').replace('"guid": "duw-9109"', `"guid": "duw-9109-${run}"`).replace('9109,Wizyta', `9109${run},Wizyta`),
  });
  if (res.status !== 202) throw new Error(`publish answered ${res.status}: ${await res.text()}`);
  let stats: SinkStats = { accepted: 0, first: 0, last: 0 };
  await waitFor(async () => (stats = await sink.stats()).accepted >= N, 600_000, 'all messages accepted');
  clearInterval(sampler);
  const cpu = cpuSeconds(app.pid!) - cpu0;
  app.kill('SIGTERM');
  await new Promise((r) => app.once('exit', r));
  return { seconds: (stats.last - t0) / 1000, firstMs: stats.first - t0, peakRssMb: peakRss / 1024, peakOneRssMb: peakOneRss / 1024, peakRedisMb: peakRedis / 1048576, processes, accepted: stats.accepted, cpuMsPer1000: (cpu * 1e6) / N };
}

async function runBaseline(sinkPort: number, sink: Sink, dkim: boolean) {
  const dkimOptions = dkim ? { dkim: { domainName: 'duw.example', keySelector: 'powiadom', privateKey: DKIM_KEY } } : {};
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sinkPort, secure: false, pool: true, maxConnections: 4, maxMessages: Infinity, ...dkimOptions });
  const cpu0 = process.cpuUsage();
  const html = `<html><body>${'<p>Wojewoda Tomasz Smolarz i wicewojewoda Ewa Mańkowska spotkali się z Ambasadorem.</p>'.repeat(60)}</body></html>`;
  sink.reset();
  const t0 = Date.now();
  const window = 200;
  for (let i = 0; i < N; i += window) {
    const batch = Array.from({ length: Math.min(window, N - i) }, (_, k) =>
      transport.sendMail({ from: 'powiadomienia@duw.example', to: `bench${i + k}@example.pl`, subject: 'Wizyta Ambasadora Kazachstanu', text: html.replace(/<[^>]+>/g, ''), html }),
    );
    await Promise.all(batch);
  }
  const stats = await sink.stats();
  const cpu = process.cpuUsage(cpu0);
  transport.close();
  return { seconds: (stats.last - t0) / 1000, accepted: stats.accepted, cpuMsPer1000: (cpu.user + cpu.system) / N };
}

/** Milliseconds of CPU (not wall time: the machine may be shared) one RSA-2048 rsa-sha256 signature takes (median of 5 rounds of 200). */
function signatureMs(): number {
  const data = Buffer.alloc(600, 'a');
  const key = createPrivateKey(DKIM_KEY);
  const rounds = Array.from({ length: 5 }, () => {
    const t = process.cpuUsage();
    for (let i = 0; i < 200; i++) sign('sha256', data, key);
    const used = process.cpuUsage(t);
    return (used.user + used.system) / 1000 / 200;
  }).sort((a, b) => a - b);
  return rounds[2]!;
}

type PowiadomRun = Awaited<ReturnType<typeof runPowiadom>>;
type BaselineRun = Awaited<ReturnType<typeof runBaseline>>;

function report(label: string, p: PowiadomRun, b: BaselineRun): number {
  const rate = N / p.seconds;
  const baseRate = N / b.seconds;
  const threads = process.env.SENDER_THREADS ?? String(Math.max(0, availableParallelism() - 1));
  console.log(`\n${label} — Powiadom (npm start defaults: ${p.processes} process(es), ${threads} sender thread(s) beside the main thread), ${N} subscribers:`);
  console.log(`  end to end (publish → last message accepted): ${p.seconds.toFixed(2)} s = ${Math.round(rate)} e-mails/s`);
  console.log(`  time to first e-mail: ${p.firstMs} ms`);
  console.log(`  CPU of the service: ${(p.cpuMsPer1000 / 1000).toFixed(2)} s per 1,000 e-mails`);
  console.log(`  peak RSS: largest process ${p.peakOneRssMb.toFixed(0)} MB, all processes of the service together ${p.peakRssMb.toFixed(0)} MB`);
  console.log(`  peak Redis used_memory (sampled every 100 ms): ${p.peakRedisMb.toFixed(1)} MB`);
  console.log(`baseline (one pooled nodemailer transport, composing${label.includes('with DKIM') ? ' and signing' : ''} each message, same sink): ${b.seconds.toFixed(2)} s = ${Math.round(baseRate)} e-mails/s, CPU ${(b.cpuMsPer1000 / 1000).toFixed(2)} s per 1,000`);
  console.log(`speed-up over the baseline: ${(rate / baseRate).toFixed(2)}×`);
  return rate;
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const sink = await startSink();
  try {
    execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
    console.log(`seeding ${N} subscribers through the import path…`);
    const seededMs = await seedSubscribers(dbUrl, N, (i) => ({ email: `bench${i}@example.pl`, topics: 'komunikaty', lang: i % 10 === 0 ? 'en' : 'pl' }));
    console.log(`  seeded in ${(seededMs / 1000).toFixed(1)} s`);
    const plain = await runPowiadom(sink.port, sink, redis, false, 0);
    const plainBase = await runBaseline(sink.port, sink, false);
    const plainRate = report(WITH_DKIM ? 'without DKIM' : 'Powiadom', plain, plainBase);
    if (WITH_DKIM) {
      const signed = await runPowiadom(sink.port, sink, redis, true, 1);
      const signedBase = await runBaseline(sink.port, sink, true);
      const signedRate = report('with DKIM (RSA-2048, relaxed/relaxed)', signed, signedBase);
      const perSignature = signatureMs();
      const limit = (availableParallelism() * 1000) / perSignature;
      console.log(`\nwith DKIM: ${Math.round(signedRate)} e-mails/s = ${((100 * signedRate) / plainRate).toFixed(0)} % of the rate without DKIM in this run`);
      console.log(`signing limit: ${availableParallelism()} cores ÷ ${perSignature.toFixed(3)} ms of CPU per RSA-2048 signature = ${Math.round(limit)} e-mails/s; reached ${((100 * signedRate) / limit).toFixed(0)} %`);
      console.log(`CPU per 1,000 e-mails: ${(plain.cpuMsPer1000 / 1000).toFixed(2)} s without DKIM, ${(signed.cpuMsPer1000 / 1000).toFixed(2)} s with; at full use of ${availableParallelism()} cores that allows ${Math.round((availableParallelism() * 1e6) / plain.cpuMsPer1000)} and ${Math.round((availableParallelism() * 1e6) / signed.cpuMsPer1000)} e-mails/s (${((100 * plain.cpuMsPer1000) / signed.cpuMsPer1000).toFixed(0)} %)`);
      console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    }
  } finally {
    sink.child.send({ type: 'exit' });
    await removeBenchData(prefix, REDIS_URL, BASE_DB, dbUrl).catch((err: unknown) => console.error('cleanup failed', err));
    redis.disconnect();
  }
}

// `npm run bench -- --digest`: the digest benchmark (test/bench/digest-bench.ts) instead.
const bench = process.argv.includes('--digest') ? (await import('./digest-bench.ts')).runDigestBench : main;
bench().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
