/**
 * DKIM signatures (RFC 6376, relaxed/relaxed) computed on the raw bytes we send: rsa-sha256, plus an
 * ed25519-sha256 signature (RFC 8463) when an Ed25519 key is configured. Written here rather than left to
 * nodemailer's transport because its signer only works inside its composing pipeline, which costs 3–4×
 * the signature itself per message (measured, docs/delivery-performance.md); this one signs a prebuilt
 * message in place, in whichever thread sends it.
 */
import { createHash, createPrivateKey, sign, type Hash, type KeyObject } from 'node:crypto';
import type { Config } from '../config.ts';
import { FilledMessage, type SlottedBytes } from './mime-template.ts';

/** Headers every signature covers when present (RFC 8058 asks for both unsubscribe headers). */
const SIGNED_HEADERS = ['from', 'reply-to', 'to', 'subject', 'date', 'message-id', 'list-unsubscribe', 'list-unsubscribe-post', 'list-id'];
/** Listed once more than present: nobody can add a second From or Subject without breaking the signature. */
const OVERSIGNED = ['from', 'subject'];
const HEADER_END = Buffer.from('\r\n\r\n');
const SCRATCH_BYTES = 64 * 1024;

/** One signing key. */
interface DkimKey {
  algorithm: 'rsa-sha256' | 'ed25519-sha256';
  selector: string;
  key: KeyObject;
}

/** The relaxed canonical form of one header field (RFC 6376 section 3.4.2), without its CRLF. */
function relaxedHeader(field: string): string {
  const colon = field.indexOf(':');
  const name = field.slice(0, colon).trim().toLowerCase();
  const value = field.slice(colon + 1).replace(/\r\n/g, '').replace(/[ \t]+/g, ' ').trim();
  return `${name}:${value}`;
}

/** The relaxed canonical form of a body (RFC 6376 section 3.4.4), as a latin1 string of its bytes. */
export function relaxedBody(body: string): string {
  const lines = body.replace(/[ \t]+(?=\r\n|$)/g, '').replace(/[ \t]+/g, ' ');
  const trimmed = lines.replace(/(?:\r\n)+$/, '');
  return trimmed.length > 0 ? `${trimmed}\r\n` : '';
}

/**
 * The body hash of a template's messages, prepared once: the body parts canonicalised, and the hash state
 * after the part before the first body slot. Valid because slot values hold no whitespace (checked per
 * message), so canonicalising part by part equals canonicalising the filled body.
 */
interface BodyPlan {
  prefix: Hash;
  /** body slots (index into the template's slots) and the canonical part after each */
  rest: { slot: number; after: string }[];
}

/** Where the header block ends in a template: the part and the offset of the body's first byte; null when not found. */
function bodyStart(parts: Buffer[]): { part: number; offset: number } | null {
  for (let i = 0; i < parts.length; i++) {
    const at = parts[i]!.indexOf(HEADER_END);
    if (at >= 0) return { part: i, offset: at + HEADER_END.length };
  }
  return null;
}

/** Plans a template's body hash (null when its last part would leave nothing to canonicalise safely). */
function planBody(template: SlottedBytes<string>): BodyPlan | null {
  const start = bodyStart(template.parts);
  if (!start) return null;
  const inner = (text: string) => text.replace(/[ \t]+(?=\r\n)/g, '').replace(/[ \t]+/g, ' ');
  const last = template.parts.length - 1;
  const canonical = template.parts.map((part, i) => {
    if (i < start.part) return '';
    const text = part.toString('latin1', i === start.part ? start.offset : 0);
    return i === last ? relaxedBody(text) : inner(text);
  });
  if (start.part === last || !/\S/.test(canonical[last]!)) return null;
  const prefix = createHash('sha256').update(canonical[start.part]!, 'latin1');
  const rest = [];
  for (let i = start.part; i < last; i++) rest.push({ slot: i, after: canonical[i + 1]! });
  return { prefix, rest };
}

/** Header fields of a header block, each with its folding, in order. */
function headerFields(head: string): string[] {
  return head.split(/\r\n(?![ \t])/).filter((f) => f.includes(':'));
}

/**
 * The h= list and the canonical header text it selects: instances are taken from the bottom up
 * (section 5.4.2), absent names are left out, and OVERSIGNED names get one extra (empty) instance.
 */
function selectHeaders(fields: string[]): { names: string[]; canonical: string } {
  const byName = new Map<string, string[]>();
  for (const field of fields) {
    const name = field.slice(0, field.indexOf(':')).trim().toLowerCase();
    byName.set(name, [...(byName.get(name) ?? []), field]);
  }
  const names: string[] = [];
  let canonical = '';
  for (const name of SIGNED_HEADERS) {
    const present = byName.get(name) ?? [];
    for (let i = present.length - 1; i >= 0; i--) {
      names.push(name);
      canonical += `${relaxedHeader(present[i]!)}\r\n`;
    }
    if (OVERSIGNED.includes(name)) names.push(name);
  }
  return { names, canonical };
}

/** Signs messages with one domain's keys; synchronous, so one scratch buffer per signer suffices. */
export class DkimSigner {
  private scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  private readonly plans = new WeakMap<SlottedBytes<string>, BodyPlan | null>();

  constructor(
    private readonly domain: string,
    private readonly keys: DkimKey[],
  ) {}

  /** The DKIM-Signature header fields (each ending in CRLF) to put in front of this message. */
  signatureFor(message: Buffer, bodyHash?: string): string {
    const end = message.indexOf(HEADER_END);
    const headEnd = end < 0 ? message.length : end;
    const hash = bodyHash ?? createHash('sha256').update(relaxedBody(end < 0 ? '' : message.toString('latin1', end + HEADER_END.length)), 'latin1').digest('base64');
    const { names, canonical } = selectHeaders(headerFields(message.toString('latin1', 0, headEnd)));
    return this.keys.map((key) => this.signWith(key, names, canonical, hash)).join('');
  }

  /** The body hash of a filled message from its template's plan; undefined when the generic path must do. */
  private plannedBodyHash(message: FilledMessage): string | undefined {
    let plan = this.plans.get(message.template);
    if (plan === undefined) this.plans.set(message.template, (plan = planBody(message.template)));
    if (!plan) return undefined;
    const hash = plan.prefix.copy();
    for (const { slot, after } of plan.rest) {
      const value = message.values[message.template.slots[slot]!]!;
      if (!/^[\x21-\x7e]+$/.test(value)) return undefined;
      hash.update(value, 'latin1').update(after, 'latin1');
    }
    return hash.digest('base64');
  }

  /** The message with its signatures in front; a filled message stays one, so the pool fills it in place. */
  sign(message: FilledMessage): SignedMessage;
  sign(message: string | Buffer): Buffer;
  sign(message: string | Buffer | FilledMessage): Buffer | SignedMessage;
  sign(message: string | Buffer | FilledMessage): Buffer | SignedMessage {
    if (message instanceof FilledMessage) {
      const length = message.byteLength;
      if (this.scratch.length < length) this.scratch = Buffer.allocUnsafeSlow(Math.ceil(length * 1.25));
      const bytes = this.scratch.subarray(0, message.writeInto(this.scratch));
      return new SignedMessage(Buffer.from(this.signatureFor(bytes, this.plannedBodyHash(message)), 'latin1'), message);
    }
    const bytes = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
    return Buffer.concat([Buffer.from(this.signatureFor(bytes), 'latin1'), bytes]);
  }

  private signWith(key: DkimKey, names: string[], canonical: string, bodyHash: string): string {
    const header = `DKIM-Signature: v=1; a=${key.algorithm}; c=relaxed/relaxed; d=${this.domain}; s=${key.selector};\r\n\th=${names.join(':')};\r\n\tbh=${bodyHash}; b=`;
    const data = Buffer.from(`${canonical}${relaxedHeader(header)}`, 'latin1');
    // RFC 8463: Ed25519 signs the SHA-256 digest of the header data, RSA the data itself
    const signature = key.algorithm === 'rsa-sha256' ? sign('sha256', data, key.key) : sign(null, createHash('sha256').update(data).digest(), key.key);
    return `${header}${signature.toString('base64')}\r\n`;
  }
}

/** A filled message preceded by its DKIM-Signature fields; the SMTP pool writes it into its buffer like any filled message. */
export class SignedMessage<S extends string = string> extends FilledMessage<S> {
  constructor(
    readonly signature: Buffer,
    message: FilledMessage<S>,
  ) {
    super(message.template, message.values);
  }

  override get byteLength(): number {
    return this.signature.length + super.byteLength;
  }

  override writeInto(target: Buffer): number {
    const offset = this.signature.copy(target, 0);
    return offset + super.writeInto(target.subarray(offset));
  }
}

/** A PEM key from configuration, where "\n" may stand for newlines. */
function pemKey(text: string): KeyObject {
  return createPrivateKey(text.replace(/\\n/g, '\n'));
}

/** The signer configured by DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY (+ DKIM_ED25519_*), or null when unset. */
export function createDkimSigner(config: Config): DkimSigner | null {
  if (!config.DKIM_DOMAIN || !config.DKIM_SELECTOR || !config.DKIM_PRIVATE_KEY) return null;
  const keys: DkimKey[] = [{ algorithm: 'rsa-sha256', selector: config.DKIM_SELECTOR, key: pemKey(config.DKIM_PRIVATE_KEY) }];
  if (config.DKIM_ED25519_PRIVATE_KEY) {
    const selector = config.DKIM_ED25519_SELECTOR ?? `${config.DKIM_SELECTOR}-ed25519`;
    keys.push({ algorithm: 'ed25519-sha256', selector, key: pemKey(config.DKIM_ED25519_PRIVATE_KEY) });
  }
  return new DkimSigner(config.DKIM_DOMAIN, keys);
}
