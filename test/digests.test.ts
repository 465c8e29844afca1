import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { importSubscribers } from '../src/core/subscriber-import.ts';
import { buildDigestContent } from '../src/core/digest-content.ts';
import { metricSample } from './helpers/metrics.ts';
import { ADMIN_TOKEN, eventually, findLink, linkPath, startHarness, type Harness } from './helpers/harness.ts';

// Digests end to end on real PostgreSQL, Redis and SMTP: frequency on the subscriber, no per-article mail
// for digest readers, one digest per run with the right articles, nothing twice, re-checks at send time.
const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
let h: Harness;

before(async () => {
  h = await startHarness({ label: 'digests' });
  const result = await importSubscribers(h.deps.pool, [
    { email: 'daily.one@example.pl', topics: 'komunikaty', lang: 'pl', frequency: 'daily' },
    { email: 'daily.two@example.pl', topics: 'komunikaty dla-mediow', lang: 'pl', frequency: 'daily' },
    { email: 'daily.en@example.com', topics: 'komunikaty', lang: 'en', frequency: 'daily' },
    { email: 'weekly@example.pl', topics: 'komunikaty', lang: 'pl', frequency: 'weekly' },
    { email: 'instant@example.pl', topics: 'komunikaty', lang: 'pl' },
  ]);
  assert.equal(result.created, 5);
});
after(async () => {
  await h.close();
});

const digestsTo = (email: string) => h.smtp.to(email).filter((m) => /^Message-ID: <digest-/im.test(m.raw));
const notificationsTo = (email: string) => h.smtp.to(email).filter((m) => /^Message-ID: <notification-/im.test(m.raw));

let articleNo = 0;
async function publish(title: string, topics: string[], publishedAt?: string): Promise<number> {
  articleNo += 1;
  const res = await h.http.post('/api/articles').set(admin).send({
    url: `https://www.duw.pl/pl/a/${articleNo}`,
    title,
    summary: `Streszczenie: ${title}`,
    topics,
    ...(publishedAt ? { publishedAt } : {}),
  });
  assert.equal(res.status, 202);
  return res.body.id as number;
}

async function articleSent(id: number, count: number): Promise<void> {
  await eventually(async () => (await h.http.get(`/api/articles/${id}`).set(admin)).body.delivery.sent === count, 60_000, `article ${id} sent to ${count}`);
}

/** Runs a daily digest now and waits until its ledger has nothing pending and the run is finished. */
async function runDigest(frequency = 'daily'): Promise<{ id: number; body: Record<string, unknown> }> {
  const res = await h.http.post('/api/digests/run').set(admin).send({ frequency });
  assert.equal(res.status, 202);
  const id = res.body.id as number;
  const body = await eventually(async () => {
    const run = (await h.http.get(`/api/digests/${id}`).set(admin)).body as Record<string, unknown>;
    return run.finishedAt ? run : null;
  }, 60_000, `digest run ${id} finished`);
  return { id, body: { ...res.body, run: body } };
}

async function frequencyOf(email: string): Promise<string> {
  const res = await h.http.get('/api/subscribers').query({ email }).set(admin);
  return res.body[0].frequency as string;
}

describe('frequency on the subscriber', () => {
  it('is taken from POST /api/subscriptions, kept through confirmation and shown to the admin', async () => {
    const res = await h.http.post('/api/subscriptions').send({ email: 'form.weekly@example.pl', consent: true, topics: ['komunikaty'], frequency: 'weekly' });
    assert.equal(res.status, 202);
    const [mail] = await eventually(() => (h.smtp.to('form.weekly@example.pl').length > 0 ? h.smtp.to('form.weekly@example.pl') : null), 30_000, 'confirmation');
    const confirm = await h.http.post(linkPath(findLink(mail!.parsed.text, 'confirm')));
    assert.equal(confirm.status, 200);
    assert.equal(await frequencyOf('form.weekly@example.pl'), 'weekly');
    assert.equal(await frequencyOf('instant@example.pl'), 'immediate');
  });

  it('refuses an unknown frequency with 400 and changes nothing', async () => {
    const res = await h.http.post('/api/subscriptions').send({ email: 'bad.freq@example.pl', consent: true, frequency: 'hourly' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid_request');
    assert.ok(res.body.error.fields.frequency);
    assert.deepEqual((await h.http.get('/api/subscribers').query({ email: 'bad.freq@example.pl' }).set(admin)).body, []);
  });

  it('is accepted by the import as a JSON field and a CSV column, and a bad value is reported per row', async () => {
    const csv = 'email,topics,frequency\ncsv.daily@example.pl,komunikaty,daily\ncsv.bad@example.pl,komunikaty,monthly\n';
    const res = await h.http.post('/api/subscribers/import').set(admin).set('Content-Type', 'text/csv').send(csv);
    assert.equal(res.status, 200);
    assert.equal(res.body.created, 1);
    assert.deepEqual(res.body.invalid, [{ row: 2, reason: 'frequency must be immediate, daily or weekly' }]);
    assert.equal(await frequencyOf('csv.daily@example.pl'), 'daily');
    const json = await h.http.post('/api/subscribers/import').set(admin).send([{ email: 'csv.daily@example.pl', topics: ['komunikaty'], frequency: 'immediate' }]);
    assert.equal(json.body.updated, 1);
    assert.equal(await frequencyOf('csv.daily@example.pl'), 'immediate');
  });
});

describe('a daily digest', () => {
  let first: number;
  let second: number;

  it('sends no per-article notification to daily and weekly readers, only to immediate ones', async () => {
    first = await publish('Pierwszy komunikat', ['komunikaty'], '2026-12-01T09:00:00+01:00');
    second = await publish('Drugi komunikat', ['komunikaty'], '2026-12-01T12:00:00+01:00');
    await publish('Informacja dla mediów', ['dla-mediow'], '2026-12-01T10:00:00+01:00');
    await articleSent(first, 2);
    await articleSent(second, 2);
    assert.equal(notificationsTo('instant@example.pl').length, 2);
    for (const reader of ['daily.one@example.pl', 'daily.two@example.pl', 'weekly@example.pl', 'form.weekly@example.pl']) {
      assert.equal(notificationsTo(reader).length, 0, reader);
    }
  });

  it('answers 202 with the period and sends one digest per daily reader, newest first, grouped by section when several', async () => {
    const { id, body } = await runDigest();
    assert.equal(body.frequency, 'daily');
    assert.ok(body.periodEnd);
    const run = body.run as { delivery: Record<string, number>; articles: number };
    assert.deepEqual(run.delivery, { recipients: 3, sent: 3, failed: 0, pending: 0, suppressed: 0 });
    const [one] = digestsTo('daily.one@example.pl');
    assert.equal(digestsTo('daily.one@example.pl').length, 1);
    assert.match(one!.parsed.subject!, /^Powiadomienia DUW: 2 nowe artykuły \(\d{1,2} \S+ \d{4}\)$/);
    const text = one!.parsed.text!;
    assert.ok(text.indexOf('Drugi komunikat') < text.indexOf('Pierwszy komunikat'), 'newest first');
    assert.ok(!text.includes('Informacja dla mediów'), 'only the reader\'s sections');
    assert.ok(!text.includes('== '), 'no section headings for a reader of one section');
    assert.match(one!.raw, new RegExp(`^Message-ID: <digest-${id}-\\d+@duw\\.example>`, 'm'));
    // the https URL alone: the mailto: is advertised only when a bounce mailbox is read (INBOUND_IMAP_URL)
    assert.match(one!.raw, /^List-Unsubscribe: <http:\/\/powiadom\.test\/unsubscribe\/[\w-]{39}>\r?\n(?! )/m);
    assert.match(one!.raw, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    assert.match(one!.raw, /^List-Id: Powiadom <powiadomienia\.duw\.example>/m);
    const two = digestsTo('daily.two@example.pl')[0]!.parsed;
    assert.match(two.subject!, /: 3 nowe artykuły/);
    assert.match(two.text ?? '', /== Dla mediów ==[\s\S]*Informacja dla mediów/);
    assert.match(two.text ?? '', /== Komunikaty ==[\s\S]*Drugi komunikat[\s\S]*Pierwszy komunikat/);
    assert.match(two.html || '', /<h2[^>]*>Komunikaty<\/h2>/);
    const en = digestsTo('daily.en@example.com')[0]!.parsed;
    assert.match(en.subject!, /^DUW notifications: 2 new articles \(/);
    assert.match(en.html || '', /<html[^>]+lang="en"/);
    assert.equal(digestsTo('weekly@example.pl').length, 0, 'weekly readers wait for the weekly run');
    assert.equal(digestsTo('instant@example.pl').length, 0);
  });

  it('sends nothing new when run again for an already covered window', async () => {
    const before = h.smtp.received.length;
    const { body } = await runDigest();
    assert.equal(body.articles, 0);
    assert.equal((body.run as { delivery: { recipients: number } }).delivery.recipients, 0);
    assert.equal(h.smtp.received.length, before);
  });

  it('never puts an article into two digests: the next run lists only what came after', async () => {
    await publish('Trzeci komunikat', ['komunikaty']);
    await runDigest();
    const digests = digestsTo('daily.one@example.pl');
    assert.equal(digests.length, 2);
    assert.match(digests[1]!.parsed.subject!, /: 1 nowy artykuł \(/);
    assert.ok(digests[1]!.parsed.text!.includes('Trzeci komunikat'));
    assert.ok(!digests[1]!.parsed.text!.includes('Pierwszy komunikat'));
    const { rows } = await h.deps.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM digest_run_articles WHERE frequency = 'daily' GROUP BY article_id HAVING count(*) > 1");
    assert.equal(rows.length, 0);
  });

  it('lists recent runs in GET /api/digests, newest first, and answers 404 for an unknown run', async () => {
    const list = await h.http.get('/api/digests').set(admin);
    assert.equal(list.status, 200);
    assert.ok(list.body.length >= 3);
    assert.ok(list.body[0].id > list.body[1].id);
    assert.deepEqual(Object.keys(list.body[0].delivery).sort(), ['failed', 'pending', 'recipients', 'sent', 'suppressed']);
    assert.equal((await h.http.get('/api/digests/999999').set(admin)).status, 404);
    assert.equal((await h.http.post('/api/digests/run').set(admin).send({ frequency: 'hourly' })).status, 400);
    assert.equal((await h.http.post('/api/digests/run').send({ frequency: 'daily' })).status, 401);
  });

  it('sends the weekly digest to weekly readers only', async () => {
    await runDigest('weekly');
    const weekly = digestsTo('weekly@example.pl');
    assert.equal(weekly.length, 1);
    assert.match(weekly[0]!.parsed.subject!, /: 3 nowe artykuły/);
    assert.match(weekly[0]!.parsed.text!, /Nowe artykuły z\sostatniego tygodnia/);
    assert.equal(digestsTo('daily.one@example.pl').length, 2);
  });
});

describe('one built message per (sections, articles, language)', () => {
  it('shares the template between readers with the same new articles and fills only their own slots', () => {
    const article = (id: number, topics: string[]) => ({ id, url: `https://www.duw.pl/${id}`, title: `Artykuł ${id}`, summary: null, lang: 'pl', topics, published_at: new Date(), created_at: new Date(Date.now() - 1000) });
    const topics = [{ slug: 'dla-mediow', name: 'Dla mediów' }, { slug: 'komunikaty', name: 'Komunikaty' }];
    const run = { runId: 77, frequency: 'daily' as const, periodEnd: new Date(), articles: [article(2, ['komunikaty']), article(1, ['dla-mediow'])], topics };
    const a = buildDigestContent(run, { topics: ['komunikaty'], since: null })!;
    const b = buildDigestContent(run, { topics: ['komunikaty'], since: null })!;
    const both = buildDigestContent(run, { topics: ['komunikaty', 'dla-mediow'], since: null })!;
    assert.equal(buildDigestContent(run, { topics: ['ogloszenia'], since: null }), null, 'nothing new: no digest');
    assert.equal(buildDigestContent(run, { topics: ['komunikaty'], since: new Date() }), null, 'recorded before the reader\'s since: no digest');
    const mail = h.workers!.ctx.digestMail;
    const m1 = mail.build(a, { deliveryId: 1, subscriberId: 11, email: 'a@example.pl', lang: 'pl' });
    const m2 = mail.build(b, { deliveryId: 2, subscriberId: 12, email: 'b@example.pl', lang: 'pl' });
    assert.equal(m1.template, m2.template, 'one build for both readers');
    assert.notEqual(m1.values.to, m2.values.to);
    assert.notEqual(m1.values.unsub, m2.values.unsub);
    assert.notEqual(mail.build(a, { deliveryId: 3, subscriberId: 13, email: 'c@example.com', lang: 'en' }).template, m1.template, 'another language, another build');
    assert.notEqual(mail.build(both, { deliveryId: 4, subscriberId: 14, email: 'd@example.pl', lang: 'pl' }).template, m1.template, 'other sections, another build');
    assert.deepEqual(both.groups.map((g) => g.topic?.slug), ['dla-mediow', 'komunikaty']);
  });
});

describe('digest metrics', () => {
  it('count digests by frequency and show the last finished run and the last scheduled time', async () => {
    const res = await h.http.get('/metrics').set(admin);
    assert.equal(res.status, 200);
    assert.ok((metricSample(res.text, 'powiadom_digests_total', { frequency: 'daily', outcome: 'sent' }) ?? 0) >= 4);
    assert.ok((metricSample(res.text, 'powiadom_digests_total', { frequency: 'weekly', outcome: 'sent' }) ?? 0) >= 2);
    const finished = metricSample(res.text, 'powiadom_digest_last_success_timestamp_seconds', { frequency: 'daily' }) ?? 0;
    assert.ok(Math.abs(finished - Date.now() / 1000) < 600, 'the last daily run finished minutes ago');
    const scheduled = metricSample(res.text, 'powiadom_digest_last_scheduled_timestamp_seconds', { frequency: 'weekly' }) ?? 0;
    assert.ok(scheduled <= Date.now() / 1000 && scheduled > Date.now() / 1000 - 8 * 86_400);
    assert.match(res.text, /powiadom_digest_run_duration_seconds_count\{frequency="daily"\} \d+/);
  });
});

describe('re-checks at send time', () => {
  it('does not send to a reader who unsubscribed, was suppressed or switched to immediate after the fan-out', async () => {
    await importSubscribers(h.deps.pool, [
      { email: 'gone@example.pl', topics: 'komunikaty', frequency: 'daily' },
      { email: 'blocked@example.pl', topics: 'komunikaty', frequency: 'daily' },
      { email: 'switched@example.pl', topics: 'komunikaty', frequency: 'daily' },
    ]);
    await publish('Czwarty komunikat', ['komunikaty']);
    await h.deps.queues.digestSend.pause();
    try {
      const res = await h.http.post('/api/digests/run').set(admin).send({ frequency: 'daily' });
      const id = res.body.id as number;
      await eventually(async () => (await h.http.get(`/api/digests/${id}`).set(admin)).body.fanoutStatus === 'done', 60_000, 'fan-out done');
      const ids = async (email: string) => (await h.http.get('/api/subscribers').query({ email }).set(admin)).body[0].id as number;
      await h.deps.subscriptions.unsubscribeById(await ids('gone@example.pl'), 'test');
      assert.equal((await h.http.post('/api/suppressions').set(admin).send({ email: 'blocked@example.pl', reason: 'manual' })).status, 201);
      await h.deps.pool.query("UPDATE subscribers SET frequency = 'immediate', frequency_since = now() WHERE email = 'switched@example.pl'");
      await h.deps.queues.digestSend.resume();
      const run = await eventually(async () => {
        const body = (await h.http.get(`/api/digests/${id}`).set(admin)).body as { finishedAt: string | null; delivery: Record<string, number> };
        return body.finishedAt ? body : null;
      }, 60_000, 'run finished');
      assert.equal(run.delivery.suppressed, 3);
      assert.equal(run.delivery.sent, 3);
      for (const email of ['gone@example.pl', 'blocked@example.pl', 'switched@example.pl']) assert.equal(digestsTo(email).length, 0, email);
    } finally {
      await h.deps.queues.digestSend.resume();
    }
  });
});

describe('switching frequency on the preferences page', () => {
  it('shows the radio group with the current choice and the note, saves a new choice, and the export has it', async () => {
    const [mail] = digestsTo('daily.one@example.pl');
    const prefs = linkPath(findLink(mail!.parsed.text, 'preferences'));
    const page = await h.http.get(prefs);
    assert.equal(page.status, 200);
    assert.match(page.text, /<input type="radio" id="frequency-daily" name="frequency" value="daily" checked/);
    assert.match(page.text, /artykuły czekające na najbliższe zestawienie nie zostaną już wysłane/);
    const saved = await h.http.post(prefs).type('form').send({ topics: 'komunikaty', lang: 'pl', frequency: 'immediate' });
    assert.equal(saved.status, 303);
    assert.equal(await frequencyOf('daily.one@example.pl'), 'immediate');
    const exported = await h.http.get(`${prefs.replace(/\?.*$/, '')}/export`);
    assert.equal(exported.body.subscriber.frequency, 'immediate');
    const bad = await h.http.post(prefs).type('form').send({ topics: 'komunikaty', lang: 'pl', frequency: 'yearly' });
    assert.equal(bad.status, 400);
    assert.equal(await frequencyOf('daily.one@example.pl'), 'immediate');
  });

  it('sends nothing of the waiting articles after a switch from daily to immediate, and new articles one by one', async () => {
    // daily.one switched above; this article was recorded after the switch
    const id = await publish('Piąty komunikat', ['komunikaty']);
    await articleSent(id, 4);
    assert.equal(notificationsTo('daily.one@example.pl').length, 1);
    const before = digestsTo('daily.one@example.pl').length;
    await runDigest();
    assert.equal(digestsTo('daily.one@example.pl').length, before);
  });
});
