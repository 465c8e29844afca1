import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import libmime from 'libmime';
import { simpleParser } from 'mailparser';
import { encodeHeaderWords, encodeQuotedPrintable, fillSlots, freshMarkers } from '../src/mail/mime-template.ts';

// Property tests (fast-check) of the hand-written MIME encoders of the notification and digest e-mails:
// whatever the text, what mailparser/libmime decode is what was encoded, and no line is too long.
const RUNS = { numRuns: 300 };
const MAX_LINE = 76;
const TOKEN_LENGTH = 39;
const TOKEN_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const polishWord = fc.constantFrom('zażółć', 'gęślą', 'jaźń', 'Łódź', 'ŹDŹBŁO', 'świętokrzyskie', 'Dolnośląski', 'Urząd', 'Wojewódzki');
const longWord = fc.string({ unit: fc.constantFrom('a', 'ą', 'Ż', '=', '.', 'x'), minLength: 60, maxLength: 200 });
const piece = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  polishWord,
  longWord,
  fc.constantFrom('=', '==', '.', '\r\n', '\n', '\r\n.', '\n..', ' ', '\t', '=\r\n', 'https://x.pl/?a=1&b=2'),
);
const slotValue = fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: TOKEN_LENGTH, maxLength: TOKEN_LENGTH });

/** Placeholders of the two link tokens, as notification.ts makes them. */
const markers = () => freshMarkers({ unsub: TOKEN_LENGTH, manage: TOKEN_LENGTH }, []);
type Slot = 'unsub' | 'manage';

/** A text of pieces with the placeholders mixed in at random places. */
const textWithSlots = (placeholders: Record<Slot, string>) =>
  fc.array(fc.oneof({ weight: 4, arbitrary: piece }, { weight: 1, arbitrary: fc.constantFrom<Slot>('unsub', 'manage').map((s) => placeholders[s]) }), { maxLength: 40 }).map((list) => list.join(''));

/** What a QP round trip must give back: line ends as CRLF (a lone CR or LF is a line end too). */
const asLines = (text: string) => text.replace(/\r\n?|\n/g, '\n');

/** Decodes a quoted-printable body with mailparser, as a mail client would (it reports line ends as LF). */
async function decodeBody(body: string): Promise<string> {
  const message = `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${body}`;
  const parsed = await simpleParser(message);
  return parsed.text ?? '';
}

function replaceAll(text: string, placeholders: Record<Slot, string>, values: Record<Slot, string>): string {
  return text.split(placeholders.unsub).join(values.unsub).split(placeholders.manage).join(values.manage);
}

async function checkQuotedPrintable(text: string, placeholders: Record<Slot, string>, values: Record<Slot, string>): Promise<void> {
  const encoded = encodeQuotedPrintable(text, placeholders);
  const filled = fillSlots(encoded, values);
  for (const line of filled.split('\r\n')) assert.ok(line.length <= MAX_LINE, `line of ${line.length}: ${JSON.stringify(line)}`);
  assert.doesNotMatch(filled, /\r(?!\n)|(?<!\r)\n/, 'only CRLF line ends');
  const lines = filled.split('\r\n');
  for (let i = 0; i < encoded.slots.length; i++) {
    const value = values[encoded.slots[i]!];
    const at = encoded.parts.slice(0, i + 1).join('').length + encoded.slots.slice(0, i).reduce((n, s) => n + values[s].length, 0);
    assert.equal(filled.slice(at, at + value.length), value, 'slot in place');
    assert.ok(lines.some((line) => line.includes(value)), `slot ${i} whole on one line`);
  }
  assert.equal(encoded.slots.length, text.split(placeholders.unsub).length - 1 + text.split(placeholders.manage).length - 1, 'every placeholder is a slot');
  assert.equal(await decodeBody(filled), asLines(replaceAll(text, placeholders, values)));
}

describe('encodeQuotedPrintable', () => {
  it('decodes to the text it encoded, with lines of at most 76 characters and every slot whole on one line', async () => {
    const placeholders = markers();
    await fc.assert(
      fc.asyncProperty(textWithSlots(placeholders), slotValue, slotValue, async (text, unsub, manage) => {
        await checkQuotedPrintable(text, placeholders, { unsub, manage });
      }),
      RUNS,
    );
  });

  it('keeps a slot whole when it would end past column 76', async () => {
    const placeholders = markers();
    for (let before = 30; before <= 75; before++) {
      const text = `${'ż'.repeat(Math.floor(before / 6))}${'a'.repeat(before % 6)}${placeholders.unsub}.\n.${placeholders.manage}=`;
      await checkQuotedPrintable(text, placeholders, { unsub: 'u'.repeat(TOKEN_LENGTH), manage: 'm'.repeat(TOKEN_LENGTH) });
    }
  });

  it('keeps spaces and tabs at the end of a line', async () => {
    const placeholders = markers();
    await checkQuotedPrintable('Dzień dobry \nzażółć\t\r\nkoniec  ', placeholders, { unsub: 'u'.repeat(TOKEN_LENGTH), manage: 'm'.repeat(TOKEN_LENGTH) });
  });
});

describe('encodeHeaderWords (RFC 2047)', () => {
  it('encodes plain text that looks like an encoded word (counterexample found in CI: "=?UTF-8?B?=?=?")', () => {
    const value = '=?UTF-8?B?=?=?';
    const encoded = encodeHeaderWords(value);
    assert.notEqual(encoded, value);
    assert.equal(libmime.decodeWords(encoded), value);
  });
  const headerText = fc.array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }), polishWord, longWord, fc.constantFrom('=?', '?=', '=?UTF-8?B?', ' ')), { maxLength: 12 }).map((list) => list.join(''));

  it('decodes to the value it encoded (line breaks become spaces)', () => {
    fc.assert(
      fc.property(headerText, (value) => {
        const encoded = encodeHeaderWords(value);
        const expected = value.replace(/[\r\n]+/g, ' ');
        const decoded = /^[\x20-\x7e]*$/.test(encoded) && !encoded.includes('=?') ? encoded : libmime.decodeWords(encoded);
        assert.equal(decoded, expected);
      }),
      RUNS,
    );
  });

  it('keeps the first line of a long Polish subject within 76 characters', () => {
    const header = `Subject: ${encodeHeaderWords(`${'a'.repeat(58)}Ża`)}`;
    assert.ok(header.split('\r\n').every((line) => line.length <= MAX_LINE), header);
    assert.equal(libmime.decodeWords(header.slice('Subject: '.length)), `${'a'.repeat(58)}Ża`);
  });

  it('writes encoded words in lines of at most 76 characters, the header name included', () => {
    fc.assert(
      fc.property(headerText.filter((v) => /[^\x20-\x7e]/.test(v.replace(/[\r\n]+/g, ' '))), (value) => {
        const header = `Subject: ${encodeHeaderWords(value)}`;
        for (const line of header.split('\r\n')) assert.ok(line.length <= MAX_LINE, `line of ${line.length}: ${line}`);
        for (const word of header.match(/=\?[^?]+\?B\?[^?]*\?=/g) ?? []) assert.ok(word.length <= 75, 'an encoded word has at most 75 characters');
      }),
      RUNS,
    );
  });
});
