import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { importSubscribers } from '../../src/core/subscriber-import.ts';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from '../helpers/harness.ts';

// The test SMTP server answers beyond the mailer's timeout for a while, or drops connections mid-DATA.
const N = 800;
const TIMEOUT_MS = 800;
let h: Harness;
before(async () => {
  h = await startHarness({ label: 'smtpfault', env: { SMTP_TIMEOUT_MS: String(TIMEOUT_MS), SEND_BACKOFF_MS: '100' } });
  await importSubscribers(h.deps.pool, Array.from({ length: N }, (_, i) => ({ email: `smtp-${i}@example.pl`, topics: 'komunikaty' })));
});
after(async () => {
  await h?.close();
});

async function publish(title: string): Promise<number> {
  const res = await h.http.post('/api/articles').set({ Authorization: `Bearer ${ADMIN_TOKEN}` })
    .send({ url: `https://www.duw.pl/${encodeURIComponent(title)}`, title, topics: ['komunikaty'] });
  assert.equal(res.status, 202);
  return res.body.id as number;
}

async function ledger(articleId: number): Promise<{ sent: number; other: number; retried: number }> {
  const { rows } = await h.deps.pool.query<{ sent: number; other: number; retried: number }>(
    `SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent, count(*) FILTER (WHERE status <> 'sent')::int AS other,
            count(*) FILTER (WHERE attempts > 1)::int AS retried
     FROM deliveries WHERE article_id = $1`,
    [articleId],
  );
  return rows[0]!;
}

/** Addresses the SMTP server recorded for one article, duplicates included. */
function recipientsOf(articleId: number): string[] {
  return h.smtp.received.filter((m) => m.parsed.messageId?.startsWith(`<notification-${articleId}-`)).map((m) => m.to[0]!);
}

const UNAVAILABLE = '"server-unavailable":';

/** Runs a test body; when it fails, prints the harness's last log lines (CI keeps nothing else of them). */
function withLogTail(body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (err) {
      console.log(h.logs.slice(-40).map((line) => `# log: ${line.trimEnd()}`).join('\n'));
      throw err;
    }
  };
}

function logged(text: string): number {
  return h.logs.filter((line) => line.includes(text)).length;
}

describe('SMTP server very slow or dropping connections', () => {
  it('times out on replies slower than SMTP_TIMEOUT_MS, retries, loses nothing, and duplicates only messages accepted after the client gave up', withLogTail(async () => {
    const articleId = await publish('Wolny serwer poczty');
    await eventually(() => recipientsOf(articleId).length >= 50, 30_000, 'sending began');
    // Phase 1: the reply to the end of DATA comes after the timeout (the message is already taken).
    h.smtp.dataReplyDelayMs = TIMEOUT_MS * 2;
    await new Promise((r) => setTimeout(r, 2000));
    // Phase 2: new connections get their greeting after the timeout.
    h.smtp.dataReplyDelayMs = 0;
    h.smtp.greetingDelayMs = TIMEOUT_MS * 2;
    await new Promise((r) => setTimeout(r, 2000));
    h.smtp.greetingDelayMs = 0;

    await eventually(async () => (await ledger(articleId)).sent === N, 40_000, 'every delivery sent');
    await new Promise((r) => setTimeout(r, 500));
    const final = await ledger(articleId);
    assert.equal(final.other, 0, 'nothing failed or left pending');
    assert.ok(final.retried > 0, 'deliveries were claimed again after the timeouts');
    assert.ok(logged(UNAVAILABLE) > 0, 'sends failed as "server unavailable"');
    assert.ok(logged('pausing the send queue') > 0, 'the send queue backed off');

    const recipients = recipientsOf(articleId);
    assert.equal(new Set(recipients).size, N, 'every subscriber received it');
    // The in-flight bound: a message is sent twice only when the server took it and the client timed
    // out before its 250 came (at most one such message per pooled connection per timeout). The server
    // counts exactly those; every duplicate must be one of them.
    const inFlight = new Set(h.smtp.unacknowledged.map((m) => m.to[0]));
    // the client hangs up mid-transaction only when its timeout fires
    assert.ok(inFlight.size > 0, 'the mailer timed out waiting for the reply to DATA');
    const seen = new Set<string>();
    const duplicates = recipients.filter((r) => (seen.has(r) ? true : (seen.add(r), false)));
    assert.ok(duplicates.every((d) => inFlight.has(d)), `duplicates outside the in-flight set: ${duplicates.filter((d) => !inFlight.has(d)).join(', ')}`);
    assert.ok(duplicates.length <= h.smtp.unacknowledged.length);
    console.log(`# slow SMTP: ${logged(UNAVAILABLE)} sends failed as unavailable, ${final.retried} deliveries retried, ${h.smtp.unacknowledged.length} accepted after the client gave up, ${duplicates.length} duplicates`);
  }));

  it('retries after connections dropped mid-DATA and delivers each notification exactly once', withLogTail(async () => {
    const articleId = await publish('Zrywane połączenia');
    await eventually(() => recipientsOf(articleId).length >= 50, 30_000, 'sending began');
    const failedBefore = logged(UNAVAILABLE);
    h.smtp.dropsMidData = 6;
    await eventually(async () => (await ledger(articleId)).sent === N, 40_000, 'every delivery sent');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(h.smtp.dropped, 6, 'six connections were dropped mid-DATA');
    const final = await ledger(articleId);
    assert.equal(final.other, 0, 'nothing failed or left pending');
    assert.ok(final.retried > 0, 'the dropped messages were claimed again');
    assert.ok(logged(UNAVAILABLE) > failedBefore, 'the dropped connections failed sends as "server unavailable"');
    const recipients = recipientsOf(articleId);
    // a dropped message never reached the server's queue, so nothing is in flight: exactly once
    assert.equal(new Set(recipients).size, N, 'every subscriber received it');
    assert.equal(recipients.length, N, 'no duplicates');
  }));
});
