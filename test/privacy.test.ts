import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, eventually, findLink, linkPath, startHarness, type Harness } from './helpers/harness.ts';

// Runs the whole subscriber lifecycle at LOG_LEVEL=debug and greps every captured log line for
// what must never be logged: full addresses, link tokens, the signing secret and the admin token.
let h: Harness;
before(async () => {
  h = await startHarness({ label: 'privacy' });
});
after(async () => {
  await h.close();
});

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const tokenOf = (link: string) => new URL(link).pathname.split('/')[2]!;

async function runLifecycle(email: string, viaForm: boolean): Promise<string[]> {
  const start = viaForm
    ? h.http.post('/api/subscriptions').type('form').send({ email: email.toUpperCase(), consent: 'true', topics: 'komunikaty' })
    : h.http.post('/api/subscriptions').send({ email, consent: true });
  assert.equal((await start).status, 202);
  const confirmation = await eventually(() => h.smtp.to(email)[0], 10_000, 'confirmation');
  const confirmLink = findLink(confirmation.parsed.text, 'confirm');
  assert.equal((await h.http.get(linkPath(confirmLink))).status, 200);
  assert.equal((await h.http.post(linkPath(confirmLink)).type('form').send({})).status, 200);
  const welcome = await eventually(() => h.smtp.to(email)[1], 10_000, 'welcome');
  const preferences = findLink(welcome.parsed.text, 'preferences');
  const unsubscribe = findLink(welcome.parsed.text, 'unsubscribe');
  assert.equal((await h.http.get(linkPath(preferences))).status, 200);
  assert.equal((await h.http.post(linkPath(preferences)).type('form').send('topics=aktualnosci&lang=en')).status, 303);
  assert.equal((await h.http.get(`${new URL(preferences).pathname}/export`)).status, 200);
  assert.equal((await h.http.get('/api/subscribers').query({ email }).set(admin)).status, 200);
  assert.equal((await h.http.get(linkPath(unsubscribe))).status, 200);
  assert.equal((await h.http.post(new URL(unsubscribe).pathname).type('form').send('List-Unsubscribe=One-Click')).status, 200);
  // A new opt-in, then erasure.
  assert.equal((await h.http.post('/api/subscriptions').send({ email, consent: true })).status, 202);
  await eventually(() => h.smtp.to(email)[2], 10_000, 'second confirmation');
  assert.equal((await h.http.post(`${new URL(preferences).pathname}/erase`).type('form').send({ confirm: 'yes' })).status, 200);
  return [confirmLink, preferences, unsubscribe].map(tokenOf);
}

describe('privacy of the logs', () => {
  it('holds no full address, link token, secret or admin token after a whole lifecycle', async () => {
    const people = ['prywatnosc.jan@example.pl', 'prywatnosc.ewa@example.pl'];
    const tokens = [...(await runLifecycle(people[0]!, false)), ...(await runLifecycle(people[1]!, true))];
    // Refused input and a bot's honeypot submission must not leak either.
    await h.http.post('/api/subscriptions').send({ email: 'zly adres@example.pl', consent: true });
    await h.http.post('/api/subscriptions').type('form').send({ email: 'bot.address@example.pl', consent: 'true', website: 'http://spam.example' });
    await h.http.post(`/confirm/${tokens[0]!.slice(0, -1)}A`).type('form').send({});
    await h.http.get('/api/subscribers').query({ email: people[0] }).set({ Authorization: 'Bearer wrong-token-0123456789abcdef' });

    const log = h.logs.join('').toLowerCase();
    assert.ok(h.logs.length > 20, `expected a real log, got ${h.logs.length} lines`);
    assert.match(log, /p\*\*\*@example\.pl|\/confirm\/\[token\]/, 'the log does show masked traces of the lifecycle');
    for (const secret of [...people, 'zly adres@example.pl', 'bot.address@example.pl', h.config.SECRET, ADMIN_TOKEN, 'wrong-token-0123456789abcdef']) {
      assert.ok(!log.includes(secret.toLowerCase()), `the log holds ${secret.slice(0, 3)}…`);
    }
    for (const token of tokens) assert.ok(!h.logs.join('').includes(token), 'the log holds a link token');
  });
});
