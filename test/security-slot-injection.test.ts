import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import Handlebars from 'handlebars';
import { simpleParser } from 'mailparser';
import { emailBrand } from '../src/brand/brand.ts';
import { parseConfig } from '../src/config.ts';
import { importSubscribers } from '../src/core/subscriber-import.ts';
import { Links } from '../src/core/links.ts';
import { TOKEN_LENGTH, TokenSigner } from '../src/core/tokens.ts';
import type { ArticleRow } from '../src/db/article-queries.ts';
import type { Mailer } from '../src/mail/mailer.ts';
import { NotificationMail } from '../src/mail/notification.ts';
import { EmailRenderer } from '../src/mail/render.ts';
import { ADMIN_TOKEN, eventually, findLink, startHarness, type Harness } from './helpers/harness.ts';

// Issue 10 item 1: article text is never interpreted; recipient values go only where the template put a slot.
const PUBLIC_URL = 'https://powiadom.test';
const signer = new TokenSigner('slot-injection-secret-0123456789-0123456789');
const oldPlaceholders = ['MANAGE', 'UNSUB', 'RECIPIENT', 'MESSAGEID', 'DATE'].map((n) => `ZZ${n}`.padEnd(n === 'MANAGE' || n === 'UNSUB' ? TOKEN_LENGTH : 24, 'Q'));
const slotLike = fc.oneof(
  fc.constantFrom(...oldPlaceholders),
  fc.stringMatching(/^ZZ[0-9A-F]{20,40}$/),
  fc.stringMatching(/^ZZ[A-Z]{1,12}Q{10,40}$/),
);
// Field text as an author could write it: any printable text (no line breaks, no blanks at the ends) with slot-like pieces.
const fieldText = fc
  .array(fc.oneof(slotLike, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 })), { minLength: 1, maxLength: 4 })
  .map((pieces) => pieces.join(' ').replace(/[\p{Cc}\p{Zl}\p{Zp}]/gu, '').replace(/\s+/g, ' ').trim())
  .filter((text) => text.length > 0);
const urlWith = (piece: string) => `https://attacker.example/r?m=${encodeURIComponent(piece)}`;

interface Recipient {
  subscriberId: number;
  email: string;
  deliveryId: number;
  lang: string;
}
const alice: Recipient = { subscriberId: 11, email: 'alice@example.pl', deliveryId: 101, lang: 'pl' };
const bob: Recipient = { subscriberId: 22, email: 'bob.nowak@example.com', deliveryId: 202, lang: 'pl' };

function articleOf(fields: { title: string; summary: string | null; url: string; source: string | null }): ArticleRow {
  return {
    id: 7, guid: 'g-7', ...fields, image_url: null, lang: 'pl', topics: ['dla-mediow'], published_at: new Date('2026-01-02T10:00:00Z'),
    created_at: new Date(), notify: true, fanout_status: 'running', fanout_cursor: 0, fanout_done_at: null,
  };
}

/** The recipient's own values in its message, replaced by one neutral value of the same length. */
function neutralised(raw: string, r: Recipient, messageId: string): string {
  return raw
    .replaceAll(signer.sign('manage', r.subscriberId), 'M'.repeat(TOKEN_LENGTH))
    .replaceAll(signer.sign('unsubscribe', r.subscriberId), 'U'.repeat(TOKEN_LENGTH))
    .replaceAll(r.email, 'RECIPIENT')
    .replaceAll(messageId, 'MESSAGE-ID')
    // the Date slot is filled at build time: two builds may fall in different seconds
    .replace(/^Date: .*$/m, 'Date: DATE');
}

/** Every occurrence of the recipient's tokens is in its own footer links or list headers. */
function tokensOnlyInOwnLinks(raw: string, text: string, r: Recipient): boolean {
  const manage = signer.sign('manage', r.subscriberId);
  const unsub = signer.sign('unsubscribe', r.subscriberId);
  const count = (haystack: string, needle: string) => haystack.split(needle).length - 1;
  const inText = count(text, manage) === count(text, `${PUBLIC_URL}/preferences/${manage}`) && count(text, unsub) === count(text, `${PUBLIC_URL}/unsubscribe/${unsub}`);
  const header = raw.slice(0, raw.indexOf('\r\n\r\n'));
  const inHeader = count(header, unsub) === 2 && count(header, manage) === 0 && header.includes(`<${PUBLIC_URL}/unsubscribe/${unsub}>`);
  return inText && inHeader && count(text, manage) === 1 && count(text, unsub) === 1;
}

describe('notification e-mails never interpret article text', () => {
  let mail: NotificationMail;
  before(async () => {
    const links = new Links(PUBLIC_URL, signer, 86_400);
    const identity = { mailFrom: 'Powiadom <powiadom@duw.example>', listId: '<powiadomienia.duw.example>', unsubscribeMailto: 'unsubscribe@duw.example', verp: null, idDomain: 'duw.example', officeShortName: 'DUW' };
    // build() only: nothing is sent, so no mailer is needed
    mail = new NotificationMail(await EmailRenderer.create(emailBrand(parseConfig({ NODE_ENV: 'test', PUBLIC_URL, SECRET: 'test-secret-0123456789-0123456789-0123456789' }))), links, signer, {} as Mailer, identity);
  });

  it('keeps random article fields with slot-like text byte-identical for two recipients, tokens only in each one\'s links', async () => {
    const fields = fc.record({ title: fieldText, summary: fc.option(fieldText), url: slotLike.map(urlWith), source: fc.option(fieldText) });
    let build = 0;
    await fc.assert(fc.asyncProperty(fields, async (f) => {
      const article = { ...articleOf(f), id: ++build };
      const [a, b] = [alice, bob].map((r) => mail.build(article, r).toBuffer().toString('utf8'));
      const idOf = (r: Recipient) => `notification-${article.id}-${r.deliveryId}@duw.example`;
      assert.ok(!a!.includes(signer.sign('manage', bob.subscriberId)) && !a!.includes(bob.email), "bob's values are not in alice's message");
      assert.ok(!b!.includes(signer.sign('manage', alice.subscriberId)) && !b!.includes(alice.email), "alice's values are not in bob's message");
      const na = neutralised(a!, alice, idOf(alice));
      assert.equal(na, neutralised(b!, bob, idOf(bob)), 'the two messages differ only in the recipients\' own slots');
      const [pa, pb] = await Promise.all([simpleParser(a!), simpleParser(b!)]);
      for (const p of [pa, pb]) {
        assert.equal(p.subject, f.title);
        for (const value of [f.title, f.url, f.summary, f.source]) {
          if (value === null) continue;
          // the text part is wrapped at 76 columns (issue 15): compare with white space folded
          assert.ok(foldSpace(p.text!).includes(foldSpace(value)), `text part has ${JSON.stringify(value)} as written`);
          assert.ok(String(p.html).includes(Handlebars.escapeExpression(value)), `HTML part has ${JSON.stringify(value)} escaped`);
        }
      }
      assert.ok(tokensOnlyInOwnLinks(a!, pa.text!, alice), "alice's tokens are only in her footer links and headers");
      assert.ok(tokensOnlyInOwnLinks(b!, pb.text!, bob), "bob's tokens are only in his footer links and headers");
    }), { numRuns: 60 });
  });
});

/** White space folded to single spaces, ends trimmed: the text part's wrapping is presentation, not content. */
function foldSpace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

describe('an article whose url holds the old manage placeholder (the reported attack)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ label: 'slotinject' });
    await importSubscribers(h.deps.pool, [
      { email: 'jan@example.pl', topics: 'dla-mediow', lang: 'pl' },
      { email: 'ewa@example.pl', topics: 'dla-mediow', lang: 'pl' },
    ]);
  });
  after(async () => {
    await h.close();
  });

  it('reaches every recipient with the url exactly as written and each recipient\'s token only in its own links', async () => {
    const url = `https://attacker.example/r?m=${'ZZMANAGE'.padEnd(TOKEN_LENGTH, 'Q')}`;
    const res = await h.http.post('/api/articles').set({ Authorization: `Bearer ${ADMIN_TOKEN}` }).send({
      url, title: `Tytuł ${'ZZUNSUB'.padEnd(TOKEN_LENGTH, 'Q')}`, summary: 'ZZRECIPIENTQQQQQQQQQQQQQ ZZMESSAGEIDQQQQQQQQQQQQQ', topics: ['dla-mediow'],
    });
    assert.equal(res.status, 202);
    const mails = await eventually(() => {
      const found = h.smtp.received.filter((m) => /Message-ID: <notification-/i.test(m.raw));
      return found.length === 2 ? found : null;
    }, 60_000, 'two notifications');
    for (const m of mails) {
      assert.ok(m.parsed.text!.includes(url), 'the article url is in the text as written');
      assert.ok(m.parsed.text!.includes('ZZRECIPIENTQQQQQQQQQQQQQ ZZMESSAGEIDQQQQQQQQQQQQQ'), 'the summary is as written');
      assert.equal(m.parsed.subject, `Tytuł ${'ZZUNSUB'.padEnd(TOKEN_LENGTH, 'Q')}`);
      const manage = findLink(m.parsed.text, 'preferences').split('/preferences/')[1]!.slice(0, TOKEN_LENGTH);
      assert.equal(m.raw.split(manage).length - 1, 2, 'the manage token is only in the footer link of both parts');
      assert.ok(!m.raw.includes(`attacker.example/r?m=${manage}`));
    }
  });
});
