import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { importSubscribers } from '../src/core/subscriber-import.ts';
import { ADMIN_TOKEN, childEnv, eventually, startHarness, type Harness } from './helpers/harness.ts';
import { deleteKeysWithPrefix } from './helpers/redis.ts';

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const N = 1200;
// WORKER_CONCURRENCY (4) send jobs × SEND_CHUNK (50) messages sent but not yet recorded
const IN_FLIGHT = 4 * 50;
const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of cleanup.reverse()) await close();
});

async function seededHarness(env: Record<string, string>, workers: boolean): Promise<Harness> {
  const h = await startHarness({ label: 'resilience', env, workers });
  cleanup.push(() => h.close());
  await importSubscribers(h.deps.pool, Array.from({ length: N }, (_, i) => ({ email: `r${i}@example.pl`, topics: 'komunikaty' })));
  return h;
}

async function publish(h: Harness): Promise<number> {
  const res = await h.http.post('/api/articles').set(admin).send({ url: 'https://www.duw.pl/r', title: 'Odporność', topics: ['komunikaty'] });
  assert.equal(res.status, 202);
  return res.body.id as number;
}

function assertDeliveredOnce(h: Harness): void {
  const recipients = h.smtp.received.map((m) => m.to[0]);
  const unique = new Set(recipients).size;
  assert.equal(unique, N);
  assert.ok(recipients.length - unique <= IN_FLIGHT, `duplicates: ${recipients.length - unique}`);
}

function spawnWorker(h: Harness): ChildProcess {
  const env = childEnv(h, {
    SENDER_THREADS: '0',
    SEND_RATE: '1000',
    JOB_LOCK_MS: '2000',
    RECONCILE_INTERVAL_MS: '1000',
    LOG_LEVEL: 'warn',
  });
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

describe('exactly once under failures', () => {
  it('delivers to everyone after the worker process is SIGKILLed mid-fan-out and restarted, duplicates at most the in-flight count', async () => {
    const h = await seededHarness({}, false);
    const first = spawnWorker(h);
    await publish(h);
    await h.smtp.waitFor(200, 150_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    assert.ok(h.smtp.received.length < N, 'killed before the end');
    const second = spawnWorker(h);
    await eventually(() => new Set(h.smtp.received.map((m) => m.to[0])).size === N, 180_000, 'all delivered after restart');
    await new Promise((r) => setTimeout(r, 500));
    second.kill('SIGTERM');
    assertDeliveredOnce(h);
  });

  it('completes the rest through the reconciler when Redis loses the queue keys mid-fan-out', async () => {
    const h = await seededHarness({ SEND_RATE: '1000', RECONCILE_INTERVAL_MS: '1000' }, true);
    const id = await publish(h);
    await h.smtp.waitFor(200, 150_000);
    await deleteKeysWithPrefix(h.config.QUEUE_PREFIX);
    await eventually(() => new Set(h.smtp.received.map((m) => m.to[0])).size === N, 180_000, 'all delivered after the flush');
    await new Promise((r) => setTimeout(r, 500));
    assertDeliveredOnce(h);
    const { rows } = await h.db.pool.query("SELECT count(*)::int AS n FROM deliveries WHERE article_id = $1 AND status = 'sent'", [id]);
    assert.equal(rows[0].n, N);
  });
});
