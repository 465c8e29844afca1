import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { eventually, type Harness } from './helpers/harness.ts';
import { metricSample } from './helpers/metrics.ts';
import {
  allConnectionsClosed, arrivals, assertDeliveredOnce, metrics, postfix, postfixLogLines, publish, retire, setup, sink, subscribe, timeFanout, useRelay, withLogs,
} from './helpers/postfix-scenarios.ts';

// Powiadom through a real Postfix that limits connections and message rates (helpers/postfix-scenarios.ts).
useRelay();

describe('sending through a Postfix relay with limits', () => {
  let h: Harness;
  before(async () => {
    h = await setup('free', 100, { SMTP_POOL_SIZE: '3', SMTP_IDLE_TIMEOUT_MS: '1000' });
    await subscribe(h, 'limited', 100, 'dla-mediow');
    await subscribe(h, 'rate', 80, 'ogloszenia');
    await h.startWorkers();
  });

  it('keeps sending at the rate of the connections a relay allows when it refuses extra ones (421)', withLogs(async () => {
    const free = await timeFanout(h, 'free', 100, 'komunikaty');
    await postfix.configure({ smtpd_client_connection_count_limit: '2' });
    await allConnectionsClosed('the pool closed its idle connections');
    const refusedBefore = postfixLogLines(/Connection concurrency limit exceeded/);
    const limited = await timeFanout(h, 'limited', 100, 'dla-mediow');
    assert.ok(postfixLogLines(/Connection concurrency limit exceeded/) > refusedBefore, 'Postfix refused extra connections');
    assert.ok((metricSample(await metrics(h), 'powiadom_smtp_pool_limit_lowered_total') ?? 0) > 0, 'the pool lowered its limit');
    console.log(`# 100 messages through Postfix: ${free.toFixed(1)} s with 3 connections, ${limited.toFixed(1)} s with 3 wanted and 2 allowed`);
    // before the fix: 86 of 5,000 in 480 s; a generous bound, the machine is shared
    assert.ok(limited < free * 3 + 15, `limited ${limited} s against ${free} s`);
    await postfix.configure({ smtpd_client_connection_count_limit: '50' });
  }));

  it('slows down under the relay\'s message rate limit (anvil) and fails nothing', withLogs(async () => {
    await postfix.configure({ smtpd_client_message_rate_limit: '30', anvil_rate_time_unit: '3s' });
    await allConnectionsClosed('sessions under the old settings ended');
    await timeFanout(h, 'rate', 80, 'ogloszenia');
    assert.ok(postfixLogLines(/Message delivery request rate limit exceeded/) > 0, 'Postfix limited the message rate');
    await postfix.configure({ smtpd_client_message_rate_limit: '0', anvil_rate_time_unit: '60s' });
    await retire(h);
  }));

  it('keeps a connection for confirmations while a fan-out uses the rest of SMTP_MAX_CONNECTIONS, and closes idle ones', withLogs(async () => {
    const N = 100;
    await postfix.configure({ smtpd_client_connection_count_limit: '3' });
    await allConnectionsClosed();
    const refusedBefore = postfixLogLines(/Connection concurrency limit exceeded/);
    const shared = await setup('shared', N, { SMTP_MAX_CONNECTIONS: '3', SMTP_POOL_SIZE: '8', SMTP_IDLE_TIMEOUT_MS: '1000' });
    await shared.startWorkers();
    await publish(shared, 'Komunikat shared');
    await eventually(() => arrivals('shared').size >= 10, 60_000, 'the fan-out began');
    const asked = await shared.http.post('/api/subscriptions').send({ email: 'newcomer@example.pl', consent: true, topics: ['komunikaty'] });
    assert.ok(asked.status < 300, `subscription answered ${asked.status}`);
    await eventually(() => sink.to('newcomer@example.pl').length === 1, 60_000, 'the confirmation e-mail arrived');
    await assertDeliveredOnce('shared', N);
    assert.equal(postfixLogLines(/Connection concurrency limit exceeded/), refusedBefore, 'never more connections than the relay allows');
    // idle connections are closed after SMTP_IDLE_TIMEOUT_MS (Postfix logs each session's end)
    await allConnectionsClosed('every connection closed once idle');
    await retire(shared);
  }));
});
