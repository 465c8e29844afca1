import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { parseConfig } from '../src/config.ts';
import { importSubscribers } from '../src/core/subscriber-import.ts';
import { connectionShare } from '../src/mail/mailer.ts';
import { classifySmtpError, configurationHint, describeSmtpError } from '../src/mail/smtp-errors.ts';
import { heloName } from '../src/mail/smtp-options.ts';
import { SendPause } from '../workers/send-pause.ts';
import { startWorkers } from '../workers/start.ts';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from './helpers/harness.ts';
import { metricSample } from './helpers/metrics.ts';

const PRODUCTION = { NODE_ENV: 'production', SECRET: 'x'.repeat(32), PUBLIC_URL: 'https://powiadomienia.duw.pl' };

/** A nodemailer-shaped SMTP error. */
function smtpError(command: string, response: string, code = 'EENVELOPE'): Error {
  return Object.assign(new Error(`Error: ${response}`), { command, response, responseCode: Number(response.slice(0, 3)), code });
}

describe('SMTP settings', () => {
  it('requires MAIL_FROM (set, or derived from the host of PUBLIC_URL) in a real domain in production', () => {
    assert.equal(parseConfig(PRODUCTION).MAIL_FROM, 'Powiadom <powiadom@powiadomienia.duw.pl>');
    assert.throws(() => parseConfig({ ...PRODUCTION, PUBLIC_URL: 'https://powiadomienia' }), /MAIL_FROM: must be an address in a real domain/);
    assert.throws(() => parseConfig({ ...PRODUCTION, MAIL_FROM: 'Powiadom <powiadom@localhost>' }), /MAIL_FROM: must be an address in a real domain/);
    assert.throws(() => parseConfig({ ...PRODUCTION, MAIL_FROM: 'powiadom@[10.0.0.1]' }), /MAIL_FROM: must be/);
    assert.equal(parseConfig({ ...PRODUCTION, MAIL_FROM: 'DUW <powiadomienia@duw.pl>' }).MAIL_FROM, 'DUW <powiadomienia@duw.pl>');
  });

  it('takes a HELO name only when fully qualified, and defaults to the host of PUBLIC_URL in production', () => {
    assert.throws(() => parseConfig({ SMTP_HELO_NAME: '127.0.0.1' }), /SMTP_HELO_NAME/);
    assert.throws(() => parseConfig({ SMTP_HELO_NAME: 'localhost' }), /SMTP_HELO_NAME/);
    assert.equal(heloName(parseConfig({ SMTP_HELO_NAME: 'mail.duw.pl' })), 'mail.duw.pl');
    assert.equal(heloName(parseConfig({ ...PRODUCTION, MAIL_FROM: 'a@duw.pl' })), 'powiadomienia.duw.pl');
    assert.equal(heloName(parseConfig({ ...PRODUCTION, MAIL_FROM: 'a@duw.pl', PUBLIC_URL: 'https://10.1.2.3' })), undefined);
  });

  it('refuses TLS options hidden in SMTP_URL, and SMTP_TLS_INSECURE in production', () => {
    assert.throws(() => parseConfig({ SMTP_URL: 'smtp://relay.duw.pl:587?tls.rejectUnauthorized=false' }), /SMTP_TLS_INSECURE/);
    assert.throws(() => parseConfig({ ...PRODUCTION, MAIL_FROM: 'a@duw.pl', SMTP_TLS_INSECURE: '1' }), /SMTP_TLS_INSECURE: not allowed/);
    assert.equal(parseConfig({ SMTP_TLS_INSECURE: '1' }).SMTP_TLS_INSECURE, true);
  });

  it('keeps one connection of SMTP_MAX_CONNECTIONS for transactional e-mail and shares the rest among the sender threads', () => {
    assert.deepEqual(connectionShare({ SMTP_MAX_CONNECTIONS: 3, SMTP_POOL_SIZE: 8 }, 0), { notifications: 2, transactional: 1 });
    assert.deepEqual(connectionShare({ SMTP_MAX_CONNECTIONS: 9, SMTP_POOL_SIZE: 8 }, 3), { notifications: 2, transactional: 1 });
    assert.deepEqual(connectionShare({ SMTP_MAX_CONNECTIONS: 2, SMTP_POOL_SIZE: 8 }, 3), { notifications: 1, transactional: 1 });
    assert.deepEqual(connectionShare({ SMTP_MAX_CONNECTIONS: undefined, SMTP_POOL_SIZE: 8 }, 1), { notifications: 8, transactional: 8 });
  });
});

describe('SMTP error classes', () => {
  it('tells errors about our configuration from errors about a recipient', () => {
    const cases: [Error, string][] = [
      [Object.assign(smtpError('AUTH PLAIN', '535 5.7.8 Error: authentication failed'), { code: 'EAUTH' }), 'configuration'],
      [smtpError('RCPT TO', '554 5.7.1 <jan@example.pl>: Relay access denied'), 'configuration'],
      [smtpError('RCPT TO', '454 4.7.1 <jan@example.pl>: Relay access denied'), 'configuration'],
      [smtpError('RCPT TO', '504 5.5.2 <powiadom@localhost>: Sender address rejected: need fully-qualified address'), 'configuration'],
      [smtpError('MAIL FROM', '550 5.7.60 SMTP; Client does not have permissions to send as this sender'), 'configuration'],
      [smtpError('MAIL FROM', '530 5.7.57 Client not authenticated to send mail'), 'configuration'],
      [Object.assign(new Error('unable to get local issuer certificate'), { code: 'ETLS', originalCode: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' }), 'configuration'],
      [smtpError('RCPT TO', '550 5.1.1 <jan@example.pl>: Recipient address rejected: User unknown'), 'unknown-user'],
      [smtpError('RCPT TO', '554 5.7.1 <jan@example.pl>: Recipient address rejected: Access denied'), 'permanent'],
      [smtpError('DATA', '554 5.7.0 Reject, id=123 - spam'), 'permanent'],
      [smtpError('MAIL FROM', '450 4.7.1 Error: too much mail from 127.0.0.1'), 'server-unavailable'],
      [smtpError('MAIL FROM', '452 4.3.1 Insufficient system resources'), 'server-unavailable'],
      [smtpError('RCPT TO', '450 4.2.0 <jan@example.pl>: Recipient address rejected: Greylisted'), 'transient'],
      [Object.assign(new Error('Invalid greeting. response=421 4.7.0 Error: too many connections: 421 4.7.0 Error: too many connections'), { code: 'EPROTOCOL', command: 'CONN', response: '421 4.7.0 Error: too many connections', responseCode: 421 }), 'server-unavailable'],
    ];
    for (const [err, expected] of cases) assert.equal(classifySmtpError(err), expected, (err as { response?: string }).response ?? err.message);
  });

  it('says what to change, and quotes the server once with addresses masked', () => {
    assert.equal(configurationHint(Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'ETLS' })), 'certificate not trusted: set SMTP_TLS_CA_FILE');
    assert.match(configurationHint(Object.assign(new Error('x'), { code: 'EAUTH', command: 'AUTH PLAIN' })), /authentication refused/);
    const greeting = Object.assign(new Error('Invalid greeting. response=421 4.7.0 Error: too many connections from 127.0.0.1: 421 4.7.0 Error: too many connections from 127.0.0.1'), {
      command: 'CONN',
      response: '421 4.7.0 Error: too many connections from 127.0.0.1',
    });
    assert.equal(describeSmtpError(greeting), 'CONN: 421 4.7.0 Error: too many connections from 127.0.0.1');
    assert.equal(describeSmtpError(smtpError('RCPT TO', '554 5.7.1 <jan.kowalski@example.pl>: Relay access denied')), 'RCPT TO: 554 5.7.1 <j***@example.pl>: Relay access denied');
  });
});

describe('a wrong SMTP password and a queue-wide pause', () => {
  let h: Harness;
  let relay: SMTPServer;
  let relayPort: number;
  const accepted: { to: string; at: number }[] = [];
  let rightDeps: Harness['deps'];
  before(async () => {
    relay = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth: (auth, _session, cb) => (auth.password === 'right-password' ? cb(null, { user: auth.username }) : cb(Object.assign(new Error('5.7.8 Error: authentication failed'), { responseCode: 535 }))),
      onData(stream, session, cb) {
        stream.resume();
        stream.on('end', () => {
          accepted.push(...session.envelope.rcptTo.map((r) => ({ to: r.address, at: Date.now() })));
          cb();
        });
      },
    });
    relay.on('error', () => undefined);
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    relayPort = (relay.server.address() as AddressInfo).port;
    h = await startHarness({ label: 'smtp-auth', workers: false, env: { SMTP_URL: `smtp://powiadom:wrong-password@127.0.0.1:${relayPort}`, SEND_BACKOFF_MS: '500' } });
    await importSubscribers(h.deps.pool, Array.from({ length: 20 }, (_, i) => ({ email: `auth-${i}@example.pl`, topics: 'komunikaty' })));
    await importSubscribers(h.deps.pool, Array.from({ length: 20 }, (_, i) => ({ email: `paused-${i}@example.pl`, topics: 'dla-mediow' })));
  });
  after(async () => {
    await h?.close();
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  });

  const publish = async (title: string, topic: string) => {
    const res = await h.http.post('/api/articles').set({ Authorization: `Bearer ${ADMIN_TOKEN}` }).send({ url: `https://www.duw.pl/${title}`, title, topics: [topic] });
    assert.equal(res.status, 202);
    return res.body.id as number;
  };
  const countByStatus = async (articleId: number) =>
    (await h.deps.pool.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM deliveries WHERE article_id = $1 GROUP BY status', [articleId])).rows;

  it('fails nothing on 535, raises the alert metric, and sends everything after a restart with the right password', async () => {
    const workers = await h.startWorkers();
    assert.equal(await workers.smtpChecked, false);
    const articleId = await publish('haslo', 'komunikaty');
    await eventually(() => h.logs.some((l) => l.includes('"reason":"configuration"')), 60_000, 'the queue paused for the configuration');
    const stats = await h.http.get('/api/stats').set({ Authorization: `Bearer ${ADMIN_TOKEN}` });
    assert.match(stats.body.smtp.hint, /authentication refused/);
    const metrics = (await h.http.get('/metrics').set({ Authorization: `Bearer ${ADMIN_TOKEN}` })).text;
    assert.equal(metricSample(metrics, 'powiadom_smtp_problem', { problem: 'configuration' }), 1);
    assert.deepEqual(await countByStatus(articleId), [{ status: 'pending', n: 20 }]);

    await workers.close();
    rightDeps = { ...h.deps, config: { ...h.config, SMTP_URL: `smtp://powiadom:right-password@127.0.0.1:${relayPort}` } };
    h.workers = await startWorkers(rightDeps, { schedules: false });
    assert.equal(await h.workers.smtpChecked, true, 'the start-up check lifts the pause');
    await eventually(async () => (await countByStatus(articleId)).every((r) => r.status === 'sent'), 60_000, 'every delivery sent');
    assert.equal(accepted.filter((a) => a.to.startsWith('auth-')).length, 20);
  });

  it('holds the send workers of every process while the queue is paused, SEND_RATE=0 included', async () => {
    // a second set of workers on the same queue, as another process or a sender thread
    const second = await startWorkers(rightDeps, { schedules: false });
    try {
      await second.smtpChecked;
      const pause = new SendPause(h.deps.redis, h.config.QUEUE_PREFIX, 4_000, () => Promise.reject(new Error('still down')), h.deps.log);
      const pausedMs = await pause.hold('configuration');
      const until = Date.now() + pausedMs;
      const articleId = await publish('pauza', 'dla-mediow');
      await eventually(() => accepted.some((a) => a.to.startsWith('paused-')), 60_000, 'sending after the pause');
      const firstAt = Math.min(...accepted.filter((a) => a.to.startsWith('paused-')).map((a) => a.at));
      // the key is renewed in slices of up to 2.5 s: sending may begin when the pause ends, never before
      assert.ok(firstAt >= until - 50, `sent ${until - firstAt} ms before the pause ended`);
      await eventually(async () => (await countByStatus(articleId)).every((r) => r.status === 'sent'), 60_000, 'every delivery sent');
    } finally {
      await second.close();
    }
  });
});
