import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { solveChallenge, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import { startHarness, type Harness } from './helpers/harness.ts';

// The form's honeypot, and the optional ALTCHA proof of work on the form and the JSON API.
const ALTCHA_KEY = 'altcha-test-key-0123456789-0123456789';
let plain: Harness;
let guarded: Harness;
before(async () => {
  plain = await startHarness({ label: 'honeypot' });
  guarded = await startHarness({ label: 'altcha', env: { ALTCHA_HMAC_KEY: ALTCHA_KEY } });
});
after(async () => {
  await plain.close();
  await guarded.close();
});

const count = async (h: Harness, email: string) =>
  (await h.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM subscribers WHERE email = $1', [email])).rows[0]!.n;

/** What the widget does in the browser: fetch a challenge, solve it, encode the payload. */
async function solvedPayload(h: Harness): Promise<string> {
  const res = await h.http.get('/api/altcha/challenge');
  assert.equal(res.status, 200);
  assert.equal(res.headers['cache-control'], 'no-store');
  const challenge = res.body as Challenge;
  const solution = await solveChallenge({ challenge, deriveKey, timeout: 30_000 });
  assert.ok(solution, 'the challenge is solvable');
  return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
}

describe('honeypot', () => {
  it('answers a filled honeypot exactly as an accepted request, and stores and sends nothing', async () => {
    const human = await plain.http.post('/api/subscriptions').type('form').send({ email: 'czlowiek@example.pl', consent: 'true', topics: 'komunikaty', website: '' });
    const bot = await plain.http.post('/api/subscriptions').type('form').send({ email: 'bot@example.pl', consent: 'true', topics: 'komunikaty', website: 'https://spam.example' });
    assert.equal(bot.status, human.status);
    assert.equal(bot.status, 202);
    // The same page, but for the address typed (the page repeats it, so a typo can be seen).
    assert.equal(bot.text.replace('bot@example.pl', 'czlowiek@example.pl'), human.text);
    await plain.smtp.waitFor(1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await count(plain, 'bot@example.pl'), 0);
    assert.equal(plain.smtp.to('bot@example.pl').length, 0);
    assert.equal(await count(plain, 'czlowiek@example.pl'), 1);
  });

  it('is hidden from people: out of the tab order, no autofill, aria-hidden', async () => {
    const form = await plain.http.get('/subscribe');
    assert.match(form.text, /<div class="field hp" aria-hidden="true">[\s\S]*?<input type="text" id="website" name="website" tabindex="-1" autocomplete="off">/);
  });

  it('the form carries no proof-of-work widget and the challenge endpoint is absent while ALTCHA is off', async () => {
    assert.doesNotMatch((await plain.http.get('/subscribe')).text, /altcha/);
    assert.equal((await plain.http.get('/api/altcha/challenge')).status, 404);
  });
});

describe('ALTCHA proof of work (ALTCHA_HMAC_KEY set)', () => {
  it('puts the self-hosted widget on the form without inline script', async () => {
    const form = await guarded.http.get('/subscribe');
    assert.match(form.text, /<altcha-widget challenge="\/api\/altcha\/challenge" name="altcha" language="pl"/);
    assert.match(form.text, /<script type="module" src="\/static\/altcha-setup.js"><\/script>/);
    assert.doesNotMatch(form.text, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script has a src');
    assert.doesNotMatch(form.text, /https?:\/\/(?!powiadom\.test)[^"]*altcha/i, 'nothing loaded from a third party');
    for (const file of ['/static/altcha-setup.js', '/static/altcha/altcha.js', '/static/altcha/altcha.css', '/static/altcha/pbkdf2-worker.js', '/static/altcha/i18n-pl.js']) {
      const res = await guarded.http.get(file);
      assert.equal(res.status, 200, file);
      assert.match(res.headers['content-type'] ?? '', file.endsWith('.css') ? /text\/css/ : /javascript/, file);
    }
  });

  it('refuses JSON and form requests without a valid solution, and changes nothing', async () => {
    const missing = await guarded.http.post('/api/subscriptions').send({ email: 'bez.dowodu@example.pl', consent: true });
    assert.equal(missing.status, 400);
    assert.ok(missing.body.error.fields.altcha);
    const garbage = await guarded.http.post('/api/subscriptions').send({ email: 'bez.dowodu@example.pl', consent: true, altcha: Buffer.from('{"challenge":{}}').toString('base64') });
    assert.equal(garbage.status, 400);
    const form = await guarded.http.post('/api/subscriptions').type('form').send({ email: 'bez.dowodu@example.pl', consent: 'true', topics: 'komunikaty', altcha: 'x' });
    assert.equal(form.status, 400);
    assert.match(form.text, /Nie udało się potwierdzić, że formularz wysyła człowiek/);
    assert.match(form.text, /<altcha-widget/);
    assert.equal(await count(guarded, 'bez.dowodu@example.pl'), 0);
  });

  it('accepts a solved challenge once, on the JSON API and on the form, and refuses its reuse', async () => {
    const payload = await solvedPayload(guarded);
    const first = await guarded.http.post('/api/subscriptions').send({ email: 'z.dowodem@example.pl', consent: true, altcha: payload });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const replay = await guarded.http.post('/api/subscriptions').send({ email: 'powtorka@example.pl', consent: true, altcha: payload });
    assert.equal(replay.status, 400);
    assert.equal(await count(guarded, 'powtorka@example.pl'), 0);

    const form = await guarded.http.post('/api/subscriptions').type('form').send({ email: 'formularz@example.pl', consent: 'true', topics: 'komunikaty', altcha: await solvedPayload(guarded) });
    assert.equal(form.status, 202);
    assert.equal(await count(guarded, 'z.dowodem@example.pl'), 1);
    assert.equal(await count(guarded, 'formularz@example.pl'), 1);
  });

  it('refuses a solution whose challenge was altered (harder work claimed, other key prefix)', async () => {
    const payload = JSON.parse(Buffer.from(await solvedPayload(guarded), 'base64').toString()) as { challenge: Challenge };
    payload.challenge.parameters.cost = 1;
    const res = await guarded.http.post('/api/subscriptions').send({ email: 'zmiana@example.pl', consent: true, altcha: Buffer.from(JSON.stringify(payload)).toString('base64') });
    assert.equal(res.status, 400);
    assert.equal(await count(guarded, 'zmiana@example.pl'), 0);
  });
});
