import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { csvField } from '../src/cli/format.ts';
import { HttpFeedFetcher } from '../src/adapters/feed-fetcher.ts';
import { hasInternalHost, isInternalAddress } from '../src/core/private-address.ts';
import { importSubscribers } from '../src/core/subscriber-import.ts';
import { rateLimitKey } from '../src/http/request-info.ts';
import { ADMIN_TOKEN, emailQueueIdle, eventually, findLink, linkPath, startHarness, type Harness } from './helpers/harness.ts';

// Issue 10 item 5: the low findings, each with the behaviour a user or an attacker would see.
const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
let h: Harness;
let ipCounter = 0;
/** A fresh client IP per call (TRUST_PROXY=1), so the per-IP limit of one test does not touch another. */
const freshIp = () => `203.0.113.${++ipCounter}`;

before(async () => {
  h = await startHarness({ label: 'hardening', env: { TRUST_PROXY: '1', SUBSCRIBE_LIMIT_PER_IP: '4', CONFIRMATIONS_PER_DAY: '3' } });
});
after(async () => {
  await h.close();
});

const logLines = () => h.logs.join('');

describe('client errors are answered with their 4xx status', () => {
  it('answers a form body with more than 200 fields with 413, not 500, and logs no failure', async () => {
    const body = Array.from({ length: 300 }, (_, i) => `f${i}=x`).join('&');
    const res = await h.http.post('/unsubscribe/x').set('X-Forwarded-For', freshIp()).type('form').send(body);
    assert.equal(res.status, 413);
    assert.doesNotMatch(logLines(), /"msg":"request failed"/);
  });

  it('answers a broken Content-Encoding: br body with 400', async () => {
    const res = await h.http.post('/api/subscriptions').set('X-Forwarded-For', freshIp()).set('Content-Type', 'application/json').set('Content-Encoding', 'br').send(Buffer.from('this is not brotli at all'));
    assert.equal(res.status, 400);
    assert.doesNotMatch(logLines(), /"msg":"request failed"/);
    assert.doesNotMatch(logLines(), /"level":50/);
  });
});

describe('per-mailbox and per-network limits', () => {
  it('caps confirmation mails per mailbox: victim+1 … victim+6 get 3 e-mails, not 6', async () => {
    for (let i = 1; i <= 6; i++) {
      const res = await h.http.post('/api/subscriptions').set('X-Forwarded-For', freshIp()).send({ email: `victim+${i}@example.pl`, consent: true });
      assert.equal(res.status, 202);
    }
    await eventually(() => emailQueueIdle(h), 60_000, 'the e-mail queue drained');
    await eventually(() => h.smtp.received.filter((m) => m.to.some((t) => /^victim\+\d@example\.pl$/.test(t))).length >= 3, 60_000, 'three mails');
    await eventually(() => emailQueueIdle(h), 60_000, 'the e-mail queue drained');
    assert.equal(h.smtp.received.filter((m) => m.to.some((t) => /^victim\+\d@example\.pl$/.test(t))).length, 3);
  });

  it('counts an IPv6 client per /64: a fifth request from another address of the same /64 gets 429', () => {
    assert.equal(rateLimitKey('2001:db8:1:2:aaaa::1'), rateLimitKey('2001:db8:1:2:ffff:1:2:3'));
    assert.notEqual(rateLimitKey('2001:db8:1:2::1'), rateLimitKey('2001:db8:1:3::1'));
    assert.equal(rateLimitKey('::ffff:198.51.100.7'), '198.51.100.7');
    assert.equal(rateLimitKey('198.51.100.7'), '198.51.100.7');
  });

  it('limits subscription requests of one IPv6 /64 together over HTTP', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const res = await h.http.post('/api/subscriptions').set('X-Forwarded-For', `2001:db8:77:1::${i}`).send({ email: `v6.${i}@example.pl`, consent: true });
      statuses.push(res.status);
    }
    assert.deepEqual(statuses, [202, 202, 202, 202, 429]);
  });
});

describe('tokens and addresses never reach the request log', () => {
  it('redacts a token in an upper-case path and an address in a suppression path', async () => {
    const token = h.deps.signer.sign('confirm', 123456, 3600);
    await h.http.get(`/CONFIRM/${token}`);
    await h.http.delete('/api/suppressions/Jan.Kowalski%40example.pl').set(admin);
    await h.http.delete('/api/suppressions/jan.kowalski@example.pl').set(admin);
    await eventually(() => (logLines().match(/\[address\]/g) ?? []).length >= 2, 30_000, 'the request lines');
    assert.ok(!logLines().includes(token), 'the token is not logged');
    assert.ok(!/kowalski/i.test(logLines()), 'the address is not logged');
  });
});

describe('admin authentication', () => {
  it('still accepts the valid ADMIN_TOKEN after 20 failures from the same IP; wrong ones get 429', async () => {
    const ip = freshIp();
    for (let i = 0; i < 21; i++) await h.http.get('/api/stats').set('X-Forwarded-For', ip).set({ Authorization: 'Bearer wrong-token-0123456789' });
    const wrong = await h.http.get('/api/stats').set('X-Forwarded-For', ip).set({ Authorization: 'Bearer wrong-token-0123456789' });
    assert.equal(wrong.status, 429);
    const right = await h.http.get('/api/stats').set('X-Forwarded-For', ip).set(admin);
    assert.equal(right.status, 200);
  });

  it('refuses a cross-site write to Bull Board with 403 and accepts a same-origin one', async () => {
    const basic = `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`;
    const path = '/admin/queues/api/queues/maintenance/add';
    const job = { name: 'csrf', data: { task: 'reconcile' }, options: { delay: 3_600_000 } };
    const evil = await h.http.post(path).set({ Authorization: basic, Origin: 'https://evil.example' }).send(job);
    assert.equal(evil.status, 403);
    const crossSite = await h.http.post(path).set({ Authorization: basic, 'Sec-Fetch-Site': 'cross-site' }).send(job);
    assert.equal(crossSite.status, 403);
    assert.equal((await h.deps.queues.maintenance.getJobs(['delayed'])).filter((j) => j?.name === 'csrf').length, 0, 'no job was added');
    const same = await h.http.post(path).set({ Authorization: basic, Origin: 'http://powiadom.test', 'Sec-Fetch-Site': 'same-origin' }).send(job);
    assert.notEqual(same.status, 403);
    assert.ok(same.status < 400, `same-origin write answered ${same.status}`);
  });
});

describe('CSV export and consent sources', () => {
  it('prefixes cells that spreadsheets would run as formulas', () => {
    for (const cell of ['=HYPERLINK("http://evil")', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) assert.ok(csvField(cell).replace(/^"/, '').startsWith("'"), cell);
    assert.equal(csvField('form'), 'form');
  });

  it('records only a safe consent source from X-Powiadom-Source', async () => {
    const send = (email: string, source: string) =>
      h.http.post('/api/subscriptions').set('X-Forwarded-For', freshIp()).set('X-Powiadom-Source', source).send({ email, consent: true });
    await send('formula@example.pl', '=HYPERLINK("https://evil.example","x")');
    await send('fine@example.pl', 'bip-2026 www.duw.pl/aktualnosci');
    const { rows } = await h.db.pool.query<{ email: string; source: string }>('SELECT s.email, c.source FROM consents c JOIN subscribers s ON s.id = c.subscriber_id WHERE s.email IN ($1, $2)', ['formula@example.pl', 'fine@example.pl']);
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r.email, r.source])), { 'formula@example.pl': 'api', 'fine@example.pl': 'bip-2026 www.duw.pl/aktualnosci' });
  });
});

describe('token pages and links', () => {
  let subscriberId: number;
  let preferences: string;
  let unsubscribe: string;
  before(async () => {
    await importSubscribers(h.deps.pool, [{ email: 'links@example.pl', topics: 'komunikaty' }]);
    subscriberId = (await h.http.get('/api/subscribers').query({ email: 'links@example.pl' }).set(admin)).body[0].id;
    preferences = linkPath(h.deps.links.preferences(subscriberId));
    unsubscribe = linkPath(h.deps.links.unsubscribe(subscriberId));
  });

  it('sends Cache-Control: no-store and Referrer-Policy: no-referrer on confirm, preferences, export and unsubscribe pages', async () => {
    const confirm = `/confirm/${h.deps.signer.sign('confirm', 1, 3600)}`;
    for (const path of [preferences, `${preferences}/export`, unsubscribe, confirm, '/Preferences/not-a-token']) {
      const res = await h.http.get(path);
      assert.equal(res.headers['cache-control'], 'no-store', path);
      assert.equal(res.headers['referrer-policy'], 'no-referrer', path);
    }
  });

  it('voids every link already sent after POST /api/subscribers/:id/revoke-links; new links work', async () => {
    assert.equal((await h.http.get(preferences)).status, 200);
    const revoked = await h.http.post(`/api/subscribers/${subscriberId}/revoke-links`).set(admin);
    assert.equal(revoked.status, 204);
    assert.equal((await h.http.get(preferences)).status, 400);
    assert.equal((await h.http.post(unsubscribe).type('form').send('List-Unsubscribe=One-Click')).status, 400);
    const version = await h.deps.subscriptions.tokenVersionOf(subscriberId);
    assert.equal((await h.http.get(linkPath(h.deps.links.preferences(subscriberId, 'pl', version)))).status, 200);
    assert.equal((await h.http.post('/api/subscribers/999999/revoke-links').set(admin)).status, 404);
  });

  it('puts the current links into later e-mails (welcome after a revocation)', async () => {
    await h.http.post('/api/subscriptions').set('X-Forwarded-For', freshIp()).send({ email: 'revoked.later@example.pl', consent: true });
    const confirmation = await eventually(() => h.smtp.to('revoked.later@example.pl')[0], 60_000, 'confirmation');
    const id = (await h.http.get('/api/subscribers').query({ email: 'revoked.later@example.pl' }).set(admin)).body[0].id;
    await h.http.post(`/api/subscribers/${id}/revoke-links`).set(admin);
    await h.http.post(linkPath(findLink(confirmation.parsed.text, 'confirm'))).type('form').send({});
    const welcome = await eventually(() => h.smtp.to('revoked.later@example.pl')[1], 60_000, 'welcome');
    assert.equal((await h.http.get(linkPath(findLink(welcome.parsed.text, 'preferences')))).status, 200);
  });

  it('the CLI revokes links too: `subscribers revoke-links <id>`', async () => {
    const version = await h.deps.subscriptions.tokenVersionOf(subscriberId);
    const run = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'subscribers', 'revoke-links', String(subscriberId)], {
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: h.config.DATABASE_URL, REDIS_URL: h.config.REDIS_URL, QUEUE_PREFIX: h.config.QUEUE_PREFIX, LOG_LEVEL: 'warn' },
        timeout: 60_000,
      }, (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }));
    });
    assert.equal(run.code, 0);
    assert.match(run.stdout, /revoked/);
    assert.equal(await h.deps.subscriptions.tokenVersionOf(subscriberId), version + 1);
  });
});

describe('the feed fetcher and internal addresses', () => {
  let server: Server;
  let port: number;
  let secretHits = 0;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/secret') {
        secretHits++;
        res.writeHead(200, { 'content-type': 'application/rss+xml' }).end('<rss version="2.0"><channel><title>internal</title></channel></rss>');
      } else if (req.url === '/to-internal') res.writeHead(302, { location: `http://127.0.0.1:${port}/secret` }).end();
      else if (req.url === '/to-metadata') res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('classifies loopback, private, link-local and unique-local addresses as internal, public ones not', async () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1']) assert.ok(isInternalAddress(a), a);
    for (const a of ['8.8.8.8', '193.105.142.10', '2001:4860:4860::8888']) assert.ok(!isInternalAddress(a), a);
    assert.equal(await hasInternalHost(new URL('http://localhost:1/')), true);
    assert.equal(await hasInternalHost(new URL('http://[::1]:1/')), true);
  });

  it('refuses a redirect from a public feed to an internal address', async () => {
    // "localhost" stands in for the public site of the office here; 127.0.0.1 and 169.254.169.254 are internal
    const fetcher = new HttpFeedFetcher(undefined, undefined, async (url) => url.hostname !== 'localhost' && hasInternalHost(url));
    await assert.rejects(fetcher.fetchFeed(`http://localhost:${port}/to-internal`, { etag: null, lastModified: null }), /refused a redirect to an internal address \(127\.0\.0\.1\)/);
    await assert.rejects(fetcher.fetchFeed(`http://localhost:${port}/to-metadata`, { etag: null, lastModified: null }), /internal address \(169\.254\.169\.254\)/);
    assert.equal(secretHits, 0);
  });

  it('follows redirects within an internal address when the configured feed is itself internal', async () => {
    const fetched = await new HttpFeedFetcher().fetchFeed(`http://127.0.0.1:${port}/to-internal`, { etag: null, lastModified: null });
    assert.equal(fetched.notModified, false);
    assert.equal(secretHits, 1);
  });
});
