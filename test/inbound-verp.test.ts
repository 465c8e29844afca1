import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { importSubscribers } from '../src/core/subscriber-import.ts';
import { classifyMessage } from '../src/inbound/classify.ts';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from './helpers/harness.ts';
import { postfixDsn } from './helpers/inbound-mail.ts';
import { freePort } from './helpers/throwaway-servers.ts';

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
let h: Harness;

before(async () => {
  // a mailbox nobody listens on: the poller only logs that it cannot read it
  const closedPort = await freePort();
  h = await startHarness({
    label: 'inbound_verp',
    env: { BOUNCE_ADDRESS: 'bounces@duw.example', INBOUND_IMAP_URL: `imap://u:p@127.0.0.1:${closedPort}/INBOX`, INBOUND_POLL_INTERVAL_MS: '600000' },
  });
  await importSubscribers(h.deps.pool, [{ email: 'verp@example.pl', topics: 'komunikaty', lang: 'pl' }]);
});
after(async () => {
  await h.close();
});

describe('outbound envelope senders (VERP) and the mailto: unsubscribe', () => {
  it('sends a notification from a signed bounce address naming its delivery, advertising the mailto', async () => {
    const res = await h.http.post('/api/articles').set(admin).send({ guid: 'verp-1', url: 'https://duw.example/verp', title: 'Komunikat VERP', topics: ['komunikaty'] });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const mail = await eventually(() => h.smtp.to('verp@example.pl').find((m) => /Message-ID: <notification-/.test(m.raw)), 30_000, 'the notification');
    const { rows: [delivery] } = await h.db.pool.query<{ id: number }>('SELECT id FROM deliveries WHERE article_id = $1', [res.body.id]);
    assert.match(mail.from, new RegExp(`^bounces\\+n${delivery!.id}-[0-9a-f]{12}@duw\\.example$`));
    assert.deepEqual(h.deps.verp!.find(mail.from), { kind: 'notification', id: delivery!.id });
    assert.match(mail.raw, /^List-Unsubscribe: <http:\/\/powiadom\.test\/unsubscribe\/[\w-]{39}>,\r?\n <mailto:unsubscribe@duw\.example\?subject=unsubscribe%20[\w-]{39}>/m);
    assert.match(mail.raw, /^From: .*powiadom@duw\.example/m, 'the From header stays MAIL_FROM');
  });

  it('sends a confirmation from a bounce address naming the subscriber', async () => {
    const res = await h.http.post('/api/subscriptions').send({ email: 'nowy@example.pl', consent: true, topics: ['komunikaty'] });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const mail = await eventually(() => h.smtp.to('nowy@example.pl')[0], 30_000, 'the confirmation');
    const { rows: [s] } = await h.db.pool.query<{ id: number }>("SELECT id FROM subscribers WHERE email = 'nowy@example.pl'");
    assert.deepEqual(h.deps.verp!.find(mail.from), { kind: 'transactional', id: s!.id });
  });

  it('matches a DSN by its VERP address even when the report names no recipient and quotes nothing', async () => {
    const { rows: [d] } = await h.db.pool.query<{ id: number }>("SELECT d.id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = 'verp@example.pl'");
    const raw = postfixDsn({ to: h.deps.verp!.address({ kind: 'notification', id: d!.id }), recipient: 'x', originalId: 'x', messageId: 'malformed@mx.example' })
      .replace(/^(Final|Original)-Recipient:.*\r\n/gm, '')
      .replace(/^Message-ID: <x>\r\n/m, '');
    const { event } = await classifyMessage(Buffer.from(raw), h.deps.verp);
    assert.equal(event.kind, 'bounce');
    const { outcome } = await h.deps.inbound.process('imap:<malformed@mx.example>', 'imap', event);
    assert.equal(outcome, 'suppressed');
    const { rows: [row] } = await h.db.pool.query<{ status: string }>('SELECT status FROM deliveries WHERE id = $1', [d!.id]);
    assert.equal(row!.status, 'failed');
  });

  it('refuses a bounce address with a forged signature', () => {
    const genuine = h.deps.verp!.address({ kind: 'notification', id: 7 });
    const forged = genuine.replace(/-([0-9a-f])/, (_m, c: string) => `-${c === '0' ? '1' : '0'}`);
    assert.equal(h.deps.verp!.find(forged), null);
    assert.equal(h.deps.verp!.find(genuine.toUpperCase())?.id, 7, 'a relay that upper-cases the local part still matches');
  });
});

describe('inbound configuration', () => {
  it('refuses a bounce address with a "+" or without "@", and a mailbox URL that is not imap(s)', async () => {
    const { parseConfig, ConfigError } = await import('../src/config.ts');
    assert.throws(() => parseConfig({ BOUNCE_ADDRESS: 'bounces+x@duw.example' }), (err: Error) => err instanceof ConfigError && /BOUNCE_ADDRESS/.test(err.message));
    assert.throws(() => parseConfig({ BOUNCE_ADDRESS: 'bounces' }), /BOUNCE_ADDRESS/);
    assert.throws(() => parseConfig({ INBOUND_IMAP_URL: 'pop3://u:p@host/INBOX' }), /INBOUND_IMAP_URL/);
    assert.throws(() => parseConfig({ POSTMARK_WEBHOOK_SECRET: 'short' }), /POSTMARK_WEBHOOK_SECRET/);
    const config = parseConfig({ INBOUND_IMAP_URL: 'imaps://b%40duw.example:p@imap.duw.example:993/INBOX', SES_TOPIC_ARNS: 'arn:a, arn:b' });
    assert.deepEqual([config.INBOUND_DONE_FOLDER, config.INBOUND_UNKNOWN_FOLDER, config.SOFT_BOUNCE_LIMIT, config.SOFT_BOUNCE_WINDOW_DAYS], ['Powiadom/Przetworzone', 'Powiadom/Nierozpoznane', 5, 30]);
    assert.deepEqual(config.SES_TOPIC_ARNS, ['arn:a', 'arn:b']);
  });
});
