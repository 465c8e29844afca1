import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { importSubscribers } from '../src/core/subscriber-import.ts';
import { ADMIN_TOKEN, eventually, linkPath, startHarness, type Harness } from './helpers/harness.ts';

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const fixture = JSON.parse(readFileSync(new URL('./fixtures/wizyta-ambasadora-kazachstanu.json', import.meta.url), 'utf8')) as Record<string, unknown>;

let h: Harness;
before(async () => {
  h = await startHarness({ label: 'articles' });
  await importSubscribers(h.deps.pool, [
    { email: 'media.pl@example.pl', topics: 'dla-mediow', lang: 'pl' },
    { email: 'media.en@example.com', topics: 'dla-mediow komunikaty', lang: 'en' },
    { email: 'other.topic@example.pl', topics: 'ogloszenia', lang: 'pl' },
  ]);
  // an unconfirmed subscriber of the same topic: must get nothing but the confirmation
  await h.http.post('/api/subscriptions').send({ email: 'pending@example.pl', consent: true, topics: ['dla-mediow'] });
  await h.smtp.waitFor(1);
});
after(async () => {
  await h.close();
});

const notificationsTo = (email: string) => h.smtp.to(email).filter((m) => /Message-ID: <notification-/i.test(m.raw));

async function countsOf(id: number) {
  return (await h.http.get(`/api/articles/${id}`).set(admin)).body.delivery as Record<string, number>;
}

describe('publishing an article', () => {
  let articleId: number;

  it('answers 202 with the article and notifies each confirmed subscriber of its topics once', async () => {
    // The fixture was published in 2024: past MAX_ARTICLE_AGE_HOURS, so it is sent only with force.
    const res = await h.http.post('/api/articles').set(admin).send({ ...fixture, force: true });
    assert.equal(res.status, 202);
    assert.equal(res.body.guid, 'duw-9109');
    assert.equal(res.body.title, 'Wizyta Ambasadora Kazachstanu');
    articleId = res.body.id;
    await eventually(async () => (await countsOf(articleId)).sent === 2, 15_000, 'two deliveries sent');
    assert.equal(notificationsTo('media.pl@example.pl').length, 1);
    assert.equal(notificationsTo('media.en@example.com').length, 1);
    assert.equal(notificationsTo('other.topic@example.pl').length, 0);
    assert.equal(notificationsTo('pending@example.pl').length, 0);
    assert.deepEqual(await countsOf(articleId), { recipients: 2, sent: 2, failed: 0, pending: 0, suppressed: 0 });
  });

  it('sends Polish text intact in subject and both MIME parts, with the list headers', async () => {
    const [mail] = notificationsTo('media.pl@example.pl');
    const p = mail!.parsed;
    assert.equal(p.subject, 'Wizyta Ambasadora Kazachstanu');
    // The text part is wrapped at 76 characters: compare with its line breaks as spaces.
    assert.match((p.text ?? '').replace(/\s+/g, ' '), /wicewojewoda Ewa Mańkowska spotkali się w Dolnośląskim Urzędzie Wojewódzkim/);
    assert.match(p.text ?? '', /Czytaj więcej:\s+https:\/\/www\.duw\.pl\/pl\/dla-mediow\/aktualnosc\/9109,Wizyta-Ambasadora-Kazachstanu\.html/);
    assert.match(p.html || '', /<html[^>]+lang="pl"/);
    assert.match(p.html || '', /Ewa Mańkowska/);
    assert.match(p.html || '', /Czytaj więcej/);
    // no mailbox is read in this harness (INBOUND_IMAP_URL unset): the https URL alone, no mailto: nobody would read
    assert.match(mail!.raw, /^List-Unsubscribe: <http:\/\/powiadom\.test\/unsubscribe\/[\w-]{39}>\r?$/m);
    assert.match(mail!.raw, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    assert.match(mail!.raw, /^List-Id: Powiadom <powiadomienia\.duw\.example>/m);
    assert.match(mail!.raw, /^Auto-Submitted: auto-generated/m);
    assert.match(mail!.raw, /^Precedence: bulk/m);
    assert.ok(Math.abs(p.date!.getTime() - Date.now()) < 60_000, 'Date header is the time of sending');
    assert.match(mail!.raw, new RegExp(`^Message-ID: <notification-${articleId}-\\d+@duw\\.example>`, 'm'));
    assert.ok(p.text!.includes('/preferences/') && p.text!.includes('/unsubscribe/'));
  });

  it('writes English chrome for an English subscriber', async () => {
    const [mail] = notificationsTo('media.en@example.com');
    assert.match(mail!.parsed.text ?? '', /Read more:\s+https:\/\/www\.duw\.pl/);
    assert.match(mail!.parsed.html || '', /<html[^>]+lang="en"/);
    assert.match(mail!.raw, /unsubscribe\/[\w-]{39}\?lang=en>/);
  });

  it('answers 200 with the same article on a republish of the same guid and notifies nobody again', async () => {
    const before = h.smtp.received.length;
    const res = await h.http.post('/api/articles').set(admin).send({ ...fixture, title: 'Changed title' });
    assert.equal(res.status, 200);
    assert.equal(res.body.id, articleId);
    assert.equal(res.body.title, 'Wizyta Ambasadora Kazachstanu');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(h.smtp.received.length, before);
  });

  it('lists articles newest first with pagination and shows delivery counts of one', async () => {
    const list = await h.http.get('/api/articles?page=1&perPage=10').set(admin);
    assert.equal(list.status, 200);
    assert.equal(list.body.items[0].id, articleId);
    assert.equal(list.body.total, 1);
    const one = await h.http.get(`/api/articles/${articleId}`).set(admin);
    assert.deepEqual(one.body.delivery, { recipients: 2, sent: 2, failed: 0, pending: 0, suppressed: 0 });
    assert.equal((await h.http.get('/api/articles/999999').set(admin)).status, 404);
  });

  it('unsubscribes in one click with a POST to the List-Unsubscribe URL', async () => {
    const [mail] = notificationsTo('media.pl@example.pl');
    const url = /^List-Unsubscribe: <([^>]+)>/m.exec(mail!.raw)![1]!;
    const res = await h.http.post(linkPath(url)).type('form').send('List-Unsubscribe=One-Click');
    assert.ok(res.status < 300, `status ${res.status}`);
    const { rows } = await h.db.pool.query("SELECT status FROM subscribers WHERE email = 'media.pl@example.pl'");
    assert.equal(rows[0].status, 'unsubscribed');
  });
});

describe('article input', () => {
  it('refuses non-http(s) URLs, unknown topics and missing credentials', async () => {
    const bad = await h.http.post('/api/articles').set(admin).send({ ...fixture, guid: 'x1', url: 'javascript:alert(1)' });
    assert.equal(bad.status, 400);
    assert.ok(bad.body.error.fields.url);
    const img = await h.http.post('/api/articles').set(admin).send({ ...fixture, guid: 'x2', imageUrl: 'ftp://x.example/a.jpg' });
    assert.equal(img.status, 400);
    const topic = await h.http.post('/api/articles').set(admin).send({ ...fixture, guid: 'x3', topics: ['nie-ma-takiego'] });
    assert.equal(topic.status, 400);
    assert.equal((await h.http.post('/api/articles').send(fixture)).status, 401);
  });

  it('escapes hostile HTML in the title and summary', async () => {
    await importSubscribers(h.deps.pool, [{ email: 'reader@example.pl', topics: 'komunikaty', lang: 'pl' }]);
    const res = await h.http.post('/api/articles').set(admin).send({
      url: 'https://www.duw.pl/hostile',
      title: '<script>alert("t")</script> & <b>bold</b>',
      summary: '<img src=x onerror=alert(1)> "quoted"',
      imageUrl: 'https://www.duw.pl/a.jpg?x="><script>',
      topics: ['komunikaty'],
    });
    assert.equal(res.status, 202);
    const mail = await eventually(() => notificationsTo('reader@example.pl')[0], 15_000, 'hostile article e-mail');
    const html = mail.parsed.html || '';
    assert.doesNotMatch(html, /<script>/);
    assert.doesNotMatch(html, /<img src=x/);
    assert.match(html, /&lt;script&gt;/);
    assert.equal(mail.parsed.subject, '<script>alert("t")</script> & <b>bold</b>');
  });
});
