import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { importSubscribers } from '../src/core/subscriber-import.ts';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from './helpers/harness.ts';
import { freePort } from './helpers/throwaway-servers.ts';
import { metricSample } from './helpers/metrics.ts';

const METRICS_TOKEN = 'test-metrics-token-for-worker-process';
let h: Harness;
let worker: ChildProcess;
let port: number;
let output = '';

before(async () => {
  // The harness serves the API only: every job is done by the worker process spawned below, compiled
  // as `npm run start:worker` runs it (dist/, no tsx), so the build and its sender thread are tested too.
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  h = await startHarness({ label: 'opsprocesses', workers: false });
  port = await freePort();
  worker = spawn(process.execPath, ['dist/workers/main.js'], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      DATABASE_URL: h.config.DATABASE_URL,
      REDIS_URL: h.config.REDIS_URL,
      QUEUE_PREFIX: h.config.QUEUE_PREFIX,
      SMTP_URL: h.smtp.url,
      SECRET: h.config.SECRET,
      PUBLIC_URL: h.config.PUBLIC_URL,
      ADMIN_TOKEN,
      METRICS_TOKEN,
      METRICS_PORT: String(port),
      SENDER_THREADS: '1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  worker.stderr?.on('data', (d: Buffer) => (output += d.toString()));
});

after(async () => {
  if (worker.exitCode === null) {
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
  }
  await h.close();
});

async function scrape(token = METRICS_TOKEN): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, text: await res.text() };
}

describe('a compiled worker-only process with a sender thread', () => {
  it('serves /metrics on METRICS_PORT behind the bearer token', async () => {
    const ready = await eventually(async () => (await scrape().catch(() => null))?.status === 200, 30_000, `worker metrics port (${output})`);
    assert.ok(ready);
    assert.equal((await scrape('wrong-token-0123456789abcdef')).status, 401);
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 401);
  });

  it('counts every notification sent, by the process itself or by its sender thread', async () => {
    await importSubscribers(h.deps.pool, ['a', 'b'].map((n) => ({ email: `${n}@example.pl`, topics: 'komunikaty' })));
    for (let i = 1; i <= 3; i++) {
      const res = await h.http.post('/api/articles').set({ Authorization: `Bearer ${ADMIN_TOKEN}` }).send({ url: `https://www.duw.pl/k/${i}`, title: `Komunikat ${i}`, topics: ['komunikaty'] });
      assert.equal(res.status, 202);
    }
    await h.smtp.waitFor(6, 30_000);
    const { text } = await scrape();
    assert.equal(metricSample(text, 'powiadom_emails_total', { kind: 'notification', outcome: 'sent' }), 6);
    assert.equal(metricSample(text, 'powiadom_smtp_send_duration_seconds_count'), 6);
    assert.equal(metricSample(text, 'powiadom_job_duration_seconds_count', { queue: 'send', outcome: 'completed' }), 3);
  });
});
