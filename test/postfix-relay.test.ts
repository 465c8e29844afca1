import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importSubscribers } from '../src/core/subscriber-import.ts';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from './helpers/harness.ts';
import { metricSample } from './helpers/metrics.ts';
import { makeTestCertificates, startCountingSink, startPostfix, type CountingSink, type TestCertificates, type ThrowawayPostfix } from './helpers/postfix.ts';

// Powiadom in front of a real Debian Postfix (a throwaway instance, see helpers/postfix.ts) relaying to a
// test server that counts per recipient. Each scenario has its own harness and its own recipients.
let postfix: ThrowawayPostfix;
let sink: CountingSink;
let certs: TestCertificates;
let certDir: string;
const harnesses: Harness[] = [];

before(async () => {
  sink = await startCountingSink();
  certDir = mkdtempSync(path.join(tmpdir(), 'powiadom-certs-'));
  certs = await makeTestCertificates(certDir);
  postfix = await startPostfix({
    relayTo: `127.0.0.1:${sink.port}`,
    // STARTTLS only on the second port: a client verifies any certificate it is offered
    main: {
      smtpd_tls_cert_file: certs.certFile,
      smtpd_tls_key_file: certs.keyFile,
      smtpd_tls_security_level: 'none',
      smtpd_tls_loglevel: '1',
      smtpd_relay_restrictions: 'permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination',
    },
    submission: ['smtpd_tls_security_level=encrypt'],
  });
});
after(async () => {
  for (const h of harnesses) await h.close();
  await postfix?.destroy();
  await sink?.close();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

/** A harness sending through the Postfix, with `count` active subscribers named `<label>-<i>@example.pl`. */
async function setup(label: string, count: number, env: Record<string, string> = {}): Promise<Harness> {
  const h = await startHarness({ label: `postfix-${label}`, workers: false, env: { SMTP_URL: postfix.url, SEND_BACKOFF_MS: '500', ...env } });
  harnesses.push(h);
  await importSubscribers(h.deps.pool, Array.from({ length: count }, (_, i) => ({ email: `${label}-${i}@example.pl`, topics: 'komunikaty' })));
  return h;
}

async function publish(h: Harness, title: string): Promise<number> {
  const res = await h.http.post('/api/articles').set({ Authorization: `Bearer ${ADMIN_TOKEN}` })
    .send({ url: `https://www.duw.pl/${encodeURIComponent(title)}`, title, topics: ['komunikaty'] });
  assert.equal(res.status, 202);
  return res.body.id as number;
}

async function ledger(h: Harness): Promise<{ sent: number; failed: number; pending: number }> {
  const { rows } = await h.deps.pool.query<{ sent: number; failed: number; pending: number }>(
    `SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent, count(*) FILTER (WHERE status = 'failed')::int AS failed,
            count(*) FILTER (WHERE status = 'pending')::int AS pending FROM deliveries`,
  );
  return rows[0]!;
}

/** How many messages the sink got per recipient of this scenario. */
function arrivals(label: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of sink.received) for (const to of m.to) if (to.startsWith(`${label}-`)) counts.set(to, (counts.get(to) ?? 0) + 1);
  return counts;
}

/** Every recipient of the scenario got exactly one message (polls: Postfix delivers asynchronously). */
async function assertDeliveredOnce(label: string, count: number, timeoutMs = 90_000): Promise<void> {
  await eventually(() => arrivals(label).size === count, timeoutMs, `${count} recipients of ${label} reached through Postfix`);
  await new Promise((r) => setTimeout(r, 300));
  const duplicates = [...arrivals(label).values()].filter((n) => n > 1).length;
  assert.equal(duplicates, 0, 'no recipient got the message twice');
}

async function stats(h: Harness): Promise<{ smtp: { state: string; hint?: string; error?: string } }> {
  const res = await h.http.get('/api/stats').set({ Authorization: `Bearer ${ADMIN_TOKEN}` });
  assert.equal(res.status, 200);
  return res.body;
}

async function metrics(h: Harness): Promise<string> {
  return (await h.http.get('/metrics').set({ Authorization: `Bearer ${ADMIN_TOKEN}` })).text;
}

function postfixLogLines(pattern: RegExp): number {
  return postfix.log().split('\n').filter((l) => pattern.test(l)).length;
}

/** Runs a test body; when it fails, prints the last log lines of Powiadom and Postfix. */
function withLogs(body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (err) {
      const h = harnesses.at(-1);
      console.log((h?.logs ?? []).slice(-30).map((line) => `# log: ${line.trimEnd()}`).join('\n'));
      console.log(postfix.log().split('\n').slice(-20).map((line) => `# postfix: ${line}`).join('\n'));
      throw err;
    }
  };
}

/** Stops a harness's workers, so its pooled connections leave the relay's connection slots. */
async function retire(h: Harness): Promise<void> {
  await h.workers?.close();
  h.workers = null;
}

async function timeFanout(label: string, count: number, env: Record<string, string>): Promise<{ h: Harness; seconds: number }> {
  const h = await setup(label, count, env);
  await h.startWorkers();
  const started = Date.now();
  await publish(h, `Komunikat ${label}`);
  await assertDeliveredOnce(label, count);
  const seconds = (Date.now() - started) / 1000;
  assert.deepEqual(await ledger(h), { sent: count, failed: 0, pending: 0 });
  await retire(h);
  return { h, seconds };
}

describe('sending through a real Postfix relay', () => {
  it('keeps sending at the rate of the connections a relay allows when it refuses extra ones (421)', withLogs(async () => {
    const N = 150;
    const free = await timeFanout('free', N, { SMTP_POOL_SIZE: '3' });
    await postfix.configure({ smtpd_client_connection_count_limit: '3' });
    const refusedBefore = postfixLogLines(/Connection concurrency limit exceeded/);
    const limited = await timeFanout('limited', N, { SMTP_POOL_SIZE: '8' });
    assert.ok(postfixLogLines(/Connection concurrency limit exceeded/) > refusedBefore, 'Postfix refused extra connections');
    assert.ok((metricSample(await metrics(limited.h), 'powiadom_smtp_pool_limit_lowered_total') ?? 0) > 0, 'the pool lowered its limit');
    console.log(`# ${N} messages through Postfix: ${free.seconds.toFixed(1)} s with 3 connections, ${limited.seconds.toFixed(1)} s with a limit of 3 and 8 wanted`);
    // before the fix: 86 of 5,000 in 480 s; a generous bound, the machine is shared
    assert.ok(limited.seconds < free.seconds * 3 + 15, `limited ${limited.seconds} s against ${free.seconds} s`);
  }));

  it('keeps a connection for confirmations while a fan-out uses the rest of SMTP_MAX_CONNECTIONS, and closes idle ones', withLogs(async () => {
    const N = 150;
    const refusedBefore = postfixLogLines(/Connection concurrency limit exceeded/);
    const h = await setup('shared', N, { SMTP_MAX_CONNECTIONS: '3', SMTP_POOL_SIZE: '8', SMTP_IDLE_TIMEOUT_MS: '1000' });
    await h.startWorkers();
    await publish(h, 'Komunikat shared');
    await eventually(() => arrivals('shared').size >= 20, 60_000, 'the fan-out began');
    const asked = await h.http.post('/api/subscriptions').send({ email: 'newcomer@example.pl', consent: true, topics: ['komunikaty'] });
    assert.ok(asked.status < 300, `subscription answered ${asked.status}`);
    await eventually(() => sink.to('newcomer@example.pl').length === 1, 60_000, 'the confirmation e-mail arrived');
    await assertDeliveredOnce('shared', N);
    assert.equal(postfixLogLines(/Connection concurrency limit exceeded/), refusedBefore, 'never more connections than the relay allows');
    // idle connections are closed after SMTP_IDLE_TIMEOUT_MS: Postfix logs each session's end
    await eventually(() => {
      const log = postfix.log();
      return (log.match(/ connect from /g) ?? []).length === (log.match(/ disconnect from /g) ?? []).length;
    }, 30_000, 'every connection closed once idle');
    await retire(h);
    await postfix.configure({ smtpd_client_connection_count_limit: '50' });
  }));

  it('sends over STARTTLS to a certificate of a private CA trusted with SMTP_TLS_CA_FILE', withLogs(async () => {
    const N = 40;
    const h = await setup('tls', N, {
      SMTP_URL: `smtp://127.0.0.1:${postfix.submissionPort}`,
      SMTP_TLS_CA_FILE: certs.caFile,
      SMTP_TLS_SERVERNAME: certs.host,
      SMTP_REQUIRE_TLS: '1',
      SMTP_HELO_NAME: 'powiadom.duw.example',
    });
    const workers = await h.startWorkers();
    assert.equal(await workers.smtpChecked, true);
    await publish(h, 'Komunikat tls');
    await assertDeliveredOnce('tls', N);
    assert.match(postfix.log(), /TLS connection established from/);
    const received = sink.to('tls-0@example.pl')[0]!.raw;
    assert.match(received, /Received: from powiadom\.duw\.example \(localhost \[127\.0\.0\.1\]\)\s+by relay\.powiadom\.test \(Postfix\) with ESMTPS/, 'EHLO powiadom.duw.example over TLS');
    await retire(h);
    assert.equal((await stats(h)).smtp.state, 'ok');
  }));

  it('without the CA: says "certificate not trusted: set SMTP_TLS_CA_FILE", pauses, fails nothing', withLogs(async () => {
    const N = 30;
    const h = await setup('untrusted', N, { SMTP_URL: `smtp://127.0.0.1:${postfix.submissionPort}`, SMTP_TLS_SERVERNAME: certs.host });
    const workers = await h.startWorkers();
    assert.equal(await workers.smtpChecked, false);
    assert.equal((await stats(h)).smtp.hint, 'certificate not trusted: set SMTP_TLS_CA_FILE');
    assert.ok(h.logs.some((l) => l.includes('certificate not trusted: set SMTP_TLS_CA_FILE') && l.includes('"level":50')), 'an error in the start-up log');
    await publish(h, 'Komunikat untrusted');
    await eventually(() => h.logs.some((l) => l.includes('pausing the send queue') && l.includes('"reason":"configuration"')), 60_000, 'the queue paused');
    const now = await ledger(h);
    assert.equal(now.failed, 0);
    assert.equal(now.sent, 0);
    assert.equal(metricSample(await metrics(h), 'powiadom_smtp_problem', { problem: 'configuration' }), 1);
    assert.equal(arrivals('untrusted').size, 0);
    await retire(h);
  }));

  it('holds every delivery while the relay refuses to relay for us (554 5.7.1) and sends them all once it does', withLogs(async () => {
    const N = 60;
    await postfix.configure({ mynetworks: '127.0.0.2/32' });
    const h = await setup('relaying', N);
    await h.startWorkers();
    await publish(h, 'Komunikat relaying');
    await eventually(async () => (await stats(h)).smtp.state === 'configuration', 60_000, 'the configuration problem is reported');
    const { smtp } = await stats(h);
    assert.match(smtp.hint ?? '', /does not relay for us/);
    assert.match(smtp.error ?? '', /Relay access denied/);
    assert.doesNotMatch(smtp.error ?? '', /relaying-\d+@example\.pl/, 'addresses are masked');
    assert.equal((await ledger(h)).failed, 0);
    assert.equal(metricSample(await metrics(h), 'powiadom_smtp_problem', { problem: 'configuration' }), 1);
    await postfix.configure({ mynetworks: '127.0.0.0/8' });
    await assertDeliveredOnce('relaying', N);
    assert.deepEqual(await ledger(h), { sent: N, failed: 0, pending: 0 });
    await retire(h);
  }));

  it('holds the queue in every worker while Postfix is stopped and resumes within seconds of its start', withLogs(async () => {
    const N = 150;
    const logFrom = postfix.log().length;
    const h = await setup('outage', N);
    await h.startWorkers();
    // a second worker set on the same queue, as a second process or sender thread would be
    const second = await startHarnessWorkers(h);
    await publish(h, 'Komunikat outage');
    await eventually(() => arrivals('outage').size >= 30, 60_000, 'sending began');
    await postfix.stop();
    await eventually(() => h.logs.some((l) => l.includes('pausing the send queue')), 60_000, 'the queue paused');
    await new Promise((r) => setTimeout(r, 4000));
    const started = Date.now();
    const before = arrivals('outage').size;
    await postfix.start();
    await eventually(() => arrivals('outage').size > before, 60_000, 'sending resumed');
    const resumedAfter = (Date.now() - started) / 1000;
    await eventually(() => arrivals('outage').size === N, 90_000, 'every recipient reached');
    assert.deepEqual(await ledger(h), { sent: N, failed: 0, pending: 0 });
    // Powiadom handed each message to Postfix once: one accepted queue file per Message-ID. (The sink may
    // see a message twice: Postfix itself redelivers what its smtp client sent but could not record when stopped.)
    const accepted = postfix.log().slice(logFrom).match(/cleanup\[\d+\]: \w+: message-id=<notification-[^>]+>/g) ?? [];
    const ids = accepted.map((line) => line.slice(line.indexOf('<')));
    assert.equal(ids.length, N, 'Postfix accepted N messages');
    assert.equal(new Set(ids).size, N, 'no message was handed to Postfix twice');
    await second.close();
    await retire(h);
    // the probe runs every 2 s and a lift reaches the workers within 2.5 s; generous for a busy machine
    assert.ok(resumedAfter < 20, `resumed ${resumedAfter} s after postfix start`);
  }));

  it('slows down under the relay\'s message rate limit (anvil) and fails nothing', withLogs(async () => {
    const N = 100;
    await postfix.configure({ smtpd_client_message_rate_limit: '40', anvil_rate_time_unit: '3s' });
    const h = await setup('rate', N);
    await h.startWorkers();
    await publish(h, 'Komunikat rate');
    await assertDeliveredOnce('rate', N);
    assert.deepEqual(await ledger(h), { sent: N, failed: 0, pending: 0 });
    assert.ok(postfixLogLines(/Message delivery request rate limit exceeded/) > 0, 'Postfix limited the message rate');
    await postfix.configure({ smtpd_client_message_rate_limit: '0', anvil_rate_time_unit: '60s' });
  }));
});

/** Starts another set of workers on the harness's queues (as another process would), closed by the caller. */
async function startHarnessWorkers(h: Harness): Promise<{ close(): Promise<void> }> {
  const { startWorkers } = await import('../workers/start.ts');
  return startWorkers(h.deps, { schedules: false });
}
