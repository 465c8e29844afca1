import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import supertest from 'supertest';
import { createApp } from '../src/app.ts';
import { ADMIN_TOKEN, emailQueueIdle, eventually, startHarness, type Harness } from './helpers/harness.ts';

// Per-IP limits, proxy trust, the daily cap on confirmation mails and the admin API's brute-force guard.
let h: Harness;
before(async () => {
  h = await startHarness({ label: 'abuse', env: { SUBSCRIBE_LIMIT_PER_IP: '3' } });
});
after(async () => {
  await h.close();
});

const subscribe = (agent: supertest.Agent | typeof h.http, email: string, ip?: string) => {
  const req = agent.post('/api/subscriptions');
  if (ip) req.set('X-Forwarded-For', ip);
  return req.send({ email, consent: true });
};

describe('per-IP limit on subscriptions', () => {
  it('answers 429 with Retry-After once one IP used up its hourly requests, on the JSON API and the form', async () => {
    // Without TRUST_PROXY every request counts against the socket address, whatever X-Forwarded-For says.
    for (let i = 0; i < 3; i++) {
      const res = await subscribe(h.http, `limit${i}@example.pl`, `203.0.113.${i + 1}`);
      assert.equal(res.status, 202);
    }
    const json = await subscribe(h.http, 'limit-json@example.pl', '203.0.113.50');
    assert.equal(json.status, 429);
    assert.equal(json.body.error.code, 'rate_limited');
    const retryAfter = Number(json.headers['retry-after']);
    assert.ok(retryAfter > 0 && retryAfter <= 3600, `Retry-After ${json.headers['retry-after']}`);

    const form = await h.http.post('/api/subscriptions').type('form').send({ email: 'limit-form@example.pl', consent: 'true' });
    assert.equal(form.status, 429);
    assert.match(form.headers['content-type'] ?? '', /text\/html/);
    assert.ok(Number(form.headers['retry-after']) > 0);

    const { rows } = await h.db.pool.query("SELECT email FROM subscribers WHERE email LIKE 'limit%' ORDER BY email");
    assert.deepEqual(rows.map((r) => r.email), ['limit0@example.pl', 'limit1@example.pl', 'limit2@example.pl']);
  });

  it('counts per forwarded client address only when TRUST_PROXY is set', async () => {
    const proxied = supertest(createApp({ ...h.deps, config: { ...h.deps.config, TRUST_PROXY: 1 } }));
    for (let i = 0; i < 3; i++) assert.equal((await subscribe(proxied, `proxy-a${i}@example.pl`, '198.51.100.7')).status, 202);
    assert.equal((await subscribe(proxied, 'proxy-a3@example.pl', '198.51.100.7')).status, 429);
    // Another client behind the same proxy has its own allowance.
    assert.equal((await subscribe(proxied, 'proxy-b0@example.pl', '198.51.100.8')).status, 202);
    const { rows } = await h.db.pool.query(
      "SELECT host(c.request_ip) AS ip FROM consents c JOIN subscribers s ON s.id = c.subscriber_id WHERE s.email = 'proxy-b0@example.pl'",
    );
    assert.equal(rows[0].ip, '198.51.100.8');
  });
});

describe('daily cap on confirmation e-mails', () => {
  it('sends at most 3 confirmation-class e-mails to one address however many requests arrive', async () => {
    const proxied = supertest(createApp({ ...h.deps, config: { ...h.deps.config, TRUST_PROXY: 1 } }));
    const victim = 'ofiara@example.pl';
    // Six requests from six addresses (the per-IP limit does not stop a distributed attack).
    for (let i = 0; i < 6; i++) {
      assert.equal((await subscribe(proxied, i % 2 ? victim.toUpperCase() : victim, `192.0.2.${i + 10}`)).status, 202);
    }
    await eventually(() => h.smtp.to(victim).length >= 3, 10_000, 'three confirmation e-mails');
    await eventually(() => emailQueueIdle(h), 10_000, 'an idle e-mail queue');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(h.smtp.to(victim).length, 3);
    const { rows } = await h.db.pool.query('SELECT confirm_mail_count FROM subscribers WHERE email = $1', [victim]);
    assert.equal(rows[0].confirm_mail_count, 3);
  });
});

describe('admin API authentication', () => {
  it('answers 401 (never 5xx) to missing, malformed, wrong and oversized credentials', async () => {
    const proxied = supertest(createApp({ ...h.deps, config: { ...h.deps.config, TRUST_PROXY: 1 } }));
    const attempts: Array<Record<string, string>> = [
      {},
      { Authorization: 'Bearer' },
      { Authorization: 'Basic dXNlcjpwYXNz' },
      { Authorization: `Bearer ${ADMIN_TOKEN}x` },
      { Authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` },
      { Authorization: `Bearer ${'A'.repeat(8000)}` },
      { Authorization: `Bearer ${ADMIN_TOKEN} extra` },
    ];
    for (const headers of attempts) {
      const res = await proxied.get('/api/subscribers').query({ email: 'x' }).set('X-Forwarded-For', '100.64.0.1').set(headers);
      assert.equal(res.status, 401, `for ${JSON.stringify(headers).slice(0, 60)}`);
      assert.equal(res.body.error.code, 'unauthorized');
      assert.match(res.headers['www-authenticate'] ?? '', /^Bearer/);
    }
    const ok = await proxied.get('/api/subscribers').query({ email: 'x' }).set('X-Forwarded-For', '100.64.0.1').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    assert.equal(ok.status, 200);
  });

  it('slows an IP with repeated failures to 429, while the right token still gets in (issue 10) from there and elsewhere', async () => {
    const proxied = supertest(createApp({ ...h.deps, config: { ...h.deps.config, TRUST_PROXY: 1 } }));
    const attacker = '100.64.0.2';
    let first429 = -1;
    for (let i = 0; i < 25 && first429 < 0; i++) {
      const res = await proxied.delete('/api/topics/aktualnosci').set('X-Forwarded-For', attacker).set('Authorization', `Bearer guess-${i}-0123456789abcdef`);
      if (res.status === 429) first429 = i;
      else assert.equal(res.status, 401);
    }
    assert.equal(first429, 20, 'the 21st failure is refused with 429');
    const blocked = await proxied.get('/api/subscribers').query({ email: 'x' }).set('X-Forwarded-For', attacker).set('Authorization', 'Bearer guess-again-0123456789abcdef');
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers['retry-after']) > 0);
    const operator = await proxied.get('/api/subscribers').query({ email: 'x' }).set('X-Forwarded-For', attacker).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    assert.equal(operator.status, 200, 'a valid token always works: failures cannot lock out the operators');
    const other = await proxied.get('/api/subscribers').query({ email: 'x' }).set('X-Forwarded-For', '100.64.0.3').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    assert.equal(other.status, 200);
    const topics = await h.http.get('/api/topics');
    assert.ok(topics.body.some((t: { slug: string }) => t.slug === 'aktualnosci'), 'nothing was deleted');
  });
});
