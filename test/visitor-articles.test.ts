import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { canonicalUrl } from '../src/core/canonical-url.ts';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.ts';

// Publishing mistakes the service catches: one article under two guids, an old article sent as news,
// and the /demo dialog left empty when opened at 127.0.0.1 instead of localhost.
const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
let h: Harness;
before(async () => {
  h = await startHarness({ label: 'visitor-articles', workers: false });
});
after(async () => {
  await h.close();
});

const fanoutJob = (id: number) => h.deps.queues.fanout.getJob(`fanout-${id}`);
const hoursAgo = (n: number) => new Date(Date.now() - n * 3_600_000).toISOString();

describe('canonical URL', () => {
  it('ignores scheme and host case, default port, fragment, trailing slash and tracking parameters', () => {
    const canonical = 'https://www.duw.pl/pl/aktualnosc/9109,Wizyta.html?id=3';
    for (const variant of [
      'https://www.duw.pl/pl/aktualnosc/9109,Wizyta.html?id=3',
      'HTTPS://WWW.DUW.PL:443/pl/aktualnosc/9109,Wizyta.html/?id=3',
      'https://www.duw.pl/pl/aktualnosc/9109,Wizyta.html?utm_source=fb&id=3&utm_campaign=x&fbclid=abc#top',
    ]) assert.equal(canonicalUrl(variant), canonical, variant);
    assert.notEqual(canonicalUrl('https://www.duw.pl/pl/Aktualnosc/9109'), canonicalUrl('https://www.duw.pl/pl/aktualnosc/9109'), 'the path keeps its case');
  });
});

describe('POST /api/articles', () => {
  it('answers 200 with the first article when the same article comes again under another guid (canonical URL)', async () => {
    const first = await h.http.post('/api/articles').set(admin).send({ guid: 'https://duw.example/a/1', url: 'https://duw.example/a/1', title: 'Pierwszy', topics: ['komunikaty'] });
    assert.equal(first.status, 202);
    const again = await h.http.post('/api/articles').set(admin).send({ guid: 'cms-1', url: 'HTTPS://Duw.Example/a/1/?utm_source=newsletter', title: 'Drugi raz', topics: ['komunikaty'] });
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.body.title, 'Pierwszy');
    const { rows } = await h.db.pool.query('SELECT count(*)::int AS n FROM articles');
    assert.equal(rows[0].n, 1);
  });

  it('records an article older than MAX_ARTICLE_AGE_HOURS without notifying, and says so', async () => {
    const res = await h.http.post('/api/articles').set(admin).send({ url: 'https://duw.example/2024/stary', title: 'Stary', topics: ['komunikaty'], publishedAt: '2024-04-28T01:03:00+02:00' });
    assert.equal(res.status, 202);
    assert.equal(res.body.notify, false);
    assert.equal(res.body.reason, 'too_old');
    assert.equal(res.body.fanoutStatus, 'skipped');
    assert.equal(await fanoutJob(res.body.id), undefined);
    const fresh = await h.http.post('/api/articles').set(admin).send({ url: 'https://duw.example/swiezy', title: 'Świeży', topics: ['komunikaty'], publishedAt: hoursAgo(71) });
    assert.equal(fresh.body.notify, true);
    assert.equal(fresh.body.reason, undefined);
  });

  it('"force": true notifies an old article, and notifies a known one recorded without notification', async () => {
    const forced = await h.http.post('/api/articles').set(admin).send({ url: 'https://duw.example/stary-2', title: 'Stary 2', topics: ['komunikaty'], publishedAt: hoursAgo(24 * 400), force: true });
    assert.equal(forced.status, 202);
    assert.equal(forced.body.notify, true);
    assert.ok(await fanoutJob(forced.body.id));
    const old = await h.http.post('/api/articles').set(admin).send({ url: 'https://duw.example/stary-3', title: 'Stary 3', topics: ['komunikaty'], publishedAt: hoursAgo(100) });
    assert.equal(old.body.notify, false);
    const now = await h.http.post('/api/articles').set(admin).send({ url: 'https://duw.example/stary-3', title: 'Stary 3', topics: ['komunikaty'], publishedAt: hoursAgo(100), force: true });
    assert.equal(now.status, 200);
    assert.equal(now.body.id, old.body.id);
    assert.equal(now.body.notify, true);
    assert.ok(await fanoutJob(old.body.id));
    const twice = await h.http.post('/api/articles').set(admin).send({ url: 'https://duw.example/stary-3', title: 'Stary 3', topics: ['komunikaty'], force: true });
    assert.equal(twice.body.fanoutStatus, 'pending', 'forcing again changes nothing');
  });

  it('refuses a non-boolean force with 400 and records nothing', async () => {
    const res = await h.http.post('/api/articles').set(admin).send({ url: 'https://duw.example/zly', title: 'Zły', topics: ['komunikaty'], force: 'yes' });
    assert.equal(res.status, 400);
    assert.ok(res.body.error.fields.force);
    assert.equal((await h.db.pool.query("SELECT 1 FROM articles WHERE url = 'https://duw.example/zly'")).rowCount, 0);
  });
});

describe('framing of the form in development', () => {
  let dev: Harness;
  before(async () => {
    dev = await startHarness({ label: 'visitor-framing', workers: false, env: { NODE_ENV: 'development', PUBLIC_URL: 'http://localhost:3999', DEMO: '1' } });
  });
  after(async () => {
    await dev.close();
  });

  it('lets /demo opened at 127.0.0.1 frame the form served for localhost, and logs who may frame it', async () => {
    const res = await dev.http.get('/subscribe?embed=1');
    const ancestors = /frame-ancestors ([^;]+)/.exec(res.headers['content-security-policy'] ?? '')?.[1] ?? '';
    assert.match(ancestors, /http:\/\/127\.0\.0\.1:3999/);
    assert.match(ancestors, /'self'/);
    assert.ok(dev.logs.some((line) => line.includes('framingOrigins') && line.includes('http://127.0.0.1:3999')));
  });

  it('outside development only ALLOWED_ORIGINS may frame it', async () => {
    const res = await h.http.get('/subscribe?embed=1');
    const ancestors = /frame-ancestors ([^;]+)/.exec(res.headers['content-security-policy'] ?? '')?.[1] ?? '';
    assert.equal(ancestors.trim(), "'self'");
  });
});
