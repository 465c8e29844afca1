import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SubscribeRequest } from '../src/core/subscriptions.ts';
import { UnknownTopicError } from '../src/core/errors.ts';
import { asAppError } from '../src/http/domain-errors.ts';
import { emailQueueIdle, eventually, startHarness, type Harness } from './helpers/harness.ts';

// Subscription requests that arrive together are written with one database call in one transaction
// (group commit). These tests submit them in one turn of the event loop, so they share a batch.
let h: Harness;
before(async () => {
  h = await startHarness({ label: 'batching' });
});
after(async () => {
  await h.close();
});

function request(email: string, topics?: string[]): SubscribeRequest {
  return { email, topics, lang: 'pl', source: 'api', ip: '192.0.2.1', userAgent: 'test' };
}

async function rowsFor(emails: string[]) {
  const { rows } = await h.db.pool.query<{ email: string; status: string; consents: number; topics: string[]; transactions: number }>(
    `SELECT s.email, s.status,
            (SELECT count(*)::int FROM consents c WHERE c.subscriber_id = s.id) AS consents,
            (SELECT array_agg(topic_slug ORDER BY topic_slug) FROM subscriber_topics t WHERE t.subscriber_id = s.id) AS topics,
            (SELECT count(DISTINCT c.xmin::text)::int FROM consents c WHERE c.subscriber_id = s.id) AS transactions
     FROM subscribers s WHERE s.email = ANY ($1) ORDER BY s.email`,
    [emails],
  );
  return rows;
}

describe('subscription requests written together', () => {
  it('stores 40 requests that arrive together in one transaction, each complete, and sends each its confirmation', async () => {
    const emails = Array.from({ length: 40 }, (_, i) => `razem${String(i).padStart(2, '0')}@example.pl`);
    await Promise.all(emails.map((email) => h.deps.subscriptions.subscribe(request(email, ['komunikaty']))));
    const rows = await rowsFor(emails);
    assert.equal(rows.length, 40);
    for (const row of rows) assert.deepEqual({ status: row.status, consents: row.consents, topics: row.topics }, { status: 'pending', consents: 1, topics: ['komunikaty'] });
    const { rows: xids } = await h.db.pool.query('SELECT DISTINCT c.xmin::text FROM consents c JOIN subscribers s ON s.id = c.subscriber_id WHERE s.email = ANY ($1)', [emails]);
    assert.equal(xids.length, 1, 'one transaction wrote them all');
    await eventually(() => emails.every((email) => h.smtp.to(email).length === 1), 15_000, 'one confirmation e-mail each');
  });

  it('treats requests for one address in one batch as one after another: one subscriber, every consent, at most 3 e-mails', async () => {
    const email = 'wielokrotnie@example.pl';
    await Promise.all(Array.from({ length: 6 }, (_, i) => h.deps.subscriptions.subscribe(request(i % 2 ? email.toUpperCase() : email, [i < 3 ? 'aktualnosci' : 'dla-mediow']))));
    const [row] = await rowsFor([email]);
    assert.deepEqual({ consents: row!.consents, topics: row!.topics, transactions: row!.transactions }, { consents: 6, topics: ['dla-mediow'], transactions: 1 });
    await eventually(() => h.smtp.to(email).length >= 3, 10_000, 'three confirmation e-mails');
    await eventually(() => emailQueueIdle(h), 10_000, 'an idle e-mail queue');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(h.smtp.to(email).length, 3);
  });

  it('fails only the request PostgreSQL refuses: the others of its batch are stored', async () => {
    await h.deps.subscriptions.resolveTopics(undefined); // the service now holds the topic list in its cache
    await h.db.pool.query("DELETE FROM topics WHERE slug = 'ogloszenia'");
    const good = Array.from({ length: 5 }, (_, i) => `dobry${i}@example.pl`);
    const settled = await Promise.allSettled([
      ...good.map((email) => h.deps.subscriptions.subscribe(request(email, ['aktualnosci']))),
      h.deps.subscriptions.subscribe(request('zly@example.pl', ['ogloszenia'])),
    ]);
    assert.deepEqual(settled.slice(0, 5).map((s) => s.status), Array(5).fill('fulfilled'));
    const refused = settled[5]!;
    assert.equal(refused.status, 'rejected');
    // written alone, refused (the topic is gone), retried with a fresh topic list: core's UnknownTopicError, a clear 400
    assert.ok(refused.reason instanceof UnknownTopicError, String(refused.reason));
    assert.equal(asAppError(refused.reason)?.status, 400);
    assert.deepEqual((await rowsFor(good)).map((r) => [r.status, r.consents]), Array(5).fill(['pending', 1]));
    assert.deepEqual(await rowsFor(['zly@example.pl']), []);
  });
});
