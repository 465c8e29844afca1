import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../src/config.ts';
import { importSubscribers } from '../src/core/subscriber-import.ts';
import { createDkimSigner, relaxedBody } from '../src/mail/dkim-signer.ts';
import { FilledMessage, toSlottedBytes } from '../src/mail/mime-template.ts';
import { createTestDkimKeys, passingSignatures, verdicts, type TestDkimKeys } from './helpers/dkim.ts';
import { ADMIN_TOKEN, childEnv, eventually, startHarness, type Harness } from './helpers/harness.ts';

// Every signature is checked by mailauth, an independent DKIM verifier, against the test key's TXT record.
const TITLE = 'Zażółć gęślą jaźń: komunikat Wojewody Dolnośląskiego w sprawie ćwiczeń służb ratowniczych na Odrze';
const SUMMARY = `Źródło: ${'Dolnośląski Urząd Wojewódzki informuje o utrudnieniach — ul. Świętego Mikołaja, Łódź, Kraków.  '.repeat(12)}`;
const BOTH = ['ed25519-sha256', 'rsa-sha256'];
const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of cleanup.reverse()) await close();
});

let seq = 0;
async function publish(h: Harness, n: number, prefix: string): Promise<number> {
  await importSubscribers(h.deps.pool, Array.from({ length: n }, (_, i) => ({ email: `${prefix}${i}@example.pl`, topics: 'komunikaty' })));
  seq += 1;
  const res = await h.http.post('/api/articles').set({ Authorization: `Bearer ${ADMIN_TOKEN}` })
    .send({ url: `https://www.duw.pl/dkim/${seq}`, title: TITLE, summary: SUMMARY, topics: ['komunikaty'] });
  assert.equal(res.status, 202);
  return res.body.id as number;
}

async function assertSigned(raw: string, keys: TestDkimKeys, what: string): Promise<void> {
  assert.deepEqual(await passingSignatures(raw, keys), BOTH, `${what}: ${await verdicts(raw, keys)}`);
}

function signedHeaders(raw: string): string[] {
  const field = /^DKIM-Signature:[^]*?\r\n(?=\S)/m.exec(raw)![0].replace(/\s+/g, '');
  return /;h=([^;]+)/.exec(field)![1]!.split(':');
}

describe('DKIM signer', () => {
  const keys = createTestDkimKeys();
  const signer = createDkimSigner(parseConfig({ NODE_ENV: 'test', SECRET: 'x'.repeat(40), ...keys.env }))!;
  const message = [
    'From: =?UTF-8?B?RG9sbm/Fm2zEhXNraQ==?= <powiadom@duw.example>',
    'To: anna@example.pl',
    'Reply-To: sekretariat@duw.example',
    `Subject: =?UTF-8?B?${Buffer.from('Zażółć gęślą jaźń').toString('base64')}?=\r\n =?UTF-8?B?${Buffer.from(' — ciąg dalszy').toString('base64')}?=`,
    'Date: Wed, 02 Dec 2026 11:00:00 +0000',
    'Message-ID: <unit-1@duw.example>',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Linia   z  wieloma\tspacjami i znakami: zażółć  \r\n${'długa linia '.repeat(120)}\r\n\r\n\r\n`,
  ].join('\r\n');

  it('signs a message that an independent verifier accepts with both keys', async () => {
    await assertSigned(signer.sign(message).toString('utf8'), keys, 'unit message');
  });

  it('signs a filled template (the fast path) with its precomputed body hash, whitespace around the slots included', async () => {
    const head = 'From: powiadom@duw.example\r\nTo: ';
    const text = `\r\nSubject: Zażółć\r\nMessage-ID: <t@duw.example>\r\n\r\nLinia  z   odstępami \r\nlink: `;
    const tail = ` \t koniec  \r\n${'długa linia '.repeat(100)}\r\n\r\n\r\n`;
    const template = toSlottedBytes({ parts: [head, text, tail], slots: ['to', 'token'] });
    for (const token of ['abcDEF123-_', 'x']) {
      const filled = new FilledMessage(template, { to: 'anna@example.pl', token });
      await assertSigned(signer.sign(filled).toBuffer().toString('utf8'), keys, `token ${token}`);
    }
    // a value with whitespace takes the generic path, and still verifies
    await assertSigned(signer.sign(new FilledMessage(template, { to: 'anna@example.pl', token: 'a b' })).toBuffer().toString('utf8'), keys, 'spaced value');
  });

  it('signs Reply-To and oversigns From and Subject', () => {
    const h = signedHeaders(signer.sign(message).toString('utf8'));
    assert.deepEqual(h.filter((n) => n === 'from').length, 2);
    assert.deepEqual(h.filter((n) => n === 'subject').length, 2);
    assert.ok(h.includes('reply-to'));
  });

  it('a changed subject or an added From breaks the signature', async () => {
    const signed = signer.sign(message).toString('utf8');
    assert.deepEqual(await passingSignatures(signed.replace('Subject: =?UTF-8?B?', 'Subject: =?UTF-8?B?QQ'), keys), []);
    assert.deepEqual(await passingSignatures(signed.replace('\r\n\r\n', '\r\nFrom: oszust@example.com\r\n\r\n'), keys), []);
  });

  it('canonicalises a body as RFC 6376 relaxed', () => {
    assert.equal(relaxedBody(' C \r\nD \t E\r\n\r\n\r\n'), ' C\r\nD E\r\n');
    assert.equal(relaxedBody(''), '');
    assert.equal(relaxedBody('\r\n\r\n'), '');
  });
});

describe('DKIM on every send path', () => {
  const keys = createTestDkimKeys();
  let h: Harness;
  before(async () => {
    h = await startHarness({ label: 'dkim', env: { ...keys.env, MAIL_REPLY_TO: 'Sekretariat Wojewody <sekretariat@duw.example>' } });
    cleanup.push(() => h.close());
  });

  it('signs notifications from the fast path (main thread) with Polish subjects and long lines', async () => {
    const id = await publish(h, 5, 'main');
    const mails = await eventually(() => {
      const found = h.smtp.received.filter((m) => m.parsed.messageId?.startsWith(`<notification-${id}-`));
      return found.length === 5 ? found : null;
    }, 60_000, 'five notifications');
    for (const mail of mails) await assertSigned(mail.raw, keys, mail.to[0]!);
    assert.equal(mails[0]!.parsed.subject, TITLE);
    assert.ok(signedHeaders(mails[0]!.raw).includes('reply-to'));
    assert.ok(signedHeaders(mails[0]!.raw).includes('list-unsubscribe-post'));
  });

  it('signs transactional e-mails with the same signer', async () => {
    const res = await h.http.post('/api/subscriptions').send({ email: 'lucja.nowak@example.pl', consent: true });
    assert.ok(res.status < 300);
    const mail = await eventually(() => h.smtp.to('lucja.nowak@example.pl')[0], 60_000, 'the confirmation e-mail');
    await assertSigned(mail.raw, keys, 'confirmation');
    assert.ok(signedHeaders(mail.raw).includes('reply-to'));
  });
});

describe('DKIM in a sender thread', () => {
  const keys = createTestDkimKeys();
  let h: Harness;
  let pid = 0;
  before(async () => {
    h = await startHarness({ label: 'dkim-thread', workers: false });
    cleanup.push(() => h.close());
  });
  after(() => {
    try {
      if (pid) process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });

  it('signs the notifications a sender thread sends', async () => {
    const env = childEnv(h, { ...keys.env, SENDER_THREADS: '1', WORKER_CONCURRENCY: '1', SEND_BATCH_SIZE: '5', SMTP_POOL_SIZE: '2', LOG_LEVEL: 'debug' });
    const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], { env, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    pid = child.pid!;
    const lines: { msg: string; thread?: number }[] = [];
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const complete = (buffered + chunk.toString('utf8')).split('\n');
      buffered = complete.pop()!;
      for (const line of complete) if (line.startsWith('{')) lines.push(JSON.parse(line) as { msg: string; thread?: number });
    });
    await eventually(() => lines.some((l) => l.msg === 'sender thread started'), 60_000, 'the sender thread started');
    const id = await publish(h, 60, 'thread');
    const mails = await eventually(() => {
      const found = h.smtp.received.filter((m) => m.parsed.messageId?.startsWith(`<notification-${id}-`));
      return found.length === 60 ? found : null;
    }, 90_000, 'sixty notifications');
    for (const mail of mails) await assertSigned(mail.raw, keys, mail.to[0]!);
    const threadBatches = await eventually(() => lines.filter((l) => l.msg === 'send batch done' && l.thread === 0).length, 30_000, 'batches of the sender thread');
    assert.ok(threadBatches > 0);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });
});
