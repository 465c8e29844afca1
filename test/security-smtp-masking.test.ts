import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { importSubscribers } from '../src/core/subscriber-import.ts';
import { maskAddresses, maskSmtpError } from '../src/mail/mask-addresses.ts';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from './helpers/harness.ts';
import { TEST_REDIS_URL } from './helpers/redis.ts';

// Issue 10 item 3: relays quote the recipient in their replies; no full address may reach logs, Redis,
// the ledger or API answers, and erasure clears what names the person.
const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const REFUSED = 'odrzucony.adresat@example.pl';
const LATER = 'pozniej.adresat@example.pl';
const UNKNOWN = 'nieznany.adresat@example.pl';
const addresses = [REFUSED, LATER, UNKNOWN];

/** Every string value stored under the harness's queue prefix in Redis. */
async function redisText(prefix: string): Promise<string> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  const out: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        if (type === 'hash') out.push(JSON.stringify(await redis.hgetall(key)));
        else if (type === 'list') out.push(JSON.stringify(await redis.lrange(key, 0, -1)));
        else if (type === 'zset') out.push(JSON.stringify(await redis.zrange(key, 0, -1)));
        else if (type === 'set') out.push(JSON.stringify(await redis.smembers(key)));
        else if (type === 'string') out.push((await redis.get(key)) ?? '');
        else if (type === 'stream') out.push(JSON.stringify(await redis.xrange(key, '-', '+')));
        out.push(key);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return out.join('\n');
}

describe('masking addresses in SMTP reply texts', () => {
  it('masks every address a reply quotes and keeps the codes', () => {
    assert.equal(maskAddresses('550 5.1.1 <jan.kowalski@example.pl>: Recipient address rejected'), '550 5.1.1 <j***@example.pl>: Recipient address rejected');
    assert.equal(maskAddresses('to=Jan+x@Example.PL, from=<łucja@urząd.example.pl>'), 'to=J***@Example.PL, from=<ł***@urząd.example.pl>');
    const err = Object.assign(new Error('Can\'t send mail - all recipients were rejected: 550 5.1.1 <a.b@c.pl>: unknown'), {
      responseCode: 550, response: '550 5.1.1 <a.b@c.pl>: unknown', rejected: ['a.b@c.pl'], code: 'EENVELOPE',
    });
    maskSmtpError(err);
    assert.ok(![err.message, err.stack, err.response, ...err.rejected].some((t) => t!.includes('a.b@c.pl')));
    assert.equal(err.responseCode, 550);
    assert.match(err.response, /^550 5\.1\.1 <a\*\*\*@c\.pl>/);
  });
});

describe('SMTP replies that quote the recipient', () => {
  let h: Harness;
  let articleId: number;
  before(async () => {
    h = await startHarness({ label: 'smtpmask', env: { SEND_ATTEMPTS: '2', SEND_BACKOFF_MS: '100' } });
    h.smtp.onRecipient = (address) => {
      if (address === REFUSED) return { ok: false, code: 550, message: `5.7.1 <${address}>: Recipient address rejected: Access denied` };
      if (address === LATER) return { ok: false, code: 450, message: `4.2.0 <${address}>: Recipient address rejected: try again later` };
      if (address === UNKNOWN) return { ok: false, code: 550, message: `5.1.1 <${address}>: Recipient address rejected: User unknown` };
      return { ok: true };
    };
    await importSubscribers(h.deps.pool, [
      { email: REFUSED, topics: 'dla-mediow' },
      { email: LATER, topics: 'dla-mediow' },
      { email: 'przyjety@example.pl', topics: 'dla-mediow' },
    ]);
  });
  after(async () => {
    await h.close();
  });

  it('leaves no full address in logs, Redis or the ledger when a notification and a confirmation are refused', async () => {
    const res = await h.http.post('/api/articles').set(admin).send({ url: 'https://www.duw.pl/a/1', title: 'Komunikat', topics: ['dla-mediow'] });
    assert.equal(res.status, 202);
    articleId = res.body.id;
    await h.http.post('/api/subscriptions').send({ email: UNKNOWN, consent: true });
    await eventually(async () => {
      const { rows } = await h.db.pool.query("SELECT count(*)::int AS n FROM deliveries WHERE article_id = $1 AND status = 'pending'", [articleId]);
      const failed = await h.deps.queues.email.getJobCounts('failed');
      return rows[0].n === 0 && failed.failed === 1;
    }, 120_000, 'both refused deliveries final and the confirmation failed');
    const { rows } = await h.db.pool.query('SELECT last_error FROM deliveries WHERE article_id = $1 AND last_error IS NOT NULL', [articleId]);
    assert.equal(rows.length, 2);
    assert.ok(rows.some((r) => r.last_error.includes('p***@example.pl')), 'the ledger keeps the reply, masked');
    const logs = h.logs.join('');
    assert.match(logs, /notification not accepted/);
    assert.match(logs, /e-mail not accepted/);
    assert.match(logs, /job failed/);
    assert.match(logs, /o\*\*\*@example\.pl/);
    const redis = await redisText(h.config.QUEUE_PREFIX);
    assert.match(redis, /n\*\*\*@example\.pl/, 'the failed confirmation job keeps the masked reply');
    const ledger = JSON.stringify((await h.db.pool.query('SELECT * FROM deliveries')).rows);
    const api = JSON.stringify((await h.http.get(`/api/articles/${articleId}`).set(admin)).body);
    for (const address of addresses) {
      for (const [where, text] of [['logs', logs], ['Redis', redis], ['ledger', ledger], ['API', api]] as const) {
        assert.ok(!text.toLowerCase().includes(address), `${where} hold no ${address}`);
      }
    }
  });

  it('erasure clears the ledger\'s error texts of the person and removes the failed jobs naming them', async () => {
    const ids = async (email: string) => (await h.http.get('/api/subscribers').query({ email }).set(admin)).body[0].id as number;
    const refused = await ids(REFUSED);
    const unknown = await ids(UNKNOWN);
    assert.equal((await h.http.delete(`/api/subscribers/${refused}`).set(admin)).status < 300, true);
    assert.equal((await h.http.delete(`/api/subscribers/${unknown}`).set(admin)).status < 300, true);
    const { rows } = await h.db.pool.query('SELECT count(*)::int AS n FROM deliveries WHERE article_id = $1 AND last_error IS NOT NULL', [articleId]);
    assert.equal(rows[0].n, 1, 'only the error of the person who was not erased is left');
    const failed = await h.deps.queues.email.getJobs(['failed', 'completed']);
    assert.ok(!failed.some((j) => j?.id?.startsWith(`confirm-${unknown}-`)), 'the failed confirmation job is gone');
  });
});
