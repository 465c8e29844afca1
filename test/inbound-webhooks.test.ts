import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import supertest from 'supertest';
import { createApp } from '../src/app.ts';
import { hashEmail } from '../src/core/email-address.ts';
import { isSnsUrl, SnsVerifier, snsStringToSign, type SnsMessage } from '../src/inbound/providers/sns.ts';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.ts';

const TOPIC = 'arn:aws:sns:eu-central-1:123456789012:powiadom-ses';
const MAILGUN_KEY = 'key-test-mailgun-signing-0123456789';
const POSTMARK_SECRET = 'postmark-secret-0123456789';

let h: Harness;
let http: ReturnType<typeof supertest>;
let certServer: Server;
let certBase: string;
let privateKey: string;
const hits: string[] = [];
let tmp: string;
let counter = 0;

before(async () => {
  // a signing certificate of our own, served from a local server that stands in for sns.<region>.amazonaws.com
  tmp = mkdtempSync(path.join(tmpdir(), 'powiadom-sns-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=sns.eu-central-1.amazonaws.com', '-days', '2', '-keyout', `${tmp}/key.pem`, '-out', `${tmp}/cert.pem`], { stdio: 'ignore' });
  privateKey = readFileSync(`${tmp}/key.pem`, 'utf8');
  const cert = readFileSync(`${tmp}/cert.pem`, 'utf8');
  certServer = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.end(req.url === '/cert.pem' ? cert : '<ConfirmSubscriptionResponse/>');
  });
  await new Promise<void>((resolve) => certServer.listen(0, '127.0.0.1', resolve));
  const { port } = certServer.address() as { port: number };
  certBase = `http://127.0.0.1:${port}`;
  h = await startHarness({
    label: 'inbound_webhooks',
    workers: false,
    env: { BOUNCE_ADDRESS: 'bounces@duw.example', SES_TOPIC_ARNS: TOPIC, MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY, POSTMARK_WEBHOOK_SECRET: POSTMARK_SECRET, SOFT_BOUNCE_LIMIT: '3' },
  });
  const sns = new SnsVerifier(async (url) => (await fetch(url)).text(), (url) => url.origin === certBase);
  http = supertest(createApp({ ...h.deps, sns }));
});
after(async () => {
  await h?.close();
  certServer?.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function seed(email: string) {
  const n = ++counter;
  const { rows: [s] } = await h.db.pool.query<{ id: number }>("INSERT INTO subscribers (email, status, lang, confirmed_at) VALUES ($1, 'active', 'pl', now()) RETURNING id", [email]);
  await h.db.pool.query("INSERT INTO consents (subscriber_id, source, consent_text_version, confirmed_at) VALUES ($1, 'form', 'v1', now())", [s!.id]);
  const { rows: [a] } = await h.db.pool.query<{ id: number }>("INSERT INTO articles (guid, url, title, topics) VALUES ($1, 'https://duw.example/a', 'K', '{komunikaty}') RETURNING id", [`wh-${n}`]);
  const { rows: [d] } = await h.db.pool.query<{ id: number }>("INSERT INTO deliveries (article_id, subscriber_id, status, sent_at) VALUES ($1, $2, 'sent', now()) RETURNING id", [a!.id, s!.id]);
  return { subscriberId: s!.id, deliveryId: d!.id, verp: h.deps.verp!.address({ kind: 'notification', id: d!.id }) };
}

async function stateOf(email: string, deliveryId?: number) {
  const { rows: [sup] } = await h.db.pool.query<{ reason: string }>('SELECT reason FROM suppressions WHERE email_hash = $1', [hashEmail(email)]);
  const { rows: [s] } = await h.db.pool.query<{ status: string }>('SELECT status FROM subscribers WHERE email = $1', [email]);
  const { rows: [d] } = deliveryId ? await h.db.pool.query<{ status: string }>('SELECT status FROM deliveries WHERE id = $1', [deliveryId]) : { rows: [] };
  return { suppression: sup?.reason ?? null, subscriber: s?.status ?? null, delivery: (d as { status: string } | undefined)?.status ?? null };
}

function snsMessage(fields: Partial<SnsMessage> & Pick<SnsMessage, 'Type' | 'Message'>, version: '1' | '2' = '2'): SnsMessage {
  const message = {
    MessageId: `sns-${++counter}`,
    TopicArn: TOPIC,
    Timestamp: new Date().toISOString(),
    SignatureVersion: version,
    SigningCertURL: `${certBase}/cert.pem`,
    Signature: '',
    ...fields,
  } as SnsMessage;
  message.Signature = sign(version === '2' ? 'RSA-SHA256' : 'RSA-SHA1', Buffer.from(snsStringToSign(message)), privateKey).toString('base64');
  return message;
}

const postSns = (message: unknown) => http.post('/api/webhooks/ses').set('Content-Type', 'text/plain; charset=UTF-8').send(JSON.stringify(message));

describe('Amazon SES through SNS', () => {
  it('confirms a signed subscription by visiting its SubscribeURL', async () => {
    const res = await postSns(snsMessage({ Type: 'SubscriptionConfirmation', Message: 'You have chosen to subscribe', Token: 'tok', SubscribeURL: `${certBase}/confirm?Token=tok` }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.confirmed, true);
    assert.ok(hits.includes('/confirm?Token=tok'));
  });

  it('fails the delivery and suppresses on a permanent bounce, once, fetching the certificate once', async () => {
    const { deliveryId, verp } = await seed('ses.hard@example.pl');
    const body = { notificationType: 'Bounce', mail: { source: verp }, bounce: { bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: 'ses.hard@example.pl', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }] } };
    const message = snsMessage({ Type: 'Notification', Message: JSON.stringify(body) });
    const first = await postSns(message);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, { processed: 1, outcomes: ['suppressed'] });
    const again = await postSns(message);
    assert.equal(again.status, 200);
    assert.deepEqual(await stateOf('ses.hard@example.pl', deliveryId), { suppression: 'hard_bounce', subscriber: 'active', delivery: 'failed' });
    const { rows } = await h.db.pool.query<{ attempts: number }>('SELECT attempts FROM inbound_messages WHERE message_key = $1', [`ses:${message.MessageId}:0`]);
    assert.deepEqual(rows, [{ attempts: 1 }]);
    assert.equal(hits.filter((u) => u === '/cert.pem').length, 1, 'the certificate is cached');
  });

  it('unsubscribes and suppresses on a complaint (signature version 1)', async () => {
    await seed('ses.complaint@example.pl');
    const body = { notificationType: 'Complaint', mail: {}, complaint: { complainedRecipients: [{ emailAddress: 'ses.complaint@example.pl' }] } };
    const res = await postSns(snsMessage({ Type: 'Notification', Message: JSON.stringify(body) }, '1'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(await stateOf('ses.complaint@example.pl'), { suppression: 'complaint', subscriber: 'unsubscribed', delivery: null });
  });

  it('answers 401 to a tampered message, another topic, or a certificate off the SNS host, changing nothing', async () => {
    await seed('ses.forged@example.pl');
    const body = JSON.stringify({ notificationType: 'Complaint', mail: {}, complaint: { complainedRecipients: [{ emailAddress: 'ses.forged@example.pl' }] } });
    const tampered = { ...snsMessage({ Type: 'Notification', Message: '{}' }), Message: body };
    const otherTopic = snsMessage({ Type: 'Notification', Message: body, TopicArn: 'arn:aws:sns:eu-central-1:999999999999:other' });
    const fetchedBefore = hits.length;
    const offHost = snsMessage({ Type: 'Notification', Message: body, SigningCertURL: 'https://evil.example/cert.pem' });
    for (const message of [tampered, otherTopic, offHost]) {
      const res = await postSns(message);
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'unauthorized');
    }
    assert.equal(hits.length, fetchedBefore, 'no certificate fetched from a host that is not allowed');
    assert.deepEqual(await stateOf('ses.forged@example.pl'), { suppression: null, subscriber: 'active', delivery: null });
    assert.equal((await postSns({ Type: 'Notification' })).status, 400);
    assert.equal((await http.post('/api/webhooks/ses').set('Content-Type', 'text/plain').send('not json')).status, 400);
  });

  it('allows certificates only from https://sns.<region>.amazonaws.com in production', () => {
    assert.equal(isSnsUrl(new URL('https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-abc.pem')), true);
    assert.equal(isSnsUrl(new URL('http://sns.eu-central-1.amazonaws.com/x.pem')), false);
    assert.equal(isSnsUrl(new URL('https://sns.eu-central-1.amazonaws.com.evil.example/x.pem')), false);
    assert.equal(isSnsUrl(new URL('https://evil.example/sns.eu-central-1.amazonaws.com/x.pem')), false);
  });
});

function mailgunBody(event: Record<string, unknown>, timestamp = Math.floor(Date.now() / 1000), token = `tok-${++counter}-0123456789abcdef`) {
  const signature = createHmac('sha256', MAILGUN_KEY).update(`${timestamp}${token}`).digest('hex');
  return { signature: { timestamp: String(timestamp), token, signature }, 'event-data': { id: `mg-${++counter}`, ...event } };
}

describe('Mailgun', () => {
  it('suppresses on a signed permanent failure and refuses the same signature again', async () => {
    const { deliveryId, verp } = await seed('mg.hard@example.pl');
    const body = mailgunBody({ event: 'failed', severity: 'permanent', recipient: 'mg.hard@example.pl', envelope: { sender: verp }, 'delivery-status': { code: 550, message: '5.1.1 The email account does not exist' } });
    const res = await http.post('/api/webhooks/mailgun').send(body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.outcomes, ['suppressed']);
    assert.deepEqual(await stateOf('mg.hard@example.pl', deliveryId), { suppression: 'hard_bounce', subscriber: 'active', delivery: 'failed' });
    const replay = await http.post('/api/webhooks/mailgun').send(body);
    assert.equal(replay.status, 401);
  });

  it('records a temporary failure as a soft bounce', async () => {
    await seed('mg.soft@example.pl');
    const res = await http.post('/api/webhooks/mailgun').send(mailgunBody({ event: 'failed', severity: 'temporary', recipient: 'mg.soft@example.pl', 'delivery-status': { code: 452, message: '4.2.2 Mailbox full' } }));
    assert.deepEqual(res.body.outcomes, ['soft']);
    assert.equal((await stateOf('mg.soft@example.pl')).suppression, null);
  });

  it('answers 401 to a stale timestamp or a wrong signature, changing nothing', async () => {
    await seed('mg.forged@example.pl');
    const event = { event: 'complained', recipient: 'mg.forged@example.pl' };
    const stale = mailgunBody(event, Math.floor(Date.now() / 1000) - 3600);
    const wrong = mailgunBody(event);
    wrong.signature.signature = wrong.signature.signature.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    for (const body of [stale, wrong]) assert.equal((await http.post('/api/webhooks/mailgun').send(body)).status, 401);
    assert.deepEqual(await stateOf('mg.forged@example.pl'), { suppression: null, subscriber: 'active', delivery: null });
    assert.equal((await http.post('/api/webhooks/mailgun').send({ signature: {} })).status, 400);
  });
});

describe('Postmark', () => {
  it('suppresses on a hard bounce with Basic auth and on a spam complaint with the URL secret', async () => {
    await seed('pm.hard@example.pl');
    await seed('pm.spam@example.pl');
    const auth = `Basic ${Buffer.from(`postmark:${POSTMARK_SECRET}`).toString('base64')}`;
    const bounce = await http.post('/api/webhooks/postmark').set('Authorization', auth).send({ RecordType: 'Bounce', ID: 1234567, Type: 'HardBounce', Email: 'pm.hard@example.pl', Details: 'smtp;550 5.1.1 unknown' });
    assert.equal(bounce.status, 200, JSON.stringify(bounce.body));
    const spam = await http.post(`/api/webhooks/postmark?secret=${POSTMARK_SECRET}`).send({ RecordType: 'SpamComplaint', ID: 42, Email: 'pm.spam@example.pl' });
    assert.equal(spam.status, 200, JSON.stringify(spam.body));
    assert.equal((await stateOf('pm.hard@example.pl')).suppression, 'hard_bounce');
    assert.deepEqual(await stateOf('pm.spam@example.pl'), { suppression: 'complaint', subscriber: 'unsubscribed', delivery: null });
  });

  it('answers 401 without the secret and 404 when the provider is not configured', async () => {
    await seed('pm.forged@example.pl');
    const body = { RecordType: 'SpamComplaint', ID: 43, Email: 'pm.forged@example.pl' };
    assert.equal((await http.post('/api/webhooks/postmark?secret=wrong-secret-0123456789').send(body)).status, 401);
    assert.equal((await http.post('/api/webhooks/postmark').send(body)).status, 401);
    assert.equal((await stateOf('pm.forged@example.pl')).suppression, null);
    const bare = supertest(createApp({ ...h.deps, config: { ...h.config, POSTMARK_WEBHOOK_SECRET: undefined, MAILGUN_WEBHOOK_SIGNING_KEY: undefined, SES_TOPIC_ARNS: [] } }));
    assert.equal((await bare.post(`/api/webhooks/postmark?secret=${POSTMARK_SECRET}`).send(body)).status, 404);
    assert.equal((await bare.post('/api/webhooks/mailgun').send(mailgunBody({ event: 'complained' }))).status, 404);
    assert.equal((await bare.post('/api/webhooks/ses').send('{}')).status, 404);
  });
});

describe('operators', () => {
  it('count inbound outcomes in /metrics and /api/stats', async () => {
    const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    const metrics = await http.get('/metrics').set(admin);
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^powiadom_inbound_messages_total\{kind="bounce",outcome="suppressed"\} [1-9]/m);
    assert.match(metrics.text, /^powiadom_inbound_messages_total\{kind="complaint",outcome="suppressed"\} [1-9]/m);
    const stats = await http.get('/api/stats').set(admin);
    assert.equal(stats.status, 200);
    assert.ok(stats.body.inbound.last24h.suppressed >= 4, JSON.stringify(stats.body.inbound));
    assert.equal(stats.body.inbound.last24h.soft, 1);
    assert.equal(stats.body.inbound.last24h.error, 0);
    assert.deepEqual(stats.body.inbound.mailboxes, []);
  });
});
