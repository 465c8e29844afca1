import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maskAddresses } from '../src/core/inbound.ts';
import { isPermanentAddressFailure } from '../src/core/inbound-events.ts';
import { VerpAddresses } from '../src/core/verp.ts';
import { classifyMessage } from '../src/inbound/classify.ts';
import { messageKey } from '../src/inbound/imap-poller.ts';
import { postfixDsn } from './helpers/inbound-mail.ts';

const verp = new VerpAddresses('bounces@duw.example', 'classify-test-secret-0123456789-0123456789');
const fields = { to: verp.address({ kind: 'notification', id: 5 }), recipient: 'jan@example.pl', originalId: 'notification-1-5@duw.example', messageId: 'c1@mx.example' };
const classify = async (raw: string) => (await classifyMessage(Buffer.from(raw), verp)).event;

describe('classifying inbound messages', () => {
  it('reads a DSN whose report part is base64-encoded (as Exchange Online sends it)', async () => {
    const report = Buffer.from('Reporting-MTA: dns;EX01.urzad.example\r\n\r\nFinal-Recipient: rfc822;jan@example.pl\r\nAction: failed\r\nStatus: 5.1.10\r\nDiagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound\r\n').toString('base64');
    const raw = postfixDsn(fields).replace(/Content-Type: message\/delivery-status\r\n\r\n[\s\S]*?\r\n--B1\r\nContent-Description: Undelivered/, `Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n${report}\r\n\r\n--B1\r\nContent-Description: Undelivered`);
    const event = await classify(raw);
    assert.equal(event.kind, 'bounce');
    assert.deepEqual(event.kind === 'bounce' && [event.status, event.soft, event.recipient, event.ref], ['5.1.10', false, 'jan@example.pl', { kind: 'notification', id: 5 }]);
  });

  it('treats Action: delayed as soft even with a 5.x.x status, and ignores a delivery (success) report as the auto-reply it is', async () => {
    const delayed = await classify(postfixDsn(fields, '5.0.0', 'delayed', 'Delayed Mail'));
    assert.deepEqual(delayed.kind === 'bounce' && delayed.soft, true);
    const delivered = await classify(postfixDsn(fields, '2.0.0', 'delivered', 'Successful Mail Delivery Report'));
    assert.equal(delivered.kind, 'auto_reply');
  });

  it('recognises Polish auto-replies and Auto-Submitted, but not Auto-Submitted: no', async () => {
    const reply = (headers: string) => classify(`From: a@example.pl\r\nTo: bounces@duw.example\r\nMessage-ID: <r@x>\r\n${headers}\r\n\r\nTreść\r\n`);
    assert.equal((await reply('Subject: Autoodpowiedź: Komunikat')).kind, 'auto_reply');
    assert.equal((await reply('Subject: Re: Komunikat\r\nAuto-Submitted: auto-replied')).kind, 'auto_reply');
    assert.equal((await reply('Subject: Re: Komunikat\r\nAuto-Submitted: no')).kind, 'unknown');
  });

  it('takes the unsubscribe token from a reply subject, and ignores a token of the wrong length', async () => {
    const token = 'A'.repeat(39);
    const mail = (subject: string) => classify(`From: a@example.pl\r\nTo: unsubscribe@duw.example\r\nSubject: ${subject}\r\nMessage-ID: <u@x>\r\n\r\n`);
    assert.deepEqual(await mail(`Re: unsubscribe ${token}`), { kind: 'unsubscribe', token });
    assert.equal((await mail(`unsubscribe ${token}B`)).kind, 'unknown');
  });

  it('keys a message by its Message-ID, else by a hash of its bytes', () => {
    assert.equal(messageKey(Buffer.from('Subject: x\r\nMessage-ID:\r\n <folded@x>\r\n\r\nbody')), 'imap:<folded@x>');
    assert.match(messageKey(Buffer.from('Subject: x\r\n\r\nbody')), /^imap:sha256:[0-9a-f]{64}$/);
  });

  it('suppresses only for address failures, and masks every address in a diagnostic', () => {
    assert.deepEqual(['5.1.1', '5.1.10', '5.2.1', '5.2.2', '5.7.1', '4.1.1'].map(isPermanentAddressFailure), [true, true, true, false, false, false]);
    assert.equal(maskAddresses('550 5.1.1 <jan.kowalski@example.pl>: unknown,\r\n  see postmaster@example.pl'), '550 5.1.1 <j***@example.pl>: unknown, see p***@example.pl');
  });
});
