import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOfDay } from '../src/core/overview.ts';
import { countMailOutcomesSince, countSubscriberChanges } from '../src/db/console-queries.ts';
import { markFinished, markSent, noteDeferred } from '../src/db/delivery-queries.ts';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from './helpers/harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness({ label: 'console-counters' });
});
after(async () => {
  await h.close();
});

const hourAgo = () => new Date(Date.now() - 3_600_000);

async function outcomes(kind: string): Promise<Record<string, number>> {
  const rows = await countMailOutcomesSince(h.db.pool, hourAgo());
  return Object.fromEntries(rows.filter((r) => r.kind === kind).map((r) => [r.outcome, r.count]));
}

/** The counters of an article next to the same counts taken from its ledger. */
async function countersAndLedger(articleId: number): Promise<{ counters: Record<string, number>; ledger: Record<string, number> }> {
  const counters = await h.db.pool.query(`SELECT status, count FROM article_delivery_counts WHERE article_id = $1 AND count <> 0`, [articleId]);
  const ledger = await h.db.pool.query(`SELECT status, count(*) AS count FROM deliveries WHERE article_id = $1 GROUP BY status`, [articleId]);
  const toMap = (rows: { status: string; count: number }[]) => Object.fromEntries(rows.map((r) => [r.status, Number(r.count)]).sort());
  return { counters: toMap(counters.rows), ledger: toMap(ledger.rows) };
}

describe('counters of the console (migration 0011)', () => {
  it('keeps an article\'s counters equal to its ledger through fan-out, send, failure, deferral, retry, erasure and deletion', async () => {
    const emails = ['licznik.a@example.pl', 'licznik.b@example.pl', 'licznik.c@example.pl', 'licznik.d@example.pl'];
    await h.http.post('/api/subscribers/import').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(emails.map((email) => ({ email, topics: ['komunikaty'], lang: 'pl', consentSource: 'telefon' }))).expect(200);
    const article = (await h.db.pool.query(`INSERT INTO articles (guid, url, title, topics, notify) VALUES ('licznik', 'https://www.duw.pl/licznik', 'Licznik', '{komunikaty}', false) RETURNING id`)).rows[0].id;
    const ids: number[] = (await h.db.pool.query(`INSERT INTO deliveries (article_id, subscriber_id) SELECT $1, id FROM subscribers WHERE email LIKE 'licznik.%' ORDER BY id RETURNING id`, [article])).rows.map((r) => Number(r.id));
    assert.deepEqual((await countersAndLedger(article)).counters, { pending: 4 });

    const before = { notification: await outcomes('notification') };
    await markSent(h.db.pool, [ids[0]!, ids[1]!]);
    await markFinished(h.db.pool, [{ id: ids[2]!, status: 'failed', reason: '550 5.1.1 User unknown' }]);
    await noteDeferred(h.db.pool, [{ id: ids[3]!, reason: '451 4.3.0 try later' }]);
    await markSent(h.db.pool, [ids[0]!]); // already sent: changes nothing, counts nothing
    let state = await countersAndLedger(article);
    assert.deepEqual(state.counters, state.ledger);
    assert.deepEqual(state.counters, { failed: 1, pending: 1, sent: 2 });
    const after = await outcomes('notification');
    assert.equal((after.sent ?? 0) - (before.notification.sent ?? 0), 2);
    assert.equal((after.failed ?? 0) - (before.notification.failed ?? 0), 1);
    assert.equal((after.deferred ?? 0) - (before.notification.deferred ?? 0), 1);

    // A retry puts the failure back to pending; erasing a subscriber keeps their row (subscriber_id NULL).
    await h.db.pool.query(`UPDATE deliveries SET status = 'pending' WHERE article_id = $1 AND status = 'failed'`, [article]);
    await h.db.pool.query(`DELETE FROM subscribers WHERE email = 'licznik.a@example.pl'`);
    state = await countersAndLedger(article);
    assert.deepEqual(state.counters, { pending: 2, sent: 2 });
    assert.deepEqual(state.counters, state.ledger);

    await h.db.pool.query(`DELETE FROM articles WHERE id = $1`, [article]);
    assert.equal((await h.db.pool.query(`SELECT count(*)::int AS n FROM article_delivery_counts WHERE article_id = $1`, [article])).rows[0].n, 0);
  });

  it('counts a confirmation e-mail once it is sent, by its kind', async () => {
    const before = (await outcomes('confirmation')).sent ?? 0;
    await h.http.post('/api/subscriptions').send({ email: 'nowa.osoba@example.pl', consent: true, topics: ['komunikaty'] }).expect(202);
    await eventually(async () => ((await outcomes('confirmation')).sent ?? 0) === before + 1, 60_000, 'the confirmation counted as sent');
    const changes = await countSubscriberChanges(h.db.pool, startOfDay(new Date(), 'Europe/Warsaw'), new Date(Date.now() - 7 * 86_400_000));
    assert.ok(changes.new_today >= 1);
    assert.ok(changes.new_week >= changes.new_today);
  });

  it('starts "today" at midnight in Warsaw, winter and summer', () => {
    assert.equal(startOfDay(new Date('2026-12-02T14:37:08.250Z'), 'Europe/Warsaw').toISOString(), '2026-12-01T23:00:00.000Z');
    assert.equal(startOfDay(new Date('2026-07-01T21:30:00Z'), 'Europe/Warsaw').toISOString(), '2026-06-30T22:00:00.000Z');
    assert.equal(startOfDay(new Date('2026-07-01T23:30:00Z'), 'Europe/Warsaw').toISOString(), '2026-07-01T22:00:00.000Z');
  });
});
