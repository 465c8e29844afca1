import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOfDay } from '../src/core/overview.ts';
import { countMailOutcomesSince, countSubscriberChanges } from '../src/db/console-queries.ts';
import { markFinished, markSent, noteDeferred } from '../src/db/delivery-queries.ts';
import { countSubscribersByStatus, countSubscribersByTopic } from '../src/db/stats-queries.ts';
import { activateSubscriber, deleteExpiredPending, deleteSubscriber, markUnsubscribed, replaceTopics, setLanguage } from '../src/db/subscriber-queries.ts';
import { deleteTopic, insertTopic } from '../src/db/topic-queries.ts';
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
  const counters = await h.db.pool.query(`SELECT status, sum(count)::int AS count FROM article_delivery_counts WHERE article_id = $1 GROUP BY status HAVING sum(count) <> 0`, [articleId]);
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

/** The subscriber counters (summed over shards) next to the same counts taken from the tables. */
async function subscriberCountersAndTables(): Promise<{ counters: unknown[]; tables: unknown[] }> {
  const counters = await h.db.pool.query(`SELECT topic_slug, status, sum(count)::int AS n FROM subscriber_counts GROUP BY 1, 2 HAVING sum(count) <> 0 ORDER BY 1, 2`);
  const tables = await h.db.pool.query(`
    SELECT '' AS topic_slug, status, count(*)::int AS n FROM subscribers GROUP BY status
    UNION ALL
    SELECT st.topic_slug, s.status, count(*)::int FROM subscriber_topics st JOIN subscribers s ON s.id = st.subscriber_id GROUP BY 1, 2
    ORDER BY 1, 2`);
  return { counters: counters.rows, tables: tables.rows };
}

async function assertSubscriberCountersExact(when: string): Promise<void> {
  const { counters, tables } = await subscriberCountersAndTables();
  assert.deepEqual(counters, tables, `subscriber counters equal the tables ${when}`);
}

const idOf = async (email: string): Promise<number> => Number((await h.db.pool.query(`SELECT id FROM subscribers WHERE email = $1`, [email])).rows[0].id);
const changesNow = () => countSubscriberChanges(h.db.pool, startOfDay(new Date(), 'Europe/Warsaw'), new Date(Date.now() - 7 * 86_400_000));

describe('subscriber counters (migration 0013)', () => {
  it('stay equal to the tables through import, sign-up, confirmation, section changes, unsubscription, erasure, expiry and section deletion', async () => {
    const before = await changesNow();
    const imported = ['stan.a@example.pl', 'stan.b@example.pl', 'stan.c@example.pl'];
    await h.http.post('/api/subscribers/import').set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send(imported.map((email, i) => ({ email, topics: i === 0 ? ['komunikaty', 'aktualnosci'] : ['komunikaty'], lang: 'pl', consentSource: 'telefon' }))).expect(200);
    await assertSubscriberCountersExact('after an import');
    for (const email of ['stan.d@example.pl', 'stan.e@example.pl']) {
      await h.http.post('/api/subscriptions').send({ email, consent: true, topics: ['dla-mediow', 'komunikaty'] }).expect(202);
    }
    await assertSubscriberCountersExact('after two sign-ups');

    await activateSubscriber(h.db.pool, await idOf('stan.d@example.pl'));
    await markUnsubscribed(h.db.pool, await idOf('stan.b@example.pl'));
    await replaceTopics(h.db.pool, await idOf('stan.a@example.pl'), ['aktualnosci', 'ogloszenia']);
    await setLanguage(h.db.pool, await idOf('stan.c@example.pl'), 'en');
    await assertSubscriberCountersExact('after a confirmation, an unsubscription, a change of sections and of language');
    const after = await changesNow();
    assert.equal(after.new_today - before.new_today, 5, 'five new subscribers today');
    assert.equal(after.confirmed_today - before.confirmed_today, 4, 'three imported as confirmed, one confirmation');
    assert.equal(after.unsubscribed_today - before.unsubscribed_today, 1);
    assert.equal(after.new_week - before.new_week, 5);

    await deleteSubscriber(h.db.pool, await idOf('stan.a@example.pl'));
    await h.db.pool.query(`UPDATE subscribers SET pending_since = now() - interval '40 days' WHERE email = 'stan.e@example.pl'`);
    assert.equal(await deleteExpiredPending(h.db.pool, 30), 1);
    await assertSubscriberCountersExact('after an erasure and an expired sign-up');

    await insertTopic(h.db.pool, { slug: 'licznik-sekcji', name: 'Licznik sekcji' });
    await replaceTopics(h.db.pool, await idOf('stan.c@example.pl'), ['komunikaty', 'licznik-sekcji']);
    assert.equal((await countSubscribersByTopic(h.db.pool)).find((t) => t.slug === 'licznik-sekcji')?.active, 1);
    assert.equal(await deleteTopic(h.db.pool, 'licznik-sekcji'), true);
    await assertSubscriberCountersExact('after deleting a section');
    await insertTopic(h.db.pool, { slug: 'licznik-sekcji', name: 'Licznik sekcji' });
    const recreated = (await countSubscribersByTopic(h.db.pool)).find((t) => t.slug === 'licznik-sekcji');
    assert.deepEqual({ active: recreated?.active, total: recreated?.total }, { active: 0, total: 0 }, 'a section created again with the same address starts from zero');
  });

  it('stay exact when many sign-ups and unsubscriptions run at once on different connections', async () => {
    const emails = Array.from({ length: 40 }, (_, i) => `rownolegle.${i}@example.pl`);
    // ten imports at once (the public form would rate-limit one address this fast), then every kind of change at once
    await Promise.all(Array.from({ length: 10 }, (_, k) => h.http.post('/api/subscribers/import').set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send(emails.slice(k * 4, k * 4 + 4).map((email, i) => ({ email, topics: i % 2 ? ['komunikaty'] : ['aktualnosci', 'ogloszenia'], lang: 'pl', consentSource: 'telefon' }))).expect(200)));
    const ids = await Promise.all(emails.map(idOf));
    await Promise.all(ids.map((id, i) => (i % 3 === 0 ? markUnsubscribed(h.db.pool, id) : i % 3 === 1 ? replaceTopics(h.db.pool, id, ['dla-mediow']) : deleteSubscriber(h.db.pool, id))));
    await assertSubscriberCountersExact('after concurrent writes');
    const shards = (await h.db.pool.query(`SELECT count(DISTINCT shard)::int AS n FROM subscriber_counts`)).rows[0].n;
    assert.ok(shards > 1, `writers on different connections used different shards (${shards})`);
    const byStatus = await countSubscribersByStatus(h.db.pool);
    const direct = Object.fromEntries((await h.db.pool.query(`SELECT status, count(*)::int AS n FROM subscribers GROUP BY status`)).rows.map((r) => [r.status, r.n]));
    assert.deepEqual(byStatus, direct);
  });
});
