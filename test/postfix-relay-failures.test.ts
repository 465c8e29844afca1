import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startWorkers } from '../workers/start.ts';
import { eventually, type Harness } from './helpers/harness.ts';
import { metricSample } from './helpers/metrics.ts';
import {
  arrivals, assertDeliveredOnce, certs, ledger, metrics, postfix, publish, retire, setup, sink, stats, useRelay, withLogs,
} from './helpers/postfix-scenarios.ts';

// Powiadom through a real Postfix: STARTTLS with a private CA, configuration errors, an outage (helpers/postfix-scenarios.ts).
useRelay({ certificates: true });

describe('sending through a Postfix relay that fails or distrusts', () => {
  it('sends over STARTTLS to a certificate of a private CA trusted with SMTP_TLS_CA_FILE', withLogs(async () => {
    const N = 30;
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
    const N = 20;
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
    const N = 40;
    await postfix.configure({ mynetworks: '127.0.0.2/32' });
    const h = await setup('relaying', N);
    await h.startWorkers();
    const articleId = await publish(h, 'Komunikat relaying');
    await eventually(async () => (await stats(h)).smtp.state === 'configuration', 60_000, 'the configuration problem is reported');
    const { smtp } = await stats(h);
    assert.match(smtp.hint ?? '', /does not relay for us/);
    assert.match(smtp.error ?? '', /Relay access denied/);
    assert.doesNotMatch(smtp.error ?? '', /relaying-\d+@example\.pl/, 'addresses are masked');
    assert.equal((await ledger(h)).failed, 0);
    assert.equal(metricSample(await metrics(h), 'powiadom_smtp_problem', { problem: 'configuration' }), 1);
    await postfix.configure({ mynetworks: '127.0.0.0/8' });
    await assertDeliveredOnce('relaying', N);
    assert.deepEqual(await ledger(h, articleId), { sent: N, failed: 0, pending: 0 });
  }));

  it('holds the queue in every worker while Postfix is stopped and resumes within seconds of its start', withLogs(async () => {
    const N = 120;
    // SEND_RATE=20: batches of 20 a second, so the relay stops while most of the article is still to be
    // sent, however fast or slow this machine is (unthrottled, all 120 can be handed over before the stop)
    const h = await setup('outage', N, { SEND_RATE: '20' }, 'dla-mediow');
    await h.startWorkers();
    const logFrom = postfix.log().length;
    const ownLogsFrom = h.logs.length;
    // a second worker set on the same queue, as a second process or sender thread would be
    const second = await startHarnessWorkers(h);
    const articleId = await publish(h, 'Komunikat outage', 'dla-mediow');
    await eventually(async () => (await ledger(h, articleId)).sent >= 20, 60_000, 'sending began');
    await postfix.stop();
    assert.ok((await ledger(h, articleId)).pending > 0, 'the relay stopped mid-send');
    await eventually(() => h.logs.slice(ownLogsFrom).some((l) => l.includes('pausing the send queue')), 60_000, 'the queue paused');
    await new Promise((r) => setTimeout(r, 4000));
    const started = Date.now();
    const before = arrivals('outage').size;
    await postfix.start();
    await eventually(() => arrivals('outage').size > before, 60_000, 'sending resumed');
    const resumedAfter = (Date.now() - started) / 1000;
    await eventually(() => arrivals('outage').size === N, 90_000, 'every recipient reached');
    assert.deepEqual(await ledger(h, articleId), { sent: N, failed: 0, pending: 0 });
    // What Powiadom handed to Postfix: Message-IDs of the queue files Postfix committed (qmgr took them up);
    // cleanup also logs messages cut off mid-DATA by the stop, which were never accepted. The sink may see a
    // message twice on its own: Postfix redelivers what its smtp client sent but could not record when stopped.
    const log = postfix.log().slice(logFrom);
    const messageIdOf = new Map([...log.matchAll(/cleanup\[\d+\]: (\w+): message-id=<(notification-[^>]+)>/g)].map((m) => [m[1]!, m[2]!]));
    const committed = new Set([...log.matchAll(/qmgr\[\d+\]: (\w+): from=</g)].map((m) => m[1]!).filter((id) => messageIdOf.has(id)));
    const handed = [...committed].map((id) => messageIdOf.get(id)!);
    assert.equal(new Set(handed).size, N, 'Postfix accepted every message');
    // A message Postfix committed just before it stopped, without its 250 reaching us, is sent again: at
    // most one per connection in flight (two worker sets of SMTP_POOL_SIZE=2).
    assert.ok(handed.length - N <= 4, `${handed.length - N} messages handed to Postfix twice`);
    await second.close();
    await retire(h);
    // the probe runs every 2 s and a lift reaches the workers within 2.5 s; generous for a busy machine
    assert.ok(resumedAfter < 20, `resumed ${resumedAfter} s after postfix start`);
  }));
});

/** Starts another set of workers on the harness's queues (as another process would), closed by the caller. */
async function startHarnessWorkers(h: Harness): Promise<{ close(): Promise<void> }> {
  return startWorkers(h.deps, { schedules: false });
}

