import { randomBytes } from 'node:crypto';

/**
 * A MIME message built once and filled per recipient by substitution. Placeholders ("slots") are
 * replaced by values of the same length in a body encoded as quoted-printable by our own encoder,
 * which never splits a slot across a soft line break — so the message stays valid without
 * re-encoding anything per recipient. Slots are found by markers drawn afresh for every build and
 * checked to be absent from the outside content, so no text an author writes can ever become a slot.
 */

/** A text with fixed-length slots: parts[0] slot[0] parts[1] slot[1] … parts[n]. */
export interface SlottedText<S extends string> {
  parts: string[];
  slots: S[];
}

/**
 * A slot marker of exactly `length` characters, made fresh for each build: [A-Z0-9] only (safe in HTML,
 * text, URLs and quoted-printable) and unguessable (at least 80 random bits), so text written by
 * others (an article, a feed item) cannot contain it and is never mistaken for a slot.
 */
export function randomMarker(length: number): string {
  if (length < 22) throw new Error(`a slot marker needs at least 22 characters, not ${length}`);
  return `ZZ${randomBytes(length).toString('hex').toUpperCase().slice(0, length - 2)}`;
}

/**
 * Fresh markers for the given slots, none of which occurs in any of `contents` (the outside text the
 * message is built around). A collision is astronomically unlikely; it only costs a new draw.
 */
export function freshMarkers<S extends string>(lengths: Record<S, number>, contents: readonly string[]): Record<S, string> {
  for (;;) {
    const markers = Object.fromEntries(Object.entries<number>(lengths).map(([slot, length]) => [slot, randomMarker(length)])) as Record<S, string>;
    const values = Object.values<string>(markers);
    if (!contents.some((text) => values.some((marker) => text.toUpperCase().includes(marker)))) return markers;
  }
}

/** Splits a text at every occurrence of the given placeholders. */
export function splitSlots<S extends string>(text: string, placeholders: Record<S, string>): SlottedText<S> {
  const names = Object.keys(placeholders) as S[];
  const pattern = new RegExp(names.map((n) => placeholders[n]).join('|'), 'g');
  const byValue = new Map(names.map((n) => [placeholders[n], n]));
  const parts: string[] = [];
  const slots: S[] = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    parts.push(text.slice(last, match.index));
    slots.push(byValue.get(match[0])!);
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return { parts, slots };
}

/** A slotted text with its parts as bytes, to fill without re-encoding the whole message. */
export interface SlottedBytes<S extends string> {
  parts: Buffer[];
  slots: S[];
}

/** Converts a slotted text's parts to UTF-8 bytes once. */
export function toSlottedBytes<S extends string>(text: SlottedText<S>): SlottedBytes<S> {
  return { parts: text.parts.map((p) => Buffer.from(p, 'utf8')), slots: text.slots };
}

/**
 * One recipient's message: the template shared by every recipient and this recipient's slot values.
 * It becomes bytes only when sent, written into a buffer the SMTP connection reuses message after
 * message, so sending allocates no message-sized buffer per recipient.
 */
export class FilledMessage<S extends string = string> {
  constructor(
    readonly template: SlottedBytes<S>,
    readonly values: Record<S, string>,
  ) {}

  /** Size of the whole message in bytes. */
  get byteLength(): number {
    let length = 0;
    for (const part of this.template.parts) length += part.length;
    for (const slot of this.template.slots) length += Buffer.byteLength(this.values[slot], 'utf8');
    return length;
  }

  /** Writes the message at the start of `target` (at least byteLength long); returns the bytes written. */
  writeInto(target: Buffer): number {
    const { parts, slots } = this.template;
    let offset = parts[0]!.copy(target, 0);
    for (let i = 0; i < slots.length; i++) {
      offset += target.write(this.values[slots[i]!], offset, 'utf8');
      offset += parts[i + 1]!.copy(target, offset);
    }
    return offset;
  }

  /** The message in a buffer of its own (for paths that keep it: DKIM signing, the outbox). */
  toBuffer(): Buffer {
    const buffer = Buffer.allocUnsafe(this.byteLength);
    this.writeInto(buffer);
    return buffer;
  }
}

/** Fills the slots; values must have the placeholders' lengths where the text was encoded around them. */
export function fillSlots<S extends string>(text: SlottedText<S>, values: Record<S, string>): string {
  let out = text.parts[0]!;
  for (let i = 0; i < text.slots.length; i++) out += values[text.slots[i]!] + text.parts[i + 1]!;
  return out;
}

const MAX_LINE = 76;

function qpUnit(char: string, endsLine: boolean): string {
  const code = char.codePointAt(0)!;
  if ((code >= 33 && code <= 126 && code !== 61) || ((code === 32 || code === 9) && !endsLine)) return char;
  return [...Buffer.from(char, 'utf8')].map((b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

/**
 * A part's characters as quoted-printable units. A space or tab that ends a line (or the text) is
 * encoded (=20, =09): decoders drop literal white space at a line's end (RFC 2045 6.7, rule 3).
 */
function qpUnits(part: string, endsText: boolean): string[] {
  const chars = [...part];
  const units = new Array<string>(chars.length);
  let atLineEnd = endsText;
  for (let i = chars.length - 1; i >= 0; i--) {
    const char = chars[i]!;
    units[i] = char === '\n' ? char : qpUnit(char, atLineEnd);
    atLineEnd = char === '\n' || ((char === ' ' || char === '\t') && atLineEnd);
  }
  return units;
}

/**
 * Encodes UTF-8 text as quoted-printable (CRLF line ends, lines ≤ 76 characters), keeping each
 * placeholder whole on one line, and returns the encoded text split at the placeholders.
 */
export function encodeQuotedPrintable<S extends string>(text: string, placeholders: Record<S, string>): SlottedText<S> {
  const source = text.replace(/\r\n?/g, '\n');
  const slotted = splitSlots(source, placeholders);
  const parts: string[] = [];
  let current = '';
  let column = 0;
  const emit = (unit: string) => {
    if (column + unit.length > MAX_LINE - 1) {
      current += '=\r\n';
      column = 0;
    }
    current += unit;
    column += unit.length;
  };
  slotted.parts.forEach((part, index) => {
    for (const unit of qpUnits(part, index === slotted.parts.length - 1)) {
      if (unit === '\n') {
        current += '\r\n';
        column = 0;
      } else emit(unit);
    }
    const slot = slotted.slots[index];
    if (slot === undefined) return;
    if (column + placeholders[slot].length > MAX_LINE - 1) {
      current += '=\r\n';
      column = 0;
    }
    parts.push(current);
    current = '';
    column += placeholders[slot].length;
  });
  parts.push(current);
  return { parts, slots: slotted.slots };
}

/**
 * Bytes per encoded word: 39 bytes are 52 base64 characters, a 64-character word, so even the first line
 * ("Subject: " + word) stays within RFC 2047's 76 characters.
 */
const WORD_BYTES = 39;

/** An RFC 2047 encoded-word sequence for a header value (plain when ASCII), folded for long values. */
export function encodeHeaderWords(value: string): string {
  const clean = value.replace(/[\r\n]+/g, ' ');
  // plain text that looks like an encoded word ("=?…?=") is encoded too, or a reader would decode it (RFC 2047 §5)
  if (/^[\x20-\x7e]*$/.test(clean) && clean.length <= 900 && !clean.includes('=?')) return clean;
  const words: string[] = [];
  let chunk = '';
  for (const char of clean) {
    if (Buffer.byteLength(chunk + char) > WORD_BYTES) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join('\r\n ');
}

/** A mailbox header value ("Name <addr>") with the display name encoded when needed. */
export function encodeMailbox(mailbox: string): string {
  const match = /^\s*"?([^"<]*?)"?\s*<([^>]+)>\s*$/.exec(mailbox);
  if (!match || !match[1]) return mailbox.trim();
  const name = match[1].trim();
  const encoded = /^[\w .-]*$/.test(name) ? name : /^[\x20-\x7e]*$/.test(name) ? `"${name.replace(/["\\]/g, '\\$&')}"` : encodeHeaderWords(name);
  return `${encoded} <${match[2]}>`;
}

/** The bare address of a mailbox ("Name <addr>" → addr). */
export function mailboxAddress(mailbox: string): string {
  return /<([^>]+)>/.exec(mailbox)?.[1]?.trim() ?? mailbox.trim();
}
