import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Harness } from '../helpers/harness.ts';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwaway-servers.ts';

// PostgreSQL stopped during traffic, on a throwaway cluster (initdb in a temporary folder, own port).
let pg: ThrowawayPostgres;
let h: Harness;
before(async () => {
  pg = await startThrowawayPostgres();
  // The harness reads TEST_POSTGRES_URL when it is first imported: point it at the throwaway cluster.
  process.env.TEST_POSTGRES_URL = pg.url;
  const { startHarness } = await import('../helpers/harness.ts');
  h = await startHarness({ label: 'pgdown', workers: false, env: { SUBSCRIBE_LIMIT_PER_IP: '1000000' } });
  // The test's own pool (not the app's) loses its idle sessions when the cluster stops.
  h.db.pool.on('error', () => undefined);
});
after(async () => {
  await h?.close().catch(() => undefined);
  await pg?.destroy();
});

interface Sent {
  email: string;
  status: number;
  retryAfter?: string;
  ms: number;
}

/** Sends subscriptions from `lanes` concurrent clients until `stop()` resolves. */
function traffic(lanes: number) {
  const sent: Sent[] = [];
  let running = true;
  let n = 0;
  const lane = async () => {
    while (running) {
      const email = `ruch-${n++}@example.pl`;
      const t = Date.now();
      const res = await h.http.post('/api/subscriptions').send({ email, consent: true, topics: ['komunikaty', 'aktualnosci'] });
      sent.push({ email, status: res.status, retryAfter: res.headers['retry-after'], ms: Date.now() - t });
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const done = Promise.all(Array.from({ length: lanes }, lane));
  return { sent, stop: async () => { running = false; await done; } };
}

/** Stops PostgreSQL under traffic, checks the answers while it is down, restarts it, waits for readyz. */
async function outage(sent: Sent[]): Promise<number> {
  await new Promise((r) => setTimeout(r, 700));
  await pg.stop();
  const stoppedAt = sent.length;
  await new Promise((r) => setTimeout(r, 1500));
  const ready = await h.http.get('/readyz');
  assert.equal(ready.status, 503);
  assert.deepEqual(ready.body, { status: 'unavailable', postgres: 'unavailable', redis: 'ok' });
  const down = await h.http.post('/api/subscriptions').send({ email: 'w-trakcie-awarii@example.pl', consent: true });
  assert.equal(down.status, 503);
  assert.equal(down.body.error.code, 'unavailable');
  assert.equal(down.headers['retry-after'], '5');
  const form = await h.http.get('/subscribe');
  assert.equal(form.status, 503);
  assert.match(form.headers['content-type'] ?? '', /text\/html/);

  await pg.start();
  const restartedAt = Date.now();
  while ((await h.http.get('/readyz')).status !== 200) {
    assert.ok(Date.now() - restartedAt < 15_000, 'readyz recovers within 15 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 700));
  return stoppedAt;
}

describe('PostgreSQL stopped during traffic', () => {
  it('answers 503 while it is down (readyz too), recovers by itself, and leaves no partial rows', async () => {
    // The harness's Redis connection may still be connecting (no offline queue: a ping fails at once), so wait
    // for ready rather than asserting it on the first request.
    const readySince = Date.now();
    while ((await h.http.get('/readyz')).status !== 200) {
      assert.ok(Date.now() - readySince < 60_000, 'ready before the outage');
      await new Promise((r) => setTimeout(r, 100));
    }
    const load = traffic(4);
    let stoppedAt: number;
    try {
      stoppedAt = await outage(load.sent);
    } finally {
      await load.stop();
    }

    const statuses = new Map<number, number>();
    for (const s of load.sent) statuses.set(s.status, (statuses.get(s.status) ?? 0) + 1);
    assert.deepEqual([...statuses.keys()].sort(), [202, 503], `only 202 and 503: ${JSON.stringify([...statuses])}`);
    assert.ok(load.sent.slice(stoppedAt).some((s) => s.status === 503), 'requests failed with 503 while PostgreSQL was down');
    assert.equal(load.sent.at(-1)!.status, 202, 'the last requests, after recovery, were accepted');
    assert.ok(load.sent.filter((s) => s.status === 503).every((s) => s.retryAfter === '5' && s.ms < 5_000), 'each 503 came fast, with Retry-After');

    const { rows } = await h.deps.pool.query<{ email: string; consents: number; topics: number }>(
      `SELECT s.email,
              (SELECT count(*)::int FROM consents c WHERE c.subscriber_id = s.id) AS consents,
              (SELECT count(*)::int FROM subscriber_topics t WHERE t.subscriber_id = s.id) AS topics
       FROM subscribers s`,
    );
    const stored = new Map(rows.map((r) => [r.email, r]));
    for (const r of rows) assert.deepEqual([r.consents, r.topics], [1, 2], `complete rows only (${r.email})`);
    for (const s of load.sent.filter((x) => x.status === 202)) assert.ok(stored.has(s.email), `accepted ${s.email} is stored`);
    assert.ok(!stored.has('w-trakcie-awarii@example.pl'));
    const confirmations = await h.deps.queues.email.getJobCounts('waiting', 'delayed');
    assert.equal((confirmations.waiting ?? 0) + (confirmations.delayed ?? 0), load.sent.filter((s) => s.status === 202).length, 'one confirmation job per accepted request');
  });
});
