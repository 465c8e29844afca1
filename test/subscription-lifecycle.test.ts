import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, eventually, findLink, linkPath, startHarness, type Harness } from './helpers/harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness({ label: 'lifecycle' });
});
after(async () => {
  await h.close();
});

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

async function subscribe(email: string, extra: Record<string, unknown> = {}) {
  return h.http.post('/api/subscriptions').send({ email, consent: true, ...extra });
}

async function statusOf(email: string): Promise<string | undefined> {
  const { rows } = await h.db.pool.query<{ status: string }>('SELECT status FROM subscribers WHERE email = $1', [email]);
  return rows[0]?.status;
}

describe('double opt-in', () => {
  const email = 'anna.nowak@example.pl';
  let confirmUrl: string;

  it('answers 202 pending and sends a Polish confirmation e-mail with HTML and text parts', async () => {
    const res = await subscribe('Anna.Nowak@Example.pl', { topics: ['dla-mediow'] });
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, { status: 'pending' });
    const [mail] = await eventually(() => (h.smtp.to(email).length ? h.smtp.to(email) : null), 10_000, 'confirmation e-mail');
    assert.equal(mail!.parsed.subject, 'Potwierdź zapis na powiadomienia');
    assert.match(mail!.parsed.html || '', /<html[^>]+lang="pl"/);
    assert.match(mail!.parsed.text ?? '', /Dla mediów/);
    confirmUrl = findLink(mail!.parsed.text, 'confirm');
    assert.ok(confirmUrl.startsWith('http://powiadom.test/confirm/'));
    assert.equal(await statusOf(email), 'pending');
  });

  it('does not confirm on GET: it shows a page with one button', async () => {
    const res = await h.http.get(linkPath(confirmUrl));
    assert.equal(res.status, 200);
    assert.match(res.text, /<form method="post" action="\/confirm\//);
    assert.equal(await statusOf(email), 'pending');
  });

  it('confirms on POST, records consent, shows a link to the preferences and sends a welcome e-mail', async () => {
    const res = await h.http.post(linkPath(confirmUrl)).type('form').send({});
    assert.equal(res.status, 200);
    assert.match(res.text, /Zapis został potwierdzony/);
    assert.match(res.text, /href="\/preferences\//);
    assert.equal(await statusOf(email), 'active');
    const { rows } = await h.db.pool.query(
      `SELECT c.source, c.consent_text_version, c.request_ip, c.confirmed_at, c.confirm_ip
       FROM consents c JOIN subscribers s ON s.id = c.subscriber_id WHERE s.email = $1`,
      [email],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].source, 'api');
    assert.ok(rows[0].consent_text_version);
    assert.ok(rows[0].request_ip);
    assert.ok(rows[0].confirmed_at instanceof Date);
    assert.ok(rows[0].confirm_ip);
    const welcome = await eventually(() => h.smtp.to(email).find((m) => /potwierdzony/.test(m.parsed.subject ?? '')), 10_000, 'welcome');
    assert.ok(findLink(welcome.parsed.text, 'preferences'));
    assert.match(welcome.raw, /^List-Unsubscribe:\s+<http:\/\/powiadom.test\/unsubscribe\//m);
    assert.match(welcome.raw, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click/m);
  });

  it('confirming twice is harmless', async () => {
    const res = await h.http.post(linkPath(confirmUrl)).type('form').send({});
    assert.equal(res.status, 200);
    assert.match(res.text, /był już wcześniej potwierdzony/);
  });

  it('a known active address gets "already subscribed" instead of a new confirmation', async () => {
    const before = h.smtp.to(email).length;
    const res = await subscribe(email);
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, { status: 'pending' });
    const mails = await eventually(() => (h.smtp.to(email).length > before ? h.smtp.to(email) : null));
    assert.equal(mails.at(-1)!.parsed.subject, 'Ten adres jest już zapisany na powiadomienia');
    assert.equal(await statusOf(email), 'active');
  });
});

describe('answers never reveal whether an address is known', () => {
  it('gives identical status, headers and body for known and unknown addresses', async () => {
    await h.deps.pool.query("INSERT INTO subscribers (email, status, lang) VALUES ('known@example.pl', 'active', 'pl')");
    const known = await subscribe('known@example.pl');
    const unknown = await subscribe('unknown-person@example.pl');
    assert.equal(known.status, unknown.status);
    assert.deepEqual(known.body, unknown.body);
    assert.equal(known.headers['content-length'], unknown.headers['content-length']);
  });
});

describe('preferences, one-click unsubscribe and re-subscribe', () => {
  const email = 'piotr.zielinski@example.pl';
  let preferencesUrl: string;
  let unsubscribeUrl: string;

  before(async () => {
    await subscribe(email, { topics: ['komunikaty'], lang: 'en' });
    const confirmation = await eventually(() => h.smtp.to(email)[0]);
    assert.equal(confirmation.parsed.subject, 'Confirm your subscription to notifications');
    await h.http.post(linkPath(findLink(confirmation.parsed.text, 'confirm'))).type('form').send({});
    const welcome = await eventually(() => h.smtp.to(email)[1]);
    preferencesUrl = findLink(welcome.parsed.text, 'preferences');
    unsubscribeUrl = findLink(welcome.parsed.text, 'unsubscribe');
  });

  it('shows the preferences page in the subscriber language with the current topics', async () => {
    const res = await h.http.get(linkPath(preferencesUrl));
    assert.equal(res.status, 200);
    assert.match(res.text, /<html lang="en">/);
    assert.match(res.text, /value="komunikaty" checked/);
  });

  it('updates topics and language', async () => {
    const res = await h.http.post(linkPath(preferencesUrl)).type('form').send('topics=aktualnosci&topics=ogloszenia&lang=pl');
    assert.equal(res.status, 303);
    const page = await h.http.get(res.headers.location!);
    assert.match(page.text, /Zapisaliśmy Twoje ustawienia/);
    const [row] = (await h.http.get('/api/subscribers').query({ email }).set(admin)).body;
    assert.deepEqual(row.topics, ['aktualnosci', 'ogloszenia']);
    assert.equal(row.lang, 'pl');
  });

  it('refuses an empty topic list with 400 and changes nothing', async () => {
    const res = await h.http.post(linkPath(preferencesUrl)).type('form').send('lang=en');
    assert.equal(res.status, 400);
    const [row] = (await h.http.get('/api/subscribers').query({ email }).set(admin)).body;
    assert.deepEqual(row.topics, ['aktualnosci', 'ogloszenia']);
  });

  it('exports everything stored as JSON', async () => {
    const res = await h.http.get(`${new URL(preferencesUrl).pathname}/export`);
    assert.equal(res.status, 200);
    assert.match(res.headers['content-disposition'] ?? '', /attachment/);
    assert.equal(res.body.subscriber.email, email);
    assert.equal(res.body.consents.length, 1);
    assert.ok(res.body.consents[0].confirmed_at);
  });

  it('GET on the unsubscribe link only shows a button', async () => {
    const res = await h.http.get(linkPath(unsubscribeUrl));
    assert.equal(res.status, 200);
    assert.match(res.text, /<form method="post"/);
    assert.equal(await statusOf(email), 'active');
  });

  it('unsubscribes with an RFC 8058 one-click POST: 2xx, no redirect, no cookie, idempotent', async () => {
    const path = new URL(unsubscribeUrl).pathname;
    const first = await h.http.post(path).type('form').send('List-Unsubscribe=One-Click');
    assert.equal(first.status, 200);
    assert.equal(first.headers.location, undefined);
    assert.equal(first.headers['set-cookie'], undefined);
    assert.equal(await statusOf(email), 'unsubscribed');
    const again = await h.http.post(path).type('form').send('List-Unsubscribe=One-Click');
    assert.equal(again.status, 200);
    const { rows } = await h.db.pool.query(
      'SELECT withdrawn_at, withdraw_method FROM consents c JOIN subscribers s ON s.id = c.subscriber_id WHERE s.email = $1',
      [email],
    );
    assert.equal(rows[0].withdraw_method, 'one-click');
    assert.ok(rows[0].withdrawn_at);
  });

  it('subscribing again starts a new double opt-in', async () => {
    const before = h.smtp.to(email).length;
    await subscribe(email, { topics: ['komunikaty'] });
    // the withdrawal stands until the new link is used (issue 10)
    assert.equal(await statusOf(email), 'unsubscribed');
    const mail = await eventually(() => h.smtp.to(email)[before]);
    assert.equal(mail.parsed.subject, 'Potwierdź zapis na powiadomienia');
    await h.http.post(linkPath(findLink(mail.parsed.text, 'confirm'))).type('form').send({});
    assert.equal(await statusOf(email), 'active');
  });
});

describe('erasure', () => {
  it('deletes personal data, keeps only a hash, and lets the address opt in anew', async () => {
    const email = 'do.usuniecia@example.pl';
    await subscribe(email);
    const confirmation = await eventually(() => h.smtp.to(email)[0]);
    await h.http.post(linkPath(findLink(confirmation.parsed.text, 'confirm'))).type('form').send({});
    const welcome = await eventually(() => h.smtp.to(email)[1]);
    const preferences = new URL(findLink(welcome.parsed.text, 'preferences')).pathname;

    const res = await h.http.post(`${preferences}/erase`).type('form').send({ confirm: 'yes' });
    assert.equal(res.status, 200);
    assert.match(res.text, /Usunęliśmy Twoje dane/);
    assert.equal(await statusOf(email), undefined);
    const consents = await h.db.pool.query('SELECT count(*)::int AS n FROM consents');
    const stored = JSON.stringify((await h.db.pool.query('SELECT * FROM suppressions')).rows);
    assert.ok(!stored.includes(email), 'the suppression list holds no address');
    assert.match(stored, /"reason":"erased"/);
    assert.ok(consents.rows[0].n >= 0);
    assert.equal((await h.http.get(preferences)).status, 400);

    await subscribe(email);
    const fresh = await eventually(() => h.smtp.to(email)[2]);
    await h.http.post(linkPath(findLink(fresh.parsed.text, 'confirm'))).type('form').send({});
    assert.equal(await statusOf(email), 'active');
    const after = await h.db.pool.query("SELECT count(*)::int AS n FROM suppressions WHERE reason = 'erased'");
    assert.equal(after.rows[0].n, 0);
  });

  it('admin DELETE /api/subscribers/:id erases; 404 for an unknown id', async () => {
    const email = 'admin.erase@example.pl';
    await subscribe(email);
    const [row] = (await h.http.get('/api/subscribers').query({ email }).set(admin)).body;
    assert.equal((await h.http.delete(`/api/subscribers/${row.id}`).set(admin)).status, 204);
    assert.equal(await statusOf(email), undefined);
    const missing = await h.http.delete(`/api/subscribers/${row.id}`).set(admin);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
  });
});

describe('tokens', () => {
  it('a tampered confirmation token gets a clear 4xx page and changes nothing', async () => {
    const email = 'tamper@example.pl';
    await subscribe(email);
    const mail = await eventually(() => h.smtp.to(email)[0]);
    const path = linkPath(findLink(mail.parsed.text, 'confirm'));
    const last = path.at(-1) === 'A' ? 'B' : 'A';
    const tampered = path.slice(0, -1) + last;
    const res = await h.http.post(tampered).type('form').send({});
    assert.equal(res.status, 400);
    assert.match(res.text, /Ten link jest nieprawidłowy/);
    assert.equal(await statusOf(email), 'pending');
  });

  it('an expired confirmation token answers 410 and changes nothing', async () => {
    const email = 'expired@example.pl';
    await subscribe(email);
    const { rows } = await h.db.pool.query('SELECT c.id FROM consents c JOIN subscribers s ON s.id = c.subscriber_id WHERE s.email = $1', [email]);
    const eightDaysAgo = Date.now() - 8 * 86_400_000;
    const token = h.deps.signer.sign('confirm', rows[0].id, 7 * 86_400, eightDaysAgo);
    const res = await h.http.post(`/confirm/${token}`).type('form').send({});
    assert.equal(res.status, 410);
    assert.match(res.text, /wygasł/);
    assert.equal(await statusOf(email), 'pending');
  });

  it('a token made for one purpose does not work for another', async () => {
    const { rows } = await h.db.pool.query("SELECT id FROM subscribers WHERE status = 'active' LIMIT 1");
    const unsubscribeToken = h.deps.signer.sign('unsubscribe', rows[0].id);
    assert.equal((await h.http.get(`/preferences/${unsubscribeToken}`)).status, 400);
  });
});

describe('expiry of unconfirmed subscriptions', () => {
  it('deletes opt-ins unconfirmed for more than 7 days and keeps newer ones', async () => {
    await subscribe('stale@example.pl');
    await subscribe('fresh@example.pl');
    await h.db.pool.query("UPDATE subscribers SET pending_since = now() - interval '8 days' WHERE email = 'stale@example.pl'");
    const deleted = await h.deps.subscriptions.expirePending();
    assert.equal(deleted, 1);
    assert.equal(await statusOf('stale@example.pl'), undefined);
    assert.equal(await statusOf('fresh@example.pl'), 'pending');
  });
});
