import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConfigError, parseConfig } from '../src/config.ts';
import { FeedFetchError, HttpFeedFetcher } from '../src/adapters/feed-fetcher.ts';
import type { FeedPollResult } from '../src/core/feeds.ts';
import { createFeedWatcher, restoreFeedSchedule } from '../workers/feed-worker.ts';
import { FEED_SCHEDULER_ID } from '../src/jobs/schedules.ts';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from './helpers/harness.ts';

// ---- a local feed server whose content the tests change between polls ----

interface RssItem {
  guid?: string;
  link: string;
  title: string;
  description?: string;
  pubDate: Date;
}

const HOUR = 3_600_000;
const rssItems: RssItem[] = [];
const atomEntries: RssItem[] = [];
let atomUpdated = new Date('2026-11-28T08:00:00Z');
let brokenFixed = false;
const requests: { path: string; headers: IncomingHttpHeaders }[] = [];

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function rssBody(): string {
  const items = rssItems
    .map(
      (i) => `<item><title>${escapeXml(i.title)}</title><link>${i.link}</link>${i.guid ? `<guid isPermaLink="false">${i.guid}</guid>` : ''}` +
        `<pubDate>${i.pubDate.toUTCString()}</pubDate><description>${escapeXml(i.description ?? '')}</description></item>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>DUW</title><link>https://duw.example/</link><language>pl</language>${items}</channel></rss>`;
}

function atomBody(): string {
  const entries = atomEntries
    .map((e) => `<entry><title>${escapeXml(e.title)}</title><id>${e.guid}</id><link href="${e.link}"/><updated>${e.pubDate.toISOString()}</updated><summary>${escapeXml(e.description ?? '')}</summary></entry>`)
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>DUW EN</title><id>urn:duw</id><updated>${atomUpdated.toISOString()}</updated>${entries}</feed>`;
}

// "Zażółć gęślą jaźń" in ISO-8859-2, the way older Polish CMSs still publish.
const LATIN2: Record<string, number> = { ą: 0xb1, ę: 0xea, ł: 0xb3, ó: 0xf3, ś: 0xb6, ż: 0xbf, ź: 0xbc, ć: 0xe6, ń: 0xf1 };
function latin2(text: string): Buffer {
  return Buffer.from([...text].map((c) => LATIN2[c] ?? c.charCodeAt(0)));
}

const server: Server = createServer((req, res) => {
  const path = req.url ?? '/';
  requests.push({ path, headers: req.headers });
  if (path === '/rss.xml') {
    const body = rssBody();
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag }).end();
    return void res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8', etag }).end(body);
  }
  if (path === '/atom.xml') {
    const lastModified = atomUpdated.toUTCString();
    if (req.headers['if-modified-since'] === lastModified) return void res.writeHead(304).end();
    return void res.writeHead(200, { 'content-type': 'application/atom+xml', 'last-modified': lastModified }).end(atomBody());
  }
  if (path === '/moved.xml') return void res.writeHead(301, { location: '/atom.xml' }).end();
  if (path === '/latin2.xml') {
    const xml = `<?xml version="1.0" encoding="ISO-8859-2"?><rss version="2.0"><channel><title>t</title><item><title>Zażółć gęślą jaźń</title><link>https://duw.example/latin2</link></item></channel></rss>`;
    return void res.writeHead(200, { 'content-type': 'text/xml' }).end(latin2(xml));
  }
  if (path === '/broken.xml') {
    if (!brokenFixed) return void res.writeHead(500).end('Internal Server Error');
    return void res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(rssBody());
  }
  if (path === '/unknown-topic.xml') return void res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(rssBody());
  if (path === '/invalid.xml') return void res.writeHead(200, { 'content-type': 'text/xml' }).end('<html><body>Przerwa techniczna');
  if (path === '/huge.xml') {
    // 6 MiB without Content-Length: the cap must stop reading the stream, not trust a header.
    res.writeHead(200, { 'content-type': 'application/rss+xml' });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (sent < 96) {
        sent++;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('error', () => undefined);
    return pump();
  }
  if (path === '/to-file.xml') return void res.writeHead(302, { location: 'file:///etc/passwd' }).end();
  if (path === '/slow.xml') return void setTimeout(() => res.writeHead(200).end(rssBody()), 2_000);
  res.writeHead(404).end();
});

let base: string;
let h: Harness;
const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

async function articleByGuid(guid: string) {
  const { rows } = await h.db.pool.query<{ id: number; title: string; notify: boolean; topics: string[]; lang: string; url: string; summary: string | null }>(
    'SELECT id, title, notify, topics, lang, url, summary FROM articles WHERE guid = $1',
    [guid],
  );
  return rows[0];
}

async function feedRow(path: string) {
  const { rows } = await h.db.pool.query<{ first_poll_at: Date | null; last_poll_at: Date | null; last_error: string | null; etag: string | null; last_modified: string | null }>(
    'SELECT first_poll_at, last_poll_at, last_error, etag, last_modified FROM feeds WHERE url = $1',
    [`${base}${path}`],
  );
  return rows[0];
}

const notificationsTo = (email: string) => h.smtp.to(email).filter((m) => /Message-ID: <notification-/i.test(m.raw));
const PL = 'czytelniczka@example.pl';
const EN = 'reader@example.com';

async function deliveryCount(): Promise<number> {
  const { rows } = await h.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM deliveries');
  return rows[0]!.n;
}

async function pollNow(): Promise<Map<string, FeedPollResult>> {
  const results = await createFeedWatcher(h.workers!.ctx).pollAll(h.config.FEEDS);
  return new Map(results.map((r) => [new URL(r.url).pathname, r]));
}

const FEED_PATHS = ['/rss.xml|komunikaty', '/atom.xml', '/latin2.xml|ogloszenia', '/broken.xml|dla-mediow', '/invalid.xml', '/huge.xml', '/to-file.xml', '/unknown-topic.xml|nieznany'];

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const now = Date.now();
  rssItems.push(
    { guid: 'duw-1', link: 'https://duw.example/1', title: 'Stara wiadomość pierwsza', pubDate: new Date(now - 2 * HOUR) },
    { guid: 'duw-2', link: 'https://duw.example/2', title: 'Stara wiadomość druga', pubDate: new Date(now - HOUR) },
  );
  atomEntries.push({ guid: 'urn:duw:en-1', link: 'https://duw.example/en/1', title: 'Old English news', pubDate: new Date(now - HOUR) });
  h = await startHarness({
    label: 'feeds',
    workers: false,
    env: { FEEDS: FEED_PATHS.map((p) => `${base}${p}`).join(','), FEED_POLL_INTERVAL_MS: String(HOUR) },
  });
  const subscribers = [
    { email: PL, topics: ['komunikaty', 'aktualnosci', 'ogloszenia', 'dla-mediow'] },
    { email: EN, topics: ['aktualnosci'], lang: 'en' },
  ];
  await h.http.post('/api/subscribers/import').set(admin).send(subscribers).expect(200);
  // The job scheduler polls at once when the workers start: that is the first poll.
  await h.startWorkers();
});

after(async () => {
  await h?.close();
  await new Promise((resolve) => server.close(resolve));
});

describe('FEEDS configuration', () => {
  it('splits url|topic and refuses non-http URLs and bad topics at start', () => {
    const config = parseConfig({ FEEDS: 'https://a.example/rss.xml|komunikaty, https://b.example/atom.xml' });
    assert.deepEqual(config.FEEDS, [{ url: 'https://a.example/rss.xml', topic: 'komunikaty' }, { url: 'https://b.example/atom.xml' }]);
    assert.equal(config.FEED_DEFAULT_TOPIC, 'aktualnosci');
    assert.throws(() => parseConfig({ FEEDS: 'file:///etc/passwd' }), (err: unknown) => err instanceof ConfigError && /FEEDS: "file:\/\/\/etc\/passwd" is not an http\(s\) URL/.test(err.message));
    assert.throws(() => parseConfig({ FEEDS: 'https://a.example/rss|Zły temat' }), ConfigError);
  });
});

describe('feed watcher', () => {
  it('the scheduled first poll records every item without notifying anyone', async () => {
    await eventually(async () => (await feedRow('/to-file.xml'))?.last_poll_at && (await feedRow('/rss.xml'))?.first_poll_at && (await feedRow('/atom.xml'))?.first_poll_at, 15_000, 'first poll');
    const first = await articleByGuid('duw-1');
    assert.deepEqual({ notify: first?.notify, topics: first?.topics, lang: first?.lang }, { notify: false, topics: ['komunikaty'], lang: 'pl' });
    assert.equal((await articleByGuid('duw-2'))?.notify, false);
    const english = await articleByGuid('urn:duw:en-1');
    assert.deepEqual({ notify: english?.notify, topics: english?.topics }, { notify: false, topics: ['aktualnosci'] }, 'no |topic: the default aktualnosci');
    assert.equal(await deliveryCount(), 0, 'no delivery was ever written');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(h.smtp.received.length, 0);
  });

  it('decodes an ISO-8859-2 feed: Polish characters intact', async () => {
    const row = await eventually(() => articleByGuid('https://duw.example/latin2'), 5_000, 'latin2 article');
    assert.equal(row.title, 'Zażółć gęślą jaźń');
    assert.deepEqual(row.topics, ['ogloszenia']);
  });

  it('asks with If-None-Match / If-Modified-Since and accepts 304 Not Modified', async () => {
    assert.ok((await feedRow('/rss.xml'))?.etag);
    assert.ok((await feedRow('/atom.xml'))?.last_modified);
    const since = requests.length;
    const results = await pollNow();
    assert.equal(results.get('/rss.xml')?.status, 'not-modified');
    assert.equal(results.get('/atom.xml')?.status, 'not-modified');
    const rssRequest = requests.slice(since).find((r) => r.path === '/rss.xml');
    const atomRequest = requests.slice(since).find((r) => r.path === '/atom.xml');
    assert.equal(rssRequest?.headers['if-none-match'], (await feedRow('/rss.xml'))?.etag);
    assert.equal(atomRequest?.headers['if-modified-since'], (await feedRow('/atom.xml'))?.last_modified);
  });

  it('a new item becomes an article that notifies, once, however often the feed is polled', async () => {
    rssItems.unshift({ guid: 'duw-3', link: 'https://duw.example/3', title: 'Wizyta Ambasadora Kazachstanu', description: '<p>Wojewoda przyjął ambasadora.</p>', pubDate: new Date() });
    const results = await pollNow();
    assert.deepEqual(
      { status: results.get('/rss.xml')?.status, created: results.get('/rss.xml')?.created, notified: results.get('/rss.xml')?.notified },
      { status: 'fetched', created: 1, notified: 1 },
    );
    const article = await articleByGuid('duw-3');
    assert.deepEqual({ notify: article?.notify, url: article?.url, summary: article?.summary }, { notify: true, url: 'https://duw.example/3', summary: 'Wojewoda przyjął ambasadora.' });
    const [mail] = await eventually(() => (notificationsTo(PL).length ? notificationsTo(PL) : null), 15_000, 'notification of the new item');
    assert.equal(mail!.parsed.subject, 'Wizyta Ambasadora Kazachstanu');
    assert.match(mail!.parsed.text ?? '', /Wojewoda przyjął ambasadora\./);

    rssItems[0]!.title = 'Wizyta Ambasadora Kazachstanu (aktualizacja)'; // a changed body, the same guid
    const again = await pollNow();
    assert.equal(again.get('/rss.xml')?.status, 'fetched');
    assert.equal(again.get('/rss.xml')?.created, 0);
    const { rows } = await h.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM articles WHERE guid = 'duw-3'");
    assert.equal(rows[0]!.n, 1);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(notificationsTo(PL).length, 1, 'one e-mail for the item, however often polled');
    assert.equal(notificationsTo(EN).length, 0, 'not a subscriber of komunikaty');
  });

  it('an item without a guid is keyed on its link', async () => {
    rssItems.unshift({ link: 'https://duw.example/bez-guid', title: 'Komunikat bez identyfikatora', pubDate: new Date() });
    await pollNow();
    assert.equal((await articleByGuid('https://duw.example/bez-guid'))?.notify, true);
  });

  it(`an item older than MAX_ARTICLE_AGE_HOURS (72) is recorded but never notifies`, async () => {
    rssItems.unshift({ guid: 'duw-old', link: 'https://duw.example/old', title: 'Archiwalny komunikat', pubDate: new Date(Date.now() - 73 * HOUR) });
    atomUpdated = new Date();
    atomEntries.unshift({ guid: 'urn:duw:en-2', link: 'https://duw.example/en/2', title: 'Fresh English news', pubDate: new Date() });
    const results = await pollNow();
    assert.equal(results.get('/rss.xml')?.notified, 0);
    assert.equal((await articleByGuid('duw-old'))?.notify, false);
    assert.equal((await articleByGuid('urn:duw:en-2'))?.notify, true, 'the fresh Atom entry notifies');
    await eventually(() => notificationsTo(EN).find((m) => m.parsed.subject === 'Fresh English news'), 15_000, 'notification of the fresh entry');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(h.smtp.received.filter((m) => m.parsed.subject === 'Archiwalny komunikat').length, 0);
  });

  it('records each broken feed (500, invalid XML, oversized body, redirect to file:, unknown topic) and polls the others', async () => {
    atomUpdated = new Date(Date.now() + 1000);
    atomEntries.unshift({ guid: 'urn:duw:en-3', link: 'https://duw.example/en/3', title: 'News next to broken feeds', pubDate: new Date() });
    const results = await pollNow();
    const expected: Record<string, RegExp> = {
      '/broken.xml': /HTTP 500/,
      '/invalid.xml': /not a valid RSS or Atom feed/,
      '/huge.xml': /larger than 5242880 bytes/,
      '/to-file.xml': /non-http\(s\) URL \(file:\)/,
      // the topic slug is well-formed, so the configuration passed; the poll fails and records nothing
      '/unknown-topic.xml': /unknown topic: nieznany/i,
    };
    for (const [path, message] of Object.entries(expected)) {
      assert.equal(results.get(path)?.status, 'failed', path);
      assert.match((await feedRow(path))?.last_error ?? '', message, path);
      assert.equal((await feedRow(path))?.first_poll_at, null, `${path} has had no successful poll`);
    }
    const { rows } = await h.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM articles WHERE 'nieznany' = ANY (topics)");
    assert.equal(rows[0]!.n, 0);
    assert.equal(results.get('/atom.xml')?.status, 'fetched');
    assert.equal((await articleByGuid('urn:duw:en-3'))?.notify, true);
    assert.equal((await feedRow('/atom.xml'))?.last_error, null);
  });

  it('retries a broken feed at the next poll; its first successful poll is silent', async () => {
    brokenFixed = true;
    const since = requests.length;
    const results = await pollNow();
    assert.ok(requests.slice(since).some((r) => r.path === '/broken.xml'));
    assert.equal(results.get('/broken.xml')?.status, 'fetched');
    assert.equal(results.get('/broken.xml')?.firstPoll, true);
    assert.equal(results.get('/broken.xml')?.notified, 0);
    const row = await feedRow('/broken.xml');
    assert.equal(row?.last_error, null);
    assert.ok(row?.first_poll_at instanceof Date);
  });
});

describe('feed schedule', () => {
  it('is registered with FEED_POLL_INTERVAL_MS and registered again after Redis lost it', async () => {
    const feedsQueue = h.deps.queues.feeds;
    assert.equal(Number((await feedsQueue.getJobScheduler(FEED_SCHEDULER_ID))?.every), 3_600_000);
    assert.equal(await restoreFeedSchedule(h.workers!.ctx), false, 'nothing to do while it exists');
    await feedsQueue.removeJobScheduler(FEED_SCHEDULER_ID);
    assert.equal(await feedsQueue.getJobScheduler(FEED_SCHEDULER_ID), undefined);
    assert.equal(await restoreFeedSchedule(h.workers!.ctx), true);
    assert.ok(await feedsQueue.getJobScheduler(FEED_SCHEDULER_ID));
  });
});

describe('HttpFeedFetcher', () => {
  it('follows an http redirect', async () => {
    const fetched = await new HttpFeedFetcher().fetchFeed(`${base}/moved.xml`, { etag: null, lastModified: null });
    assert.equal(fetched.notModified, false);
    assert.match(fetched.notModified ? '' : fetched.body, /<feed xmlns/);
  });

  it('gives up after its timeout', async () => {
    const fetcher = new HttpFeedFetcher({ timeoutMs: 200, maxBytes: 1024 * 1024, maxRedirects: 3 });
    const started = Date.now();
    await assert.rejects(fetcher.fetchFeed(`${base}/slow.xml`, { etag: null, lastModified: null }), (err: unknown) => err instanceof FeedFetchError && /within 200 ms/.test(err.message));
    assert.ok(Date.now() - started < 1_500);
  });
});
