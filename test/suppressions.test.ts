import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashEmail } from '../src/core/email-address.ts';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from './helpers/harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness({ label: 'suppressions' });
});
after(async () => {
  await h.close();
});

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

async function suppressionRow(email: string) {
  const { rows } = await h.db.pool.query<{ reason: string; note: string | null }>(
    'SELECT reason, note FROM suppressions WHERE email_hash = $1',
    [hashEmail(email)],
  );
  return rows[0];
}

async function suppressionCount(): Promise<number> {
  const { rows } = await h.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM suppressions');
  return rows[0]!.n;
}

async function importActive(emails: string[]) {
  const res = await h.http.post('/api/subscribers/import').set(admin).send(emails.map((email) => ({ email, topics: 'komunikaty' })));
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

describe('admin authentication', () => {
  it('answers 401 without the bearer token on every suppression endpoint and writes nothing', async () => {
    const before = await suppressionCount();
    const responses = await Promise.all([
      h.http.post('/api/webhooks/bounce').send({ email: 'x@example.pl', type: 'hard' }),
      h.http.get('/api/suppressions'),
      h.http.post('/api/suppressions').send({ email: 'x@example.pl', reason: 'manual' }),
      h.http.delete('/api/suppressions/x@example.pl'),
      h.http.post('/api/webhooks/bounce').set({ Authorization: 'Bearer wrong-token-wrong-token' }).send({ email: 'x@example.pl', type: 'hard' }),
    ]);
    for (const res of responses) {
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'unauthorized');
    }
    assert.equal(await suppressionCount(), before);
  });
});

describe('bounce webhook', () => {
  it('suppresses a hard-bounced address by its hash, with reason hard_bounce', async () => {
    const res = await h.http.post('/api/webhooks/bounce').set(admin).send({ email: 'Twardy.Zwrot@Example.pl', type: 'hard' });
    assert.equal(res.status, 200);
    assert.equal(res.body.suppressed, true);
    assert.equal(res.body.emailHash, hashEmail('twardy.zwrot@example.pl'));
    assert.equal(res.body.suppression.reason, 'hard_bounce');
    assert.equal((await suppressionRow('twardy.zwrot@example.pl'))?.reason, 'hard_bounce');
    assert.doesNotMatch(JSON.stringify(res.body), /twardy/i);
  });

  it('suppresses an address that complained, with reason complaint', async () => {
    const res = await h.http.post('/api/webhooks/bounce').set(admin).send({ email: 'skarga@example.pl', type: 'complaint' });
    assert.equal(res.status, 200);
    assert.equal(res.body.suppressed, true);
    assert.equal((await suppressionRow('skarga@example.pl'))?.reason, 'complaint');
  });

  it('records a soft bounce in the log only and does not suppress', async () => {
    const res = await h.http.post('/api/webhooks/bounce').set(admin).send({ email: 'pelna.skrzynka@example.pl', type: 'soft' });
    assert.equal(res.status, 200);
    assert.deepEqual(
      { suppressed: res.body.suppressed, suppression: res.body.suppression, type: res.body.type },
      { suppressed: false, suppression: null, type: 'soft' },
    );
    assert.equal(await suppressionRow('pelna.skrzynka@example.pl'), undefined);
    const line = h.logs.find((l) => l.includes('bounce reported') && l.includes('"type":"soft"'));
    assert.ok(line, 'the soft bounce is logged');
    assert.doesNotMatch(line, /pelna\.skrzynka/, 'the address is masked in the log');
  });

  it('refuses a malformed report with 400 naming the fields and writes nothing', async () => {
    const before = await suppressionCount();
    const bad = await h.http.post('/api/webhooks/bounce').set(admin).send({ email: 'not-an-address', type: 'permanent' });
    assert.equal(bad.status, 400);
    assert.ok(bad.body.error.fields.email);
    assert.ok(bad.body.error.fields.type);
    const missing = await h.http.post('/api/webhooks/bounce').set(admin).send({});
    assert.equal(missing.status, 400);
    assert.ok(missing.body.error.fields.email && missing.body.error.fields.type);
    const crlf = await h.http.post('/api/webhooks/bounce').set(admin).send({ email: 'a@example.pl\r\nBcc: b@example.pl', type: 'hard' });
    assert.equal(crlf.status, 400);
    assert.equal(await suppressionCount(), before);
  });
});

describe('operators’ suppression list', () => {
  it('adds a manual suppression (201), replaces it on a second POST (200) and refuses the reserved reason erased', async () => {
    const first = await h.http.post('/api/suppressions').set(admin).send({ email: 'reczna@example.pl', reason: 'manual', note: 'prośba telefoniczna' });
    assert.equal(first.status, 201);
    assert.deepEqual(Object.keys(first.body).sort(), ['createdAt', 'emailHash', 'note', 'reason']);
    assert.equal(first.body.note, 'prośba telefoniczna');
    const again = await h.http.post('/api/suppressions').set(admin).send({ email: 'reczna@example.pl', reason: 'complaint' });
    assert.equal(again.status, 200);
    assert.equal((await suppressionRow('reczna@example.pl'))?.reason, 'complaint');

    const before = await suppressionCount();
    const erased = await h.http.post('/api/suppressions').set(admin).send({ email: 'inna@example.pl', reason: 'erased' });
    assert.equal(erased.status, 400);
    assert.ok(erased.body.error.fields.reason);
    const badEmail = await h.http.post('/api/suppressions').set(admin).send({ email: 'bez-malpy', reason: 'manual' });
    assert.equal(badEmail.status, 400);
    assert.ok(badEmail.body.error.fields.email);
    assert.equal(await suppressionCount(), before);
  });

  it('lists hashes only, newest first, page by page', async () => {
    for (const n of [1, 2, 3]) {
      await h.http.post('/api/suppressions').set(admin).send({ email: `strona${n}@example.pl`, reason: 'manual' }).expect(201);
    }
    const total = await suppressionCount();
    const first = await h.http.get('/api/suppressions?limit=2').set(admin);
    assert.equal(first.status, 200);
    assert.equal(first.body.items.length, 2);
    assert.equal(first.body.items[0].emailHash, hashEmail('strona3@example.pl'));
    assert.equal(first.body.nextOffset, 2);
    const seen: string[] = [];
    for (let offset: number | null = 0; offset !== null; ) {
      const page: { body: { items: { emailHash: string }[]; nextOffset: number | null } } = await h.http.get(`/api/suppressions?limit=2&offset=${offset}`).set(admin).expect(200);
      seen.push(...page.body.items.map((i) => i.emailHash));
      offset = page.body.nextOffset;
    }
    assert.equal(seen.length, total);
    assert.equal(new Set(seen).size, total);
    assert.doesNotMatch(JSON.stringify(first.body), /@/);
    const bad = await h.http.get('/api/suppressions?limit=0&offset=-1').set(admin);
    assert.equal(bad.status, 400);
    assert.ok(bad.body.error.fields.limit && bad.body.error.fields.offset);
  });

  it('looks one address up with ?email= by hashing it', async () => {
    const hit = await h.http.get('/api/suppressions').query({ email: 'STRONA1@example.pl' }).set(admin);
    assert.equal(hit.status, 200);
    assert.deepEqual(hit.body.items.map((i: { emailHash: string; reason: string }) => [i.emailHash, i.reason]), [[hashEmail('strona1@example.pl'), 'manual']]);
    const miss = await h.http.get('/api/suppressions').query({ email: 'nieznany@example.pl' }).set(admin);
    assert.equal(miss.status, 200);
    assert.deepEqual(miss.body.items, []);
    const bad = await h.http.get('/api/suppressions').query({ email: 'nie adres' }).set(admin);
    assert.equal(bad.status, 400);
    assert.ok(bad.body.error.fields.email);
  });

  it('lifts a suppression by address (204) or by hash, then answers 404', async () => {
    const del = await h.http.delete(`/api/suppressions/${encodeURIComponent('Strona1@example.pl')}`).set(admin);
    assert.equal(del.status, 204);
    assert.equal(await suppressionRow('strona1@example.pl'), undefined);
    assert.equal((await h.http.delete('/api/suppressions/strona1@example.pl').set(admin)).status, 404);
    const byHash = await h.http.delete(`/api/suppressions/${hashEmail('strona2@example.pl')}`).set(admin);
    assert.equal(byHash.status, 204);
    assert.equal(await suppressionRow('strona2@example.pl'), undefined);
    const bad = await h.http.delete('/api/suppressions/nonsense').set(admin);
    assert.equal(bad.status, 400);
    assert.ok(bad.body.error.fields.email);
  });
});

describe('suppression and the subscription e-mails', () => {
  it('a hard-bounced confirmed subscriber gets no "already subscribed" e-mail; after the suppression is lifted it does', async () => {
    const bounced = 'potwierdzona@example.pl';
    const control = 'kontrolna@example.pl';
    await importActive([bounced, control]);
    await h.http.post('/api/webhooks/bounce').set(admin).send({ email: bounced, type: 'hard' }).expect(200);
    for (const email of [bounced, control]) {
      await h.http.post('/api/subscriptions').send({ email, consent: true }).expect(202);
    }
    // The control address's e-mail proves the queue ran; the bounced one's must not exist.
    await eventually(() => h.smtp.to(control).length > 0, 10_000, 'control e-mail');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(h.smtp.to(bounced).length, 0);

    await h.http.delete(`/api/suppressions/${bounced}`).set(admin).expect(204);
    await h.http.post('/api/subscriptions').send({ email: bounced, consent: true }).expect(202);
    const mail = await eventually(() => h.smtp.to(bounced)[0], 10_000, 'e-mail after lifting');
    assert.equal(mail.parsed.subject, 'Ten adres jest już zapisany na powiadomienia');
  });

  it('an article reaches a soft-bounced subscriber but not a hard-bounced or complaining one', async () => {
    const [hard, complaint, soft] = ['art.hard@example.pl', 'art.skarga@example.pl', 'art.soft@example.pl'];
    await importActive([hard, complaint, soft]);
    await h.http.post('/api/webhooks/bounce').set(admin).send({ email: hard, type: 'hard' }).expect(200);
    await h.http.post('/api/webhooks/bounce').set(admin).send({ email: complaint, type: 'complaint' }).expect(200);
    await h.http.post('/api/webhooks/bounce').set(admin).send({ email: soft, type: 'soft' }).expect(200);
    const article = { guid: 'suppression-test-1', url: 'https://duw.example/komunikat-1', title: 'Komunikat wojewody', topics: ['komunikaty'] };
    await h.http.post('/api/articles').set(admin).send(article).expect(202);
    const notification = (email: string) => h.smtp.to(email).filter((m) => m.parsed.subject === 'Komunikat wojewody');
    await eventually(() => notification(soft).length > 0, 15_000, 'notification to the soft-bounced address');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(notification(hard).length, 0);
    assert.equal(notification(complaint).length, 0);
    assert.equal(notification(soft).length, 1);
  });

  it('an address suppressed by an operator gets no confirmation e-mail', async () => {
    const blocked = 'zablokowana@example.pl';
    const control = 'kontrolna2@example.pl';
    await h.http.post('/api/suppressions').set(admin).send({ email: blocked, reason: 'manual' }).expect(201);
    for (const email of [blocked, control]) {
      await h.http.post('/api/subscriptions').send({ email, consent: true }).expect(202);
    }
    const [confirmation] = await eventually(() => (h.smtp.to(control).length ? h.smtp.to(control) : null), 10_000, 'control e-mail');
    assert.equal(confirmation!.parsed.subject, 'Potwierdź zapis na powiadomienia');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(h.smtp.to(blocked).length, 0);
  });
});
