import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { importSubscribers } from '../../src/core/subscriber-import.ts';
import type { Harness } from '../helpers/harness.ts';
import { startThrowawayRedis, type ThrowawayRedis } from '../helpers/throwaway-servers.ts';

// Redis killed during an article's delivery and replaced by an empty one on the same port, on a
// throwaway redis-server without persistence: every queued job is gone, the ledger in PostgreSQL stays.
const N = 1500;
let redis: ThrowawayRedis;
let h: Harness;
let ADMIN_TOKEN: string;
let eventually: typeof import('../helpers/harness.ts').eventually;
before(async () => {
  redis = await startThrowawayRedis();
  // test/helpers/redis.ts reads TEST_REDIS_URL when it is first imported: point it at the throwaway server.
  process.env.TEST_REDIS_URL = redis.url;
  const harness = await import('../helpers/harness.ts');
  ({ ADMIN_TOKEN, eventually } = harness);
  h = await harness.startHarness({ label: 'redisdown', env: { REDIS_URL: redis.url, RECONCILE_INTERVAL_MS: '500', SEND_BATCH_SIZE: '100' } });
  h.deps.redis.on('error', () => undefined);
  await importSubscribers(h.deps.pool, Array.from({ length: N }, (_, i) => ({ email: `redis-${i}@example.pl`, topics: 'komunikaty' })));
});
after(async () => {
  await h?.close().catch(() => undefined);
  await redis?.stop();
});

async function ledger(articleId: number): Promise<Record<string, number>> {
  const { rows } = await h.deps.pool.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM deliveries WHERE article_id = $1 GROUP BY status',
    [articleId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

async function fanoutStatus(articleId: number): Promise<string> {
  const { rows } = await h.deps.pool.query<{ fanout_status: string }>('SELECT fanout_status FROM articles WHERE id = $1', [articleId]);
  return rows[0]!.fanout_status;
}

/** Publishes an article to every subscriber; returns its id. */
async function publish(title: string): Promise<number> {
  const res = await h.http.post('/api/articles').set({ Authorization: `Bearer ${ADMIN_TOKEN}` })
    .send({ url: `https://www.duw.pl/${encodeURIComponent(title)}`, title, topics: ['komunikaty'] });
  assert.equal(res.status, 202);
  return res.body.id as number;
}

/** Kills Redis, keeps it down for a while, starts an empty one on the same port; returns what arrived meanwhile. */
async function restartRedisEmpty(): Promise<number> {
  await redis.stop();
  const before = h.smtp.received.length;
  await new Promise((r) => setTimeout(r, 1500));
  const whileDown = h.smtp.received.length - before;
  await redis.start();
  const probe = new Redis(redis.url);
  try {
    // the in-process workers may already have written a key or two since
    assert.ok((await probe.dbsize()) < 5, 'the new Redis starts empty');
  } finally {
    probe.disconnect();
  }
  return whileDown;
}

/** Waits until the ledger says every delivery was sent, then checks it against what the SMTP server received. */
async function assertDeliveredExactlyOnce(articleId: number): Promise<void> {
  await eventually(async () => (await ledger(articleId)).sent === N, 40_000, 'every delivery sent after the restart').catch(async (err: Error) => {
    const { rows } = await h.deps.pool.query(
      "SELECT status, claimed_by IS NOT NULL AS claimed, count(*)::int AS n, min(id) AS from, max(id) AS to FROM deliveries WHERE article_id = $1 GROUP BY 1, 2",
      [articleId],
    );
    throw new Error(`${err.message}: fan-out ${await fanoutStatus(articleId)}, ledger ${JSON.stringify(rows)}`);
  });
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(await ledger(articleId), { sent: N });
  assert.equal(await fanoutStatus(articleId), 'done');
  const recipients = h.smtp.received.filter((m) => m.parsed.messageId?.startsWith(`<notification-${articleId}-`)).map((m) => m.to[0]);
  assert.equal(new Set(recipients).size, N, 'every subscriber received it');
  // A lost job never interrupts a send: claim and record are both in PostgreSQL, so no message is sent
  // twice. The bound asserted is 0, tighter than a crash's (WORKER_CONCURRENCY × SEND_CHUNK unrecorded sends).
  assert.equal(recipients.length, N, `duplicates: ${recipients.length - N}`);
}

describe('Redis restarted and emptied during a delivery', () => {
  it('finishes a fan-out cut off by Redis loss and sends each notification exactly once (reconciler)', async () => {
    // Hold the fan-out at its first ledger write, so Redis dies while the fan-out is running for sure.
    const blocker = await h.db.pool.connect();
    let articleId: number;
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE deliveries IN SHARE MODE');
      articleId = await publish('Awaria Redis w trakcie rozsyłki');
      await eventually(async () => (await fanoutStatus(articleId)) === 'running', 10_000, 'fan-out started');
      await redis.stop();
    } finally {
      await blocker.query('COMMIT').catch(() => undefined);
      blocker.release();
    }
    await new Promise((r) => setTimeout(r, 500));
    const cutOff = { fanout: await fanoutStatus(articleId), ledger: await ledger(articleId) };
    assert.equal(cutOff.fanout, 'running', 'the fan-out could not finish without Redis');
    const whileDown = await restartRedisEmpty();
    await assertDeliveredExactlyOnce(articleId);
    console.log(`# cut-off fan-out: ledger ${JSON.stringify(cutOff.ledger)} when Redis went; ${whileDown} received while down`);
  });

  it('re-queues the send batches lost mid-send and sends each notification exactly once (reconciler)', async () => {
    const sentBefore = h.smtp.received.length;
    const articleId = await publish('Awaria Redis w trakcie wysyłki');
    await eventually(() => h.smtp.received.length > sentBefore, 30_000, 'sending began');
    const atStop = { received: h.smtp.received.length - sentBefore, ledger: await ledger(articleId) };
    const whileDown = await restartRedisEmpty();
    assert.ok(atStop.received + whileDown < N, 'Redis went before the end of the delivery');
    await assertDeliveredExactlyOnce(articleId);
    console.log(`# mid-send: ${atStop.received}/${N} received, ledger ${JSON.stringify(atStop.ledger)} when Redis went; ${whileDown} received while down`);
  });
});
