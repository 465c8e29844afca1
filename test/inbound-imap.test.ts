import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { hashEmail } from '../src/core/email-address.ts';
import { ImapPoller, POISON_ATTEMPTS } from '../src/inbound/imap-poller.ts';
import { startImapPoller } from '../src/inbound/start-poller.ts';
import { startDovecot, type ThrowawayDovecot } from './helpers/dovecot.ts';
import { eventually, startHarness, type Harness } from './helpers/harness.ts';
import { arfComplaint, exchangeNdr, garbage, gmailBounce, mailtoUnsubscribe, outOfOffice, postfixDsn } from './helpers/inbound-mail.ts';

const DONE = 'Powiadom/Przetworzone';
const UNKNOWN = 'Powiadom/Nierozpoznane';

let h: Harness;
let dovecot: ThrowawayDovecot;
let counter = 0;

before(async () => {
  dovecot = await startDovecot();
  h = await startHarness({ label: 'inbound_imap', workers: false, env: { BOUNCE_ADDRESS: 'bounces@duw.example', SOFT_BOUNCE_LIMIT: '2' } });
});
after(async () => {
  await h?.close();
  await dovecot?.destroy();
});

function poller(): ImapPoller {
  const settings = { url: dovecot.url, pollIntervalMs: 60_000, doneFolder: DONE, unknownFolder: UNKNOWN };
  return new ImapPoller(settings, h.deps.inbound, h.deps.verp, h.deps.log);
}

async function pollOnce(): Promise<number> {
  const p = poller();
  try {
    return await p.pollOnce();
  } finally {
    await p.close();
  }
}

/** An active subscriber with one sent notification; returns the ids and the bounce fields. */
async function subscriberWithDelivery(email: string) {
  const n = ++counter;
  const { rows: [s] } = await h.db.pool.query<{ id: number }>("INSERT INTO subscribers (email, status, lang, confirmed_at) VALUES ($1, 'active', 'pl', now()) RETURNING id", [email]);
  await h.db.pool.query("INSERT INTO consents (subscriber_id, source, consent_text_version, confirmed_at) VALUES ($1, 'form', 'v1', now())", [s!.id]);
  const { rows: [a] } = await h.db.pool.query<{ id: number }>("INSERT INTO articles (guid, url, title, topics) VALUES ($1, 'https://duw.example/a', 'Komunikat', '{komunikaty}') RETURNING id", [`guid-${n}-${email}`]);
  const { rows: [d] } = await h.db.pool.query<{ id: number }>("INSERT INTO deliveries (article_id, subscriber_id, status, sent_at) VALUES ($1, $2, 'sent', now()) RETURNING id", [a!.id, s!.id]);
  const fields = {
    to: h.deps.verp!.address({ kind: 'notification', id: d!.id }),
    recipient: email,
    originalId: `notification-${a!.id}-${d!.id}@duw.example`,
    messageId: `report-${n}-${Date.now()}@mx.example`,
  };
  return { subscriberId: s!.id, deliveryId: d!.id, fields };
}

/** An active daily subscriber with one sent digest (a digest ledger row); returns the ids and the bounce fields. */
async function subscriberWithDigest(email: string) {
  const n = ++counter;
  const { rows: [s] } = await h.db.pool.query<{ id: number }>("INSERT INTO subscribers (email, status, lang, frequency, confirmed_at) VALUES ($1, 'active', 'pl', 'daily', now()) RETURNING id", [email]);
  const { rows: [r] } = await h.db.pool.query<{ id: number }>("INSERT INTO digest_runs (frequency, trigger, fanout_status) VALUES ('daily', 'manual', 'done') RETURNING id");
  const { rows: [d] } = await h.db.pool.query<{ id: number }>("INSERT INTO digest_deliveries (run_id, subscriber_id, status, sent_at) VALUES ($1, $2, 'sent', now()) RETURNING id", [r!.id, s!.id]);
  const fields = {
    to: h.deps.verp!.address({ kind: 'digest', id: d!.id }),
    recipient: email,
    originalId: `digest-${r!.id}-${d!.id}@duw.example`,
    messageId: `digest-report-${n}-${Date.now()}@mx.example`,
  };
  return { subscriberId: s!.id, deliveryId: d!.id, fields };
}

/** The digest ledger row and the address's suppression. */
async function digestState(deliveryId: number, email: string) {
  const { rows: [d] } = await h.db.pool.query<{ status: string; last_error: string | null }>('SELECT status, last_error FROM digest_deliveries WHERE id = $1', [deliveryId]);
  const { rows: [sup] } = await h.db.pool.query<{ reason: string }>('SELECT reason FROM suppressions WHERE email_hash = $1', [hashEmail(email)]);
  return { delivery: d!.status, error: d!.last_error, suppression: sup?.reason ?? null };
}

async function state(subscriberId: number, deliveryId: number, email: string) {
  const { rows: [s] } = await h.db.pool.query<{ status: string }>('SELECT status FROM subscribers WHERE id = $1', [subscriberId]);
  const { rows: [d] } = await h.db.pool.query<{ status: string; last_error: string | null }>('SELECT status, last_error FROM deliveries WHERE id = $1', [deliveryId]);
  const { rows: [sup] } = await h.db.pool.query<{ reason: string }>('SELECT reason FROM suppressions WHERE email_hash = $1', [hashEmail(email)]);
  const { rows: [c] } = await h.db.pool.query<{ withdraw_method: string | null }>('SELECT withdraw_method FROM consents WHERE subscriber_id = $1', [subscriberId]);
  return { subscriber: s!.status, delivery: d!.status, error: d!.last_error, suppression: sup?.reason ?? null, withdrawn: c?.withdraw_method ?? null };
}

describe('reading the bounce mailbox (real Dovecot, IMAP APPEND)', () => {
  it('acts on each kind of message and files it in the right folder', async () => {
    const postfix = await subscriberWithDelivery('jan@example.pl');
    const exchange = await subscriberWithDelivery('anna@urzad.example');
    const gmail = await subscriberWithDelivery('piotr@gmail.example');
    const arf = await subscriberWithDelivery('ewa@example.pl');
    const mailto = await subscriberWithDelivery('adam@example.pl');
    const away = await subscriberWithDelivery('urlop@example.pl');
    await dovecot.append(postfixDsn(postfix.fields));
    // Exchange's report goes to the plain bounce address: matched by the quoted Message-ID
    await dovecot.append(exchangeNdr({ ...exchange.fields, to: 'bounces@duw.example' }));
    await dovecot.append(gmailBounce(gmail.fields));
    await dovecot.append(arfComplaint(arf.fields));
    await dovecot.append(mailtoUnsubscribe(h.deps.signer.sign('unsubscribe', mailto.subscriberId), 'unsub-1@forward.example'));
    await dovecot.append(mailtoUnsubscribe(`${h.deps.signer.sign('unsubscribe', mailto.subscriberId).slice(0, -2)}AA`, 'unsub-forged@forward.example'));
    await dovecot.append(outOfOffice('ooo-1@example.pl'));
    await dovecot.append(garbage('garbage-1@example.pl'));

    assert.equal(await pollOnce(), 8);

    const hard = await state(postfix.subscriberId, postfix.deliveryId, 'jan@example.pl');
    assert.deepEqual({ ...hard, error: undefined }, { subscriber: 'active', delivery: 'failed', error: undefined, suppression: 'hard_bounce', withdrawn: null });
    assert.match(hard.error!, /^bounce 5\.1\.1: .*j\*\*\*@example\.pl/);
    assert.doesNotMatch(hard.error!, /jan@example\.pl/, 'the diagnostic is stored with the address masked');
    assert.equal((await state(exchange.subscriberId, exchange.deliveryId, 'anna@urzad.example')).suppression, 'hard_bounce');
    assert.equal((await state(exchange.subscriberId, exchange.deliveryId, 'anna@urzad.example')).delivery, 'failed');
    const policy = await state(gmail.subscriberId, gmail.deliveryId, 'piotr@gmail.example');
    assert.deepEqual([policy.delivery, policy.suppression], ['failed', null], 'a 5.7.1 policy rejection fails the delivery but keeps the address');
    assert.deepEqual(await state(arf.subscriberId, arf.deliveryId, 'ewa@example.pl'), { subscriber: 'unsubscribed', delivery: 'sent', error: null, suppression: 'complaint', withdrawn: 'complaint' });
    const unsub = await state(mailto.subscriberId, mailto.deliveryId, 'adam@example.pl');
    assert.deepEqual([unsub.subscriber, unsub.withdrawn, unsub.suppression], ['unsubscribed', 'mailto', null]);
    assert.equal((await state(away.subscriberId, away.deliveryId, 'urlop@example.pl')).subscriber, 'active');

    assert.deepEqual(await dovecot.subjects('INBOX'), []);
    assert.deepEqual(await dovecot.subjects(DONE), ['Automatic reply: Komunikat', 'Delivery Status Notification (Failure)', 'FW: Komunikat', 'Undeliverable: Komunikat', 'Undelivered Mail Returned to Sender', 'unsubscribe ' + h.deps.signer.sign('unsubscribe', mailto.subscriberId)].sort());
    const unknown = await dovecot.subjects(UNKNOWN);
    assert.equal(unknown.length, 2, 'the forged token and the question are left for a person');
    assert.ok(unknown.includes('Pytanie o godziny otwarcia'));
  });

  it('records soft bounces and suppresses at SOFT_BOUNCE_LIMIT', async () => {
    const soft = await subscriberWithDelivery('pelna@example.pl');
    await dovecot.append(postfixDsn({ ...soft.fields, messageId: 'soft-1@mx.example' }, '4.2.2', 'delayed', 'Delayed Mail (still being retried)'));
    await pollOnce();
    assert.deepEqual([(await state(soft.subscriberId, soft.deliveryId, 'pelna@example.pl')).suppression], [null]);
    await dovecot.append(postfixDsn({ ...soft.fields, messageId: 'soft-2@mx.example' }, '4.2.2', 'delayed', 'Delayed Mail (still being retried)'));
    await pollOnce();
    const after = await state(soft.subscriberId, soft.deliveryId, 'pelna@example.pl');
    assert.deepEqual([after.suppression, after.delivery], ['hard_bounce', 'sent'], 'the second soft bounce in the window suppresses; a delay does not fail the delivery');
  });

  it('matches bounces of digests to the digest ledger: VERP d<id>, or the quoted digest Message-ID', async () => {
    // a digest delivery id that is also a notification delivery id: the VERP letter decides which ledger
    await h.db.pool.query("SELECT setval(pg_get_serial_sequence('digest_deliveries', 'id'), (SELECT max(id) + 100 FROM deliveries))");
    const hard = await subscriberWithDigest('digest-twardy@example.pl');
    await h.db.pool.query("SELECT setval(pg_get_serial_sequence('deliveries', 'id'), $1, false)", [hard.deliveryId]);
    const other = await subscriberWithDelivery('inny@example.pl');
    assert.equal(other.deliveryId, hard.deliveryId);
    const exchange = await subscriberWithDigest('digest-exchange@urzad.example');
    const policy = await subscriberWithDigest('digest-polityka@gmail.example');
    await dovecot.append(postfixDsn({ ...hard.fields, recipient: 'przekierowany@example.pl' }, '5.1.1', 'failed', 'Digest hard'));
    await dovecot.append(exchangeNdr({ ...exchange.fields, to: 'bounces@duw.example' }));
    await dovecot.append(gmailBounce(policy.fields));
    assert.equal(await pollOnce(), 3);

    const hardState = await digestState(hard.deliveryId, 'digest-twardy@example.pl');
    assert.deepEqual([hardState.delivery, hardState.suppression], ['failed', 'hard_bounce'], 'the address of the digest delivery is suppressed, not the one the report names');
    assert.match(hardState.error!, /^bounce 5\.1\.1: .*p\*\*\*@example\.pl/);
    assert.doesNotMatch(hardState.error!, /przekierowany@/, 'the diagnostic is stored with the address masked');
    assert.equal((await digestState(hard.deliveryId, 'przekierowany@example.pl')).suppression, null);
    assert.deepEqual((await state(other.subscriberId, other.deliveryId, 'inny@example.pl')).delivery, 'sent', 'the notification with the same id is untouched');
    const exchangeState = await digestState(exchange.deliveryId, 'digest-exchange@urzad.example');
    assert.deepEqual([exchangeState.delivery, exchangeState.suppression], ['failed', 'hard_bounce'], 'matched by the quoted digest Message-ID');
    const policyState = await digestState(policy.deliveryId, 'digest-polityka@gmail.example');
    assert.deepEqual([policyState.delivery, policyState.suppression], ['failed', null], 'a 5.7.1 policy rejection fails the digest delivery but keeps the address');
    assert.deepEqual(await dovecot.subjects('INBOX'), []);
  });

  it('counts soft bounces of digests towards SOFT_BOUNCE_LIMIT', async () => {
    const soft = await subscriberWithDigest('digest-pelna@example.pl');
    await dovecot.append(postfixDsn({ ...soft.fields, recipient: 'x', messageId: 'digest-soft-1@mx.example' }, '4.2.2', 'delayed', 'Digest delayed'));
    await pollOnce();
    assert.deepEqual(await digestState(soft.deliveryId, 'digest-pelna@example.pl'), { delivery: 'sent', error: null, suppression: null });
    await dovecot.append(postfixDsn({ ...soft.fields, recipient: 'x', messageId: 'digest-soft-2@mx.example' }, '4.2.2', 'delayed', 'Digest delayed'));
    await pollOnce();
    assert.deepEqual(await digestState(soft.deliveryId, 'digest-pelna@example.pl'), { delivery: 'sent', error: null, suppression: 'hard_bounce' }, 'the second soft bounce of the digest address suppresses it');
  });

  it('processes a message seen again (same Message-ID) only once', async () => {
    const twice = await subscriberWithDelivery('dwa@example.pl');
    const fields = { ...twice.fields, messageId: 'again-1@mx.example' };
    await dovecot.append(postfixDsn(fields, '4.2.2', 'delayed', 'Delayed twice'));
    await dovecot.append(postfixDsn(fields, '4.2.2', 'delayed', 'Delayed twice'));
    assert.equal(await pollOnce(), 2);
    const { rows } = await h.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM inbound_messages WHERE soft AND email_hash = $1", [hashEmail('dwa@example.pl')]);
    assert.equal(rows[0]!.n, 1);
    assert.equal((await state(twice.subscriberId, twice.deliveryId, 'dwa@example.pl')).suppression, null, 'one soft bounce, below the limit of 2');
  });

  it('acts once when the process is killed between the commit and the move', async () => {
    const killed = await subscriberWithDelivery('zabity@example.pl');
    await dovecot.append(postfixDsn({ ...killed.fields, messageId: 'crash-1@mx.example' }, '4.2.2', 'delayed', 'Crash test'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/inbound-crash-child.ts'], {
      env: { ...process.env, DATABASE_URL: h.db.url, IMAP_URL: dovecot.url, SECRET: h.config.SECRET, BOUNCE_ADDRESS: 'bounces@duw.example' },
      stdio: 'ignore',
    });
    const signal = await new Promise((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
    assert.equal(signal, 'SIGKILL');
    assert.deepEqual(await dovecot.subjects('INBOX'), ['Crash test'], 'killed before the move: still in the inbox');
    const { rows: [row] } = await h.db.pool.query<{ outcome: string }>("SELECT outcome FROM inbound_messages WHERE message_key = 'imap:<crash-1@mx.example>'");
    assert.equal(row!.outcome, 'soft', 'the effect was committed');

    await pollOnce();
    assert.deepEqual(await dovecot.subjects('INBOX'), []);
    assert.ok((await dovecot.subjects(DONE)).includes('Crash test'));
    const { rows: [again] } = await h.db.pool.query<{ attempts: number; n: number }>(
      "SELECT attempts, (SELECT count(*)::int FROM inbound_messages WHERE soft AND email_hash = $1) AS n FROM inbound_messages WHERE message_key = 'imap:<crash-1@mx.example>'",
      [hashEmail('zabity@example.pl')],
    );
    assert.deepEqual(again, { attempts: 1, n: 1 });
    assert.ok(h.logs.some((l) => l.includes('"outcome":"duplicate"')), 'the second pass saw it processed');
  });

  it('sets a poison message aside after a few failures without blocking the ones behind it', async () => {
    // A message whose processing throws: its subscriber's row is locked by a transaction that never ends,
    // so the lock timeout fails it every time.
    const stuck = await subscriberWithDelivery('zablokowany@example.pl');
    const ok = await subscriberWithDelivery('nastepny@example.pl');
    await dovecot.append(postfixDsn({ ...stuck.fields, messageId: 'poison-1@mx.example' }, '5.1.1', 'failed', 'Poison'));
    await dovecot.append(postfixDsn({ ...ok.fields, messageId: 'after-poison@mx.example' }, '5.1.1', 'failed', 'After poison'));
    const locker = await h.db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE', [stuck.deliveryId]);
      await h.db.pool.query(`ALTER DATABASE ${h.db.name} SET lock_timeout = '200ms'`);
      for (let i = 0; i < POISON_ATTEMPTS; i++) await pollOnceFresh();
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
      await h.db.pool.query(`ALTER DATABASE ${h.db.name} RESET lock_timeout`);
    }
    assert.equal((await state(ok.subscriberId, ok.deliveryId, 'nastepny@example.pl')).suppression, 'hard_bounce', 'the message behind the poison one was processed in the first pass');
    assert.equal((await state(stuck.subscriberId, stuck.deliveryId, 'zablokowany@example.pl')).suppression, null);
    assert.ok((await dovecot.subjects(UNKNOWN)).includes('Poison'));
    assert.deepEqual(await dovecot.subjects('INBOX'), []);
  });

  it('processes new mail at once through IMAP IDLE, long before the next poll', async () => {
    const idle = await subscriberWithDelivery('idle@example.pl');
    const polls: boolean[] = [];
    const config = { ...h.config, INBOUND_IMAP_URL: dovecot.url, INBOUND_POLL_INTERVAL_MS: 3_600_000 };
    const p = startImapPoller({ ...h.deps, config }, { onPoll: (r) => polls.push(r.ok) })!;
    try {
      await eventually(() => polls.includes(true), 60_000, 'a first pass');
      await dovecot.append(postfixDsn({ ...idle.fields, messageId: 'idle-1@mx.example' }, '5.1.1', 'failed', 'Idle'));
      await eventually(async () => (await state(idle.subscriberId, idle.deliveryId, 'idle@example.pl')).suppression === 'hard_bounce', 90_000, 'the bounce processed without waiting an hour');
    } finally {
      await p.close();
    }
  });

  it('catches up after the mailbox was unavailable for a while', async () => {
    const late = await subscriberWithDelivery('pozno@example.pl');
    const polls: boolean[] = [];
    const config = { ...h.config, INBOUND_IMAP_URL: dovecot.url, INBOUND_POLL_INTERVAL_MS: 200 };
    const p = startImapPoller({ ...h.deps, config }, { onPoll: (r) => polls.push(r.ok) })!;
    try {
      await eventually(() => polls.includes(true), 60_000, 'a first pass');
      await dovecot.stop();
      await eventually(() => polls.at(-1) === false, 60_000, 'a failed pass while the server is down');
      await dovecot.start();
      await dovecot.append(postfixDsn({ ...late.fields, messageId: 'late-1@mx.example' }, '5.1.1', 'failed', 'Late'));
      await eventually(async () => (await state(late.subscriberId, late.deliveryId, 'pozno@example.pl')).suppression === 'hard_bounce', 60_000, 'the bounce processed after the outage');
      await eventually(async () => (await dovecot.subjects(DONE)).includes('Late'), 60_000, 'the message moved');
    } finally {
      await p.close();
    }
    const { rows: [status] } = await h.db.pool.query<{ last_ok_at: Date | null; last_error: string | null }>("SELECT last_ok_at, last_error FROM inbound_mailbox_status WHERE mailbox = 'imap'");
    assert.ok(status!.last_ok_at);
  });
});

/** A pass with a new pool session, so the database's lock_timeout applies. */
async function pollOnceFresh(): Promise<void> {
  const { createInboundService } = await import('../src/inbound/inbound-setup.ts');
  const { createPool } = await import('../src/db/pool.ts');
  const pool = createPool(h.db.url, 2);
  const service = createInboundService(h.config, pool, h.deps.signer, h.deps.log);
  const p = new ImapPoller({ url: dovecot.url, pollIntervalMs: 60_000, doneFolder: DONE, unknownFolder: UNKNOWN }, service, h.deps.verp, h.deps.log);
  try {
    await p.pollOnce();
  } finally {
    await p.close();
    await pool.end();
  }
}
