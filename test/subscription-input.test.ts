import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from './helpers/harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness({ label: 'input', env: { SUBSCRIBE_LIMIT_PER_IP: '1000' } });
});
after(async () => {
  await h.close();
});

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

async function rowCounts() {
  const { rows } = await h.db.pool.query(
    'SELECT (SELECT count(*) FROM subscribers)::int AS subscribers, (SELECT count(*) FROM consents)::int AS consents',
  );
  return rows[0] as { subscribers: number; consents: number };
}

describe('bad subscription requests get 400 and change nothing', () => {
  const cases: [string, unknown, string][] = [
    ['a malformed address', { email: 'not-an-address', consent: true }, 'email'],
    ['an address without a domain dot', { email: 'jan@localhost', consent: true }, 'email'],
    ['a local part over 64 octets', { email: `${'a'.repeat(65)}@example.pl`, consent: true }, 'email'],
    ['an address over 254 octets', { email: `a@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(60)}.pl`, consent: true }, 'email'],
    ['a CR/LF header injection', { email: 'jan@example.pl\r\nBcc: victim@example.pl', consent: true }, 'email'],
    ['a control character', { email: 'jan\u0000@example.pl', consent: true }, 'email'],
    ['an unknown topic', { email: 'jan@example.pl', consent: true, topics: ['nie-ma-takiego'] }, 'topics'],
    ['missing consent', { email: 'jan@example.pl' }, 'consent'],
    ['consent false', { email: 'jan@example.pl', consent: false }, 'consent'],
    ['an unsupported language', { email: 'jan@example.pl', consent: true, lang: 'de' }, 'lang'],
    ['a missing address', { consent: true }, 'email'],
    ['topics not an array', { email: 'jan@example.pl', consent: true, topics: 'dla-mediow' }, 'topics'],
  ];
  for (const [name, body, field] of cases) {
    it(`refuses ${name}`, async () => {
      const before = await rowCounts();
      const res = await h.http.post('/api/subscriptions').send(body as object);
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'invalid_request');
      assert.ok(res.body.error.fields[field], `fields.${field} in ${JSON.stringify(res.body)}`);
      assert.deepEqual(await rowCounts(), before);
    });
  }

  it('refuses malformed JSON with invalid_json', async () => {
    const res = await h.http.post('/api/subscriptions').set('Content-Type', 'application/json').send('{"email": "jan@example.pl",');
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid_json');
  });

  it('refuses bodies over 64 KiB with 413', async () => {
    const before = await rowCounts();
    const res = await h.http.post('/api/subscriptions').send({ email: 'jan@example.pl', consent: true, padding: 'x'.repeat(70 * 1024) });
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'payload_too_large');
    assert.deepEqual(await rowCounts(), before);
  });

  it('answers a bad form post with the form again: 400, the error tied to its field, nothing written', async () => {
    const before = await rowCounts();
    const res = await h.http.post('/api/subscriptions').type('form').send('email=zly-adres&topics=dla-mediow&lang=pl');
    assert.equal(res.status, 400);
    assert.match(res.headers['content-type'] ?? '', /text\/html/);
    assert.match(res.text, /aria-describedby="email-hint email-error"/);
    assert.match(res.text, /id="consent-error"/);
    assert.deepEqual(await rowCounts(), before);
  });
});

describe('the HTML form', () => {
  it('serves the form in Polish with a consent checkbox and ?topic= preselected', async () => {
    const res = await h.http.get('/subscribe?topic=komunikaty');
    assert.equal(res.status, 200);
    assert.match(res.text, /<html lang="pl">/);
    assert.match(res.text, /name="consent"/);
    assert.match(res.text, /value="komunikaty" checked/);
    assert.doesNotMatch(res.text, /value="dla-mediow" checked/);
  });

  it('serves the form in English with ?lang=en', async () => {
    const res = await h.http.get('/subscribe?lang=en');
    assert.match(res.text, /<html lang="en">/);
    assert.match(res.text, /Subscribe to notifications/);
  });

  it('accepts a form post with a 202 check-your-inbox page and queues the confirmation', async () => {
    const res = await h.http
      .post('/api/subscriptions')
      .type('form')
      .send('email=formularz%40example.pl&topics=dla-mediow&topics=komunikaty&lang=pl&consent=true&website=');
    assert.equal(res.status, 202);
    assert.match(res.text, /Sprawdź skrzynkę e-mail/);
    const mail = await eventually(() => h.smtp.to('formularz@example.pl')[0]);
    assert.match(mail.parsed.text ?? '', /Dla mediów, Komunikaty|Komunikaty, Dla mediów/);
    const { rows } = await h.db.pool.query("SELECT source FROM consents c JOIN subscribers s ON s.id = c.subscriber_id WHERE s.email = 'formularz@example.pl'");
    assert.equal(rows[0].source, 'form');
  });
});

describe('the cap on confirmation e-mails', () => {
  it('sends at most 3 confirmation e-mails to one address in 24 h, however many requests arrive', async () => {
    const email = 'bombardowany@example.pl';
    for (let i = 0; i < 6; i++) {
      const res = await h.http.post('/api/subscriptions').send({ email, consent: true });
      assert.equal(res.status, 202);
    }
    await eventually(() => h.smtp.to(email).length >= 3);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(h.smtp.to(email).length, 3);
    const jobs = await h.deps.queues.email.getJobCounts('waiting', 'active', 'delayed', 'completed');
    assert.ok((jobs.completed ?? 0) >= 3);
  });
});

describe('topics', () => {
  it('lists the seeded sections', async () => {
    const res = await h.http.get('/api/topics');
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.map((t: { slug: string }) => t.slug).sort(),
      ['aktualnosci', 'dla-mediow', 'komunikaty', 'ogloszenia'],
    );
    assert.ok(res.body.find((t: { slug: string; name: string }) => t.slug === 'ogloszenia' && t.name === 'Ogłoszenia i obwieszczenia'));
  });

  it('requires the admin token to add or delete a topic', async () => {
    assert.equal((await h.http.post('/api/topics').send({ slug: 'x', name: 'X' })).status, 401);
    const wrong = await h.http.post('/api/topics').set('Authorization', 'Bearer wrong-token').send({ slug: 'x', name: 'X' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'unauthorized');
    assert.equal((await h.http.delete('/api/topics/komunikaty')).status, 401);
  });

  it('adds a topic (201), refuses a duplicate (409) and a bad slug (400), deletes it (204, then 404)', async () => {
    const created = await h.http.post('/api/topics').set(admin).send({ slug: 'zdrowie', name: 'Zdrowie' });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body, { slug: 'zdrowie', name: 'Zdrowie' });
    assert.equal((await h.http.post('/api/topics').set(admin).send({ slug: 'zdrowie', name: 'Zdrowie' })).status, 409);
    const bad = await h.http.post('/api/topics').set(admin).send({ slug: 'Złe Słowo', name: 'x' });
    assert.equal(bad.status, 400);
    assert.ok(bad.body.error.fields.slug);
    assert.equal((await h.http.delete('/api/topics/zdrowie').set(admin)).status, 204);
    assert.equal((await h.http.delete('/api/topics/zdrowie').set(admin)).status, 404);
  });
});

describe('subscriber import', () => {
  it('imports a JSON array, reports counts and invalid rows, and is idempotent', async () => {
    const rows = [
      { email: 'import1@example.pl', topics: ['dla-mediow'], lang: 'pl', consentSource: 'newsletter-2025' },
      { email: 'IMPORT2@example.pl', topics: ['komunikaty', 'aktualnosci'], lang: 'en' },
      { email: 'import1@example.pl', topics: ['dla-mediow'] },
      { email: 'niepoprawny', topics: ['dla-mediow'] },
      { email: 'import3@example.pl', topics: ['brak-dzialu'] },
    ];
    const first = await h.http.post('/api/subscribers/import').set(admin).send(rows);
    assert.equal(first.status, 200);
    assert.equal(first.body.created, 2);
    assert.equal(first.body.updated, 0);
    assert.equal(first.body.skipped, 1);
    assert.deepEqual(first.body.invalid.map((i: { row: number }) => i.row), [4, 5]);
    const again = await h.http.post('/api/subscribers/import').set(admin).send(rows);
    assert.equal(again.body.created, 0);
    assert.equal(again.body.updated, 2);
    const [two] = (await h.http.get('/api/subscribers').query({ email: 'import2@example.pl' }).set(admin)).body;
    assert.equal(two.status, 'active');
    assert.equal(two.lang, 'en');
    assert.deepEqual(two.topics, ['aktualnosci', 'komunikaty']);
    const { rows: consents } = await h.db.pool.query(
      "SELECT c.source FROM consents c JOIN subscribers s ON s.id = c.subscriber_id WHERE s.email = 'import1@example.pl'",
    );
    assert.deepEqual(consents.map((c) => c.source), ['newsletter-2025']);
  });

  it('imports CSV and never re-activates someone who unsubscribed', async () => {
    await h.db.pool.query("INSERT INTO subscribers (email, status, lang) VALUES ('wypisany@example.pl', 'unsubscribed', 'pl')");
    const csv = 'email,topics,lang,consentSource\ncsv1@example.pl,dla-mediow;komunikaty,pl,stary-system\nwypisany@example.pl,dla-mediow,pl,stary-system\n';
    const res = await h.http.post('/api/subscribers/import').set(admin).set('Content-Type', 'text/csv').send(csv);
    assert.equal(res.status, 200);
    assert.equal(res.body.created, 1);
    assert.equal(res.body.skipped, 1);
    const [row] = (await h.http.get('/api/subscribers').query({ email: 'wypisany@example.pl' }).set(admin)).body;
    assert.equal(row.status, 'unsubscribed');
  });

  it('refuses a body that is not an array with 400 and requires the admin token', async () => {
    assert.equal((await h.http.post('/api/subscribers/import').set(admin).send({ email: 'x@example.pl' })).status, 400);
    assert.equal((await h.http.post('/api/subscribers/import').send([])).status, 401);
  });
});

describe('health', () => {
  it('answers /healthz and /readyz with 200 while PostgreSQL and Redis are up', async () => {
    assert.equal((await h.http.get('/healthz')).status, 200);
    const ready = await h.http.get('/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { status: 'ok', postgres: 'ok', redis: 'ok' });
  });
});
