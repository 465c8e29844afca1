import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, eventually, findLink, linkPath, startHarness, type Harness } from './helpers/harness.ts';

// Issue 10 item 2: a withdrawal of consent survives a stranger's request, an import and the expiry job.
let h: Harness;
before(async () => {
  h = await startHarness({ label: 'consent' });
});
after(async () => {
  await h.close();
});

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

async function adminStatus(email: string): Promise<{ status: string; topics: string[]; lang: string } | undefined> {
  const res = await h.http.get('/api/subscribers').query({ email }).set(admin);
  assert.equal(res.status, 200);
  return (res.body.items ?? res.body)[0];
}

/** Subscribes, confirms and unsubscribes through the links in the e-mails; returns the mails seen so far. */
async function subscribeConfirmUnsubscribe(email: string): Promise<number> {
  await h.http.post('/api/subscriptions').send({ email, consent: true, topics: ['dla-mediow'] });
  const confirmation = await eventually(() => h.smtp.to(email)[0], 60_000, 'confirmation');
  await h.http.post(linkPath(findLink(confirmation.parsed.text, 'confirm'))).type('form').send({});
  const welcome = await eventually(() => h.smtp.to(email)[1], 60_000, 'welcome');
  const res = await h.http.post(new URL(findLink(welcome.parsed.text, 'unsubscribe')).pathname).type('form').send('List-Unsubscribe=One-Click');
  assert.equal(res.status, 200);
  assert.equal((await adminStatus(email))?.status, 'unsubscribed');
  return 2;
}

describe('a withdrawal of consent', () => {
  const bob = 'bob.withdrew@example.pl';
  let seen: number;

  before(async () => {
    seen = await subscribeConfirmUnsubscribe(bob);
  });

  it('stays "unsubscribed" after anyone\'s new subscription request', async () => {
    const res = await h.http.post('/api/subscriptions').send({ email: bob, consent: true, topics: ['komunikaty'], lang: 'en' });
    assert.equal(res.status, 202);
    const mail = await eventually(() => h.smtp.to(bob)[seen], 60_000, 'the new confirmation e-mail');
    assert.equal((await adminStatus(bob))?.status, 'unsubscribed');
    assert.deepEqual((await adminStatus(bob))?.topics, ['dla-mediow'], 'topics unchanged until confirmed');
    assert.match(mail.parsed.text ?? '', /confirm/i);
  });

  it('is not undone by an import: the row is skipped with its reason', async () => {
    const res = await h.http.post('/api/subscribers/import').set(admin).send([{ email: bob, topics: 'dla-mediow' }, { email: 'new.person@example.pl' }]);
    assert.equal(res.status, 200);
    assert.equal(res.body.updated, 0);
    assert.equal(res.body.created, 1);
    assert.equal(res.body.skipped, 1);
    assert.deepEqual(res.body.skippedRows, [{ row: 1, reason: 'the person withdrew consent (unsubscribed); only they can subscribe again' }]);
    assert.equal((await adminStatus(bob))?.status, 'unsubscribed');
  });

  it('is not undone by an import even when an old request had made the row pending', async () => {
    // rows made pending by a stranger before this fix: the withdrawn consent still protects them
    await h.db.pool.query("UPDATE subscribers SET status = 'pending', pending_since = now() WHERE email = $1", [bob]);
    const res = await h.http.post('/api/subscribers/import').set(admin).send([{ email: bob }]);
    assert.equal(res.body.skipped, 1);
    assert.equal(res.body.updated, 0);
    assert.equal((await adminStatus(bob))?.status, 'pending');
  });

  it('keeps its consent history through the expiry of unconfirmed requests', async () => {
    await h.db.pool.query("UPDATE subscribers SET pending_since = now() - interval '30 days' WHERE email = $1", [bob]);
    await h.deps.subscriptions.expirePending();
    const { rows } = await h.db.pool.query('SELECT c.withdrawn_at FROM consents c JOIN subscribers s ON s.id = c.subscriber_id WHERE s.email = $1', [bob]);
    assert.ok(rows.some((r) => r.withdrawn_at !== null), 'the withdrawal is still recorded');
    await h.db.pool.query("UPDATE subscribers SET status = 'unsubscribed', pending_since = NULL WHERE email = $1", [bob]);
  });

  it('ends only when the person uses the new confirmation link, with what that request asked for', async () => {
    const mail = h.smtp.to(bob)[seen]!;
    const confirmed = await h.http.post(linkPath(findLink(mail.parsed.text, 'confirm'))).type('form').send({});
    assert.equal(confirmed.status, 200);
    const now = await adminStatus(bob);
    assert.equal(now?.status, 'active');
    assert.deepEqual(now?.topics, ['komunikaty']);
    assert.equal(now?.lang, 'en');
  });

  it('an import skips suppressed addresses with their reason', async () => {
    const email = 'bounced@example.pl';
    assert.equal((await h.http.post('/api/suppressions').set(admin).send({ email, reason: 'hard_bounce' })).status < 300, true);
    const res = await h.http.post('/api/subscribers/import').set(admin).send([{ email }]);
    assert.equal(res.body.created, 0);
    assert.equal(res.body.skippedRows[0].reason, 'address is suppressed (bounce, complaint, erasure or operator)');
  });
});
