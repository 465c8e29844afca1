import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, findLink, linkPath, startHarness, type Harness } from './helpers/harness.ts';

// "Send me my management link": the same answer for every address, a real e-mail (parsed by
// mailparser) only to a known one, counted in the per-address cap and the per-IP limit.
let h: Harness;
before(async () => {
  h = await startHarness({ label: 'manage-link', env: { CONFIRMATIONS_PER_DAY: '3', TRUST_PROXY: '1', SUBSCRIBE_LIMIT_PER_IP: '6' } });
});
after(async () => {
  await h.close();
});

let ipCounter = 1;
/** A fresh client address per request group, so the per-IP limit of one test does not spill into another. */
const freshIp = () => `198.51.100.${ipCounter++}`;

/** Waits until the e-mail queue has nothing left to do (so "no e-mail" is a fact, not a guess). */
async function emailQueueIdle(): Promise<void> {
  await eventually(async () => {
    const counts = await h.deps.queues.email.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(counts).every((n) => n === 0);
  }, 60_000, 'an idle e-mail queue');
}

async function subscribeAndConfirm(email: string, topics: string[] = ['aktualnosci']): Promise<void> {
  const ip = freshIp();
  assert.equal((await h.http.post('/api/subscriptions').set('X-Forwarded-For', ip).send({ email, consent: true, topics })).status, 202);
  const confirmation = await eventually(() => h.smtp.to(email).find((m) => /Potwierdź/.test(m.parsed.subject ?? '')), 60_000, 'confirmation');
  assert.equal((await h.http.post(linkPath(findLink(confirmation.parsed.text, 'confirm'))).type('form').send({})).status, 200);
  await eventually(() => h.smtp.to(email).find((m) => /potwierdzony/.test(m.parsed.subject ?? '')), 60_000, 'welcome');
}

const manageMails = (email: string) => h.smtp.to(email).filter((m) => /Link do ustawień|link to your notification settings/i.test(m.parsed.subject ?? ''));

describe('POST /api/manage-link and /manage', () => {
  it('answers 202 {"status":"sent"} alike for a known and an unknown address, and mails only the known one', async () => {
    const known = 'anna.nowak@example.pl';
    const unknown = 'nikt.taki@example.pl';
    await subscribeAndConfirm(known);
    const a = await h.http.post('/api/manage-link').set('X-Forwarded-For', freshIp()).send({ email: unknown });
    const b = await h.http.post('/api/manage-link').set('X-Forwarded-For', freshIp()).send({ email: ' Anna.Nowak@Example.PL ' });
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.deepEqual(a.body, { status: 'sent' });
    assert.deepEqual(b.body, a.body);
    assert.equal(a.text, b.text, 'the answers are byte for byte the same');

    const mail = await eventually(() => manageMails(known)[0], 60_000, 'the management link');
    assert.equal(mail.parsed.headers.get('auto-submitted'), 'auto-generated');
    assert.match(mail.raw.toString(), /^List-Unsubscribe:\s+<http:\/\/powiadom\.test\/unsubscribe\//m);
    const preferences = findLink(mail.parsed.text, 'preferences');
    const page = await h.http.get(linkPath(preferences));
    assert.equal(page.status, 200);
    assert.match(page.text, /anna\.nowak@example\.pl/);
    assert.equal((await h.http.get(linkPath(findLink(mail.parsed.text, 'unsubscribe')))).status, 200);
    assert.match(mail.parsed.html || '', /href="[^"]*\/preferences\//);

    await emailQueueIdle();
    assert.equal(h.smtp.to(unknown).length, 0, 'an unknown address gets nothing');
    const { rows } = await h.db.pool.query<{ email: string | null; outcome: string }>('SELECT email, outcome FROM manage_link_requests ORDER BY id');
    assert.deepEqual(rows.map((r) => r.outcome).sort(), ['send', 'unknown']);
    assert.ok(rows.every((r) => r.email === null), 'a resolved request keeps no address');
    assert.ok(!h.logs.join('').includes(known), 'no full address in the logs');
  });

  it('sends the link to a pending and to an unsubscribed address too', async () => {
    const pending = 'oczekuje@example.pl';
    assert.equal((await h.http.post('/api/subscriptions').set('X-Forwarded-For', freshIp()).send({ email: pending, consent: true })).status, 202);
    const gone = 'wypisany@example.pl';
    await subscribeAndConfirm(gone);
    const welcome = h.smtp.to(gone).find((m) => /potwierdzony/.test(m.parsed.subject ?? ''))!;
    assert.equal((await h.http.post(linkPath(findLink(welcome.parsed.text, 'unsubscribe'))).type('form').send({})).status, 200);
    for (const email of [pending, gone]) {
      assert.equal((await h.http.post('/api/manage-link').set('X-Forwarded-For', freshIp()).send({ email, lang: 'en' })).status, 202);
      const mail = await eventually(() => manageMails(email)[0], 60_000, `the link for ${email}`);
      assert.equal(mail.parsed.subject, 'The link to your notification settings');
      assert.match(findLink(mail.parsed.text, 'preferences'), /lang=en/);
    }
  });

  it('counts in the per-address daily cap: past it, requests are answered alike but mail nothing', async () => {
    const email = 'limit@example.pl';
    await subscribeAndConfirm(email); // slot 1 of 3 (the welcome e-mail is not capped)
    for (let i = 0; i < 4; i++) {
      assert.equal((await h.http.post('/api/manage-link').set('X-Forwarded-For', freshIp()).send({ email })).status, 202);
    }
    await eventually(() => manageMails(email).length >= 2, 60_000, 'two management links');
    await emailQueueIdle();
    assert.equal(manageMails(email).length, 2, 'slots 2 and 3 only');
    const { rows } = await h.db.pool.query<{ outcome: string; n: number }>(
      `SELECT outcome, count(*)::int AS n FROM manage_link_requests r JOIN subscribers s ON s.id = r.subscriber_id WHERE s.email = $1 GROUP BY outcome ORDER BY outcome`,
      [email],
    );
    assert.deepEqual(rows, [{ outcome: 'capped', n: 2 }, { outcome: 'send', n: 2 }]);
  });

  it('counts in the per-IP limit: 429 with Retry-After once it is used up, and nothing is queued', async () => {
    const ip = freshIp();
    const before = (await h.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM manage_link_requests')).rows[0]!.n;
    for (let i = 0; i < 6; i++) {
      assert.equal((await h.http.post('/api/manage-link').set('X-Forwarded-For', ip).send({ email: `ip${i}@example.pl` })).status, 202);
    }
    const refused = await h.http.post('/manage').set('X-Forwarded-For', ip).type('form').send({ email: 'ip9@example.pl' });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers['retry-after']) > 0);
    const after = (await h.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM manage_link_requests')).rows[0]!.n;
    assert.equal(after - before, 6);
  });

  it('refuses a bad address with 400 (JSON names the field; the page shows the error) and queues nothing', async () => {
    const before = (await h.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM manage_link_requests')).rows[0]!.n;
    const json = await h.http.post('/api/manage-link').set('X-Forwarded-For', freshIp()).send({ email: 'not-an-address' });
    assert.equal(json.status, 400);
    assert.equal(json.body.error.code, 'invalid_request');
    assert.ok(json.body.error.fields.email);
    const form = await h.http.post('/manage').set('X-Forwarded-For', freshIp()).type('form').send({ email: 'zły adres' });
    assert.equal(form.status, 400);
    assert.match(form.text, /aria-invalid="true"/);
    assert.match(form.text, /value="zły adres"/);
    const after = (await h.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM manage_link_requests')).rows[0]!.n;
    assert.equal(after, before);
  });

  it('the form answers with the same page for any address and repeats the address typed', async () => {
    const res = await h.http.post('/manage?lang=en').set('X-Forwarded-For', freshIp()).type('form').send({ email: 'kto.kolwiek@example.pl', lang: 'en' });
    assert.equal(res.status, 202);
    assert.match(res.text, /If this address is subscribed to notifications, we have sent it a link/);
    assert.match(res.text, /kto\.kolwiek@example\.pl/);
    const page = await h.http.get('/manage');
    assert.equal(page.status, 200);
    assert.match(page.text, /<form method="post" action="\/manage"/);
  });
});

describe('links to /manage', () => {
  it('an invalid or expired link offers a fresh link instead of only the subscription form', async () => {
    const res = await h.http.get('/preferences/AAAAinvalidtoken').set('Accept', 'text/html');
    assert.equal(res.status >= 400 && res.status < 500, true);
    assert.match(res.text, /href="\/manage"/);
    assert.match(res.text, /Wystąpił problem/);
  });

  it('the form, the check-your-inbox page (repeating the address typed) and every page footer link to it', async () => {
    const form = await h.http.get('/subscribe');
    assert.match(form.text, /href="\/manage"/);
    assert.match(form.text, /href="\/informacja-o-danych"/);
    assert.match(form.text, /href="\/deklaracja-dostepnosci"/);
    const inbox = await h.http.post('/api/subscriptions').set('X-Forwarded-For', freshIp()).type('form').send({ email: 'literowka@exmaple.pl', consent: 'true', topics: 'komunikaty' });
    assert.equal(inbox.status, 202);
    assert.match(inbox.text, /Na podany adres wysłaliśmy wiadomość z\u00a0linkiem potwierdzającym\./);
    assert.match(inbox.text, /literowka@exmaple\.pl/);
    assert.match(inbox.text, /href="\/manage"/);
  });

  it('every e-mail footer links to /manage and to the privacy notice', async () => {
    const email = 'stopka@example.pl';
    await subscribeAndConfirm(email);
    for (const mail of h.smtp.to(email)) {
      assert.match(mail.parsed.text ?? '', /http:\/\/powiadom\.test\/informacja-o-danych/);
      if (!/Potwierdź/.test(mail.parsed.subject ?? '')) assert.match(mail.parsed.text ?? '', /http:\/\/powiadom\.test\/manage/);
    }
  });
});

describe('the already-subscribed e-mail', () => {
  it('pre-ticks the sections the repeated request asked for on its preferences link, saving nothing by itself', async () => {
    const email = 'ponownie@example.pl';
    await subscribeAndConfirm(email, ['aktualnosci']);
    assert.equal((await h.http.post('/api/subscriptions').set('X-Forwarded-For', freshIp()).send({ email, consent: true, topics: ['komunikaty', 'aktualnosci'] })).status, 202);
    const mail = await eventually(() => h.smtp.to(email).find((m) => /już zapisany/.test(m.parsed.subject ?? '')), 60_000, 'already-subscribed');
    assert.match(mail.parsed.text ?? '', /Komunikaty/);
    const link = findLink(mail.parsed.text, 'preferences');
    assert.match(link, /add=komunikaty$/);
    const page = await h.http.get(linkPath(link));
    assert.equal(page.status, 200);
    assert.match(page.text, /id="topic-komunikaty" name="topics" value="komunikaty" checked/);
    assert.match(page.text, /id="topic-aktualnosci" name="topics" value="aktualnosci" checked/);
    assert.match(page.text, /Zapisz ustawienia, aby je dodać/);
    const { rows } = await h.db.pool.query<{ topics: string[] }>(
      'SELECT ARRAY(SELECT topic_slug FROM subscriber_topics t WHERE t.subscriber_id = s.id ORDER BY 1) AS topics FROM subscribers s WHERE email = $1',
      [email],
    );
    assert.deepEqual(rows[0]!.topics, ['aktualnosci']);
  });
});

describe('erasure asks first', () => {
  it('POST /preferences/:token/erase without confirm=yes shows the confirmation step and erases nothing', async () => {
    const email = 'usun@example.pl';
    await subscribeAndConfirm(email);
    const preferences = findLink(h.smtp.to(email).find((m) => /potwierdzony/.test(m.parsed.subject ?? ''))!.parsed.text, 'preferences');
    const path = new URL(preferences).pathname;
    const first = await h.http.post(`${path}/erase`).type('form').send({});
    assert.equal(first.status, 200);
    assert.match(first.text, /Czy na pewno usunąć wszystkie Twoje dane\?/);
    assert.match(first.text, /name="confirm" value="yes"/);
    assert.equal((await h.db.pool.query('SELECT 1 FROM subscribers WHERE email = $1', [email])).rowCount, 1);
    const second = await h.http.post(`${path}/erase`).type('form').send({ confirm: 'yes' });
    assert.equal(second.status, 200);
    assert.equal((await h.db.pool.query('SELECT 1 FROM subscribers WHERE email = $1', [email])).rowCount, 0);
  });
});
