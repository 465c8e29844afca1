import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { hashEmail } from '../src/core/email-address.ts';
import { importSubscribers } from '../src/core/subscriber-import.ts';
import { ADMIN_TOKEN, eventually, linkPath, startHarness, type Harness } from './helpers/harness.ts';
import { startSmtpServer, type TestSmtpServer } from './helpers/smtp.ts';
import { freePort } from './helpers/throwaway-servers.ts';

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of cleanup.reverse()) await close();
});

async function harness(env: Record<string, string> = {}): Promise<Harness> {
  const h = await startHarness({ label: 'outcomes', env });
  cleanup.push(() => h.close());
  return h;
}

let seq = 0;
async function publish(h: Harness, topic = 'komunikaty'): Promise<number> {
  seq += 1;
  const res = await h.http.post('/api/articles').set(admin).send({ url: `https://www.duw.pl/a/${seq}`, title: `Komunikat nr ${seq}`, topics: [topic] });
  assert.equal(res.status, 202);
  return res.body.id as number;
}

async function counts(h: Harness, id: number): Promise<Record<string, number>> {
  return (await h.http.get(`/api/articles/${id}`).set(admin)).body.delivery;
}

function seed(h: Harness, prefix: string, n: number, topic = 'komunikaty') {
  return importSubscribers(h.deps.pool, Array.from({ length: n }, (_, i) => ({ email: `${prefix}${i}@example.pl`, topics: topic })));
}

describe('SMTP outcomes', () => {
  it('sends one e-mail after two 451 replies', async () => {
    const h = await harness();
    await seed(h, 'greylisted', 1);
    let tries = 0;
    h.smtp.onRecipient = () => (++tries <= 2 ? { ok: false, code: 451, message: '4.7.1 Greylisted, try later' } : { ok: true });
    const id = await publish(h);
    await eventually(async () => (await counts(h, id)).sent === 1, 15_000, 'sent after greylisting');
    assert.equal(tries, 3);
    assert.equal(h.smtp.to('greylisted0@example.pl').length, 1);
  });

  it('marks a 550 5.1.1 failed and suppresses the address; a 5.7.1 fails without suppressing', async () => {
    const h = await harness();
    await importSubscribers(h.deps.pool, [
      { email: 'gone@example.pl', topics: 'komunikaty' },
      { email: 'blocked@example.pl', topics: 'komunikaty' },
      { email: 'fine@example.pl', topics: 'komunikaty' },
    ]);
    h.smtp.onRecipient = (address) =>
      address === 'gone@example.pl'
        ? { ok: false, code: 550, message: '5.1.1 User unknown' }
        : address === 'blocked@example.pl'
          ? { ok: false, code: 550, message: '5.7.1 Message rejected by policy' }
          : { ok: true };
    const id = await publish(h);
    await eventually(async () => (await counts(h, id)).failed === 2, 15_000, 'two failures');
    assert.deepEqual(await counts(h, id), { recipients: 3, sent: 1, failed: 2, pending: 0, suppressed: 0 });
    const { rows } = await h.db.pool.query('SELECT email_hash, reason FROM suppressions');
    assert.deepEqual(rows, [{ email_hash: hashEmail('gone@example.pl'), reason: 'hard_bounce' }]);
  });

  it('backs off while the SMTP server is down and delivers everything once when it is back', async () => {
    const port = await freePort();
    const h = await harness({ SMTP_URL: `smtp://127.0.0.1:${port}` });
    await seed(h, 'patient', 40);
    const id = await publish(h);
    await new Promise((r) => setTimeout(r, 1500));
    const { rows } = await h.db.pool.query<{ max: number }>('SELECT max(attempts)::int AS max FROM deliveries WHERE article_id = $1', [id]);
    assert.equal((await counts(h, id)).pending, 40);
    const smtp: TestSmtpServer = await startSmtpServer(port);
    cleanup.push(() => smtp.close());
    await eventually(async () => (await counts(h, id)).sent === 40, 30_000, 'all sent after the server came back');
    assert.equal(smtp.received.length, 40);
    assert.equal(new Set(smtp.received.map((m) => m.to[0])).size, 40);
    // the queue was paused as a whole: jobs did not burn their SEND_ATTEMPTS meanwhile
    const failedJobs = await h.deps.queues.send.getFailedCount();
    assert.equal(failedJobs, 0);
    assert.ok(rows[0]!.max < 8, `claims while down: ${rows[0]!.max}`);
  });

  it('sends nothing to a subscriber who unsubscribes during the fan-out', async () => {
    const h = await harness({ SEND_RATE: '100' });
    await seed(h, 'slow', 300);
    const { rows } = await h.db.pool.query<{ id: number }>("SELECT id FROM subscribers WHERE email = 'slow299@example.pl'");
    const leaver = rows[0]!.id;
    const id = await publish(h);
    await h.smtp.waitFor(1, 10_000);
    const res = await h.http.post(linkPath(h.deps.links.unsubscribe(leaver))).type('form').send('List-Unsubscribe=One-Click');
    assert.ok(res.status < 300);
    await eventually(async () => (await counts(h, id)).pending === 0, 20_000, 'fan-out finished');
    assert.equal(h.smtp.to('slow299@example.pl').length, 0);
    assert.deepEqual(await counts(h, id), { recipients: 300, sent: 299, failed: 0, pending: 0, suppressed: 1 });
  });
});

describe('DKIM', () => {
  it('signs notifications with a signature covering both unsubscribe headers', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const h = await harness({ DKIM_DOMAIN: 'duw.example', DKIM_SELECTOR: 'powiadom', DKIM_PRIVATE_KEY: pem });
    await seed(h, 'signed', 1);
    await publish(h);
    const mail = await eventually(() => h.smtp.received.find((m) => /notification-/.test(m.raw)), 15_000, 'signed notification');
    const signature = /^DKIM-Signature:([^]*?)\r?\n(?=\S)/m.exec(mail.raw)?.[1]?.replace(/\s+/g, '') ?? '';
    assert.match(signature, /d=duw\.example/);
    assert.match(signature, /s=powiadom/);
    const signed = /;h=([^;]+)/.exec(signature)![1]!.toLowerCase().split(':');
    for (const header of ['from', 'to', 'subject', 'message-id', 'list-unsubscribe', 'list-unsubscribe-post', 'list-id']) assert.ok(signed.includes(header), header);
  });
});
